#pragma once
// Pretrained wav2vec2 weights into a trellis model (--w2v-path; docs/models.md, "Keys").
//
// Accepted key namings, mapped to fairseq's Wav2Vec2Model names:
//   Hugging Face  [wav2vec2.]feature_extractor.conv_layers.i.conv.* ->
//   feature_extractor.conv_layers.i.0.*
//                 ...conv_layers.i.layer_norm.* -> conv_layers.0.2.* (group) / conv_layers.i.2.1.*
//                 feature_projection.layer_norm.* -> layer_norm.*
//                 feature_projection.projection.* -> post_extract_proj.*
//                 masked_spec_embed -> mask_emb
//                 encoder.pos_conv_embed.conv.{weight_g, weight_v, bias} and
//                   ...conv.parametrizations.weight.original0/1 -> encoder.pos_conv.0.*
//                 encoder.layers.l.attention.* -> self_attn.*, .layer_norm -> self_attn_layer_norm,
//                 feed_forward.intermediate_dense -> fc1, feed_forward.output_dense -> fc2
//                 lm_head.* -> the CTC head
//   fairseq       Wav2Vec2Model keys as they are; fine-tuned checkpoints nest them under
//                 w2v_encoder.w2v_model. with the head w2v_encoder.proj
// Pretraining-only modules (quantizer, project_q, project_hid / final_proj, target_glu) are
// skipped and counted. A missing body weight (other than mask_emb) or a shape mismatch is a
// CheckpointError naming the key and both shapes; the head is loaded when its shape matches
// the task's vocabulary and newly initialized otherwise. Next to a Hugging Face file, a
// config.json that disagrees with the model's options is an error naming the flag.

#include <string>

#include "core/interfaces/model.h"
#include "models/wav2vec2/wav2vec2_options.h"

namespace trellis {

struct Wav2Vec2ImportReport {
  int64_t loaded = 0;  // tensors copied into the model
  int64_t skipped_pretraining = 0;
  bool head_loaded = false;
  std::vector<std::string> missing;     // model keys left at their initial values
  std::vector<std::string> unexpected;  // file keys with no place in the model
};

// Maps one file key to the fairseq body key ("" when it is not a body weight); *head is set
// for CTC-head keys (then the return value is "weight" / "bias"), *pretraining for skipped
// pretraining modules.
std::string wav2vec2_body_key(const std::string& key, bool layer_norm_mode, bool* head,
                              bool* pretraining);

// Loads `path` into `model`, whose body keys start with body_prefix and head keys with
// head_prefix ("" = no head). Logs what was loaded, skipped and initialized.
Wav2Vec2ImportReport load_wav2vec2_weights(Model& model, const std::string& body_prefix,
                                           const Wav2Vec2Options& o, const std::string& path,
                                           const std::string& head_prefix);

// The options a Hugging Face config.json describes (sizes, extractor, LN placement); the rest
// keeps the defaults of `base`.
Wav2Vec2Options wav2vec2_options_from_hf_config(const std::string& config_json,
                                                Wav2Vec2Options base = {});

}  // namespace trellis
