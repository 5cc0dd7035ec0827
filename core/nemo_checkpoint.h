#pragma once
// NeMo's own checkpoints, read without Python (docs/checkpoint_format.md, ".nemo files"):
//   * a `.nemo` file: a tar, plain or gzip-compressed, with members ./model_config.yaml and
//     ./model_weights.ckpt (torch.save of the model's state dict), sometimes tokenizer files;
//   * a bare `model_weights.ckpt` (a state dict), or a PyTorch Lightning `.ckpt` (the state dict
//     under "state_dict", next to optimizer states, which are ignored).
// The state dict keeps NeMo's key names (encoder.pre_encode.conv.0.weight, encoder.layers.3.*,
// decoder.decoder_layers.0.*, quantizer.codebooks, ...) and the stored dtypes (the NEST
// quantizer's codebooks are float64); the preprocessor's buffers (preprocessor.featurizer.*:
// window, filterbank) are dropped: trellis computes its own features.
// Lives in core/ rather than core/io/ because it returns LibTorch tensors (core/io is
// LibTorch-free); the tar and pickle parsing are core/io/tar_reader.h and core/io/torch_pickle.h.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

namespace trellis {

struct NemoCheckpoint {
  std::string path;
  // The text of model_config.yaml; "" for a bare .ckpt (which carries no yaml).
  std::string config_yaml;
  // name -> CPU tensor, dtype as stored; without preprocessor.featurizer.*
  std::map<std::string, at::Tensor> state_dict;
  // The .nemo's regular-file members (normalised names, archive order); empty for a .ckpt.
  std::vector<std::string> members;
};

// Reads a .nemo (any tar libarchive reads, detected by content, not by extension) or a bare
// torch.save .ckpt. DataError naming the file, and the member when one is missing
// ("model.nemo: no member 'model_weights.ckpt' ...") or truncated.
NemoCheckpoint read_nemo_checkpoint(const std::string& path);

// True when `path` is not a torch.save file (a trellis checkpoint or a bare .ckpt) but an
// archive: NeMo's .nemo. Used where both kinds are accepted (--finetune-from-model).
bool is_nemo_archive(const std::string& path);

// The entries of sd whose name starts with prefix, with the prefix removed:
// select_prefix(sd, "encoder.") maps "encoder.layers.0.conv.batch_norm.weight" to
// "layers.0.conv.batch_norm.weight". Tensors are shared, not copied.
std::map<std::string, at::Tensor> select_prefix(const std::map<std::string, at::Tensor>& sd,
                                                const std::string& prefix);

}  // namespace trellis
