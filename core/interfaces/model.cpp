#include "core/interfaces/model.h"

#include <torch/torch.h>

#include <limits>

#include "core/error.h"

namespace trellis {

ModelRegistry& model_registry() {
  static ModelRegistry registry("model", "--arch");
  return registry;
}

void IncrementalState::reorder(const at::Tensor& new_order) {
  for (auto& kv : buffers) {
    if (kv.second.defined())
      kv.second = kv.second.index_select(0, new_order.to(kv.second.device()));
  }
}

EncoderOut Model::encode(const at::Tensor&, const at::Tensor&, bool) {
  throw Error("this model has no encoder");
}

at::Tensor Model::decode(const at::Tensor&, const EncoderOut&, IncrementalState*) {
  throw Error("this model has no decoder");
}

ModelOutput Model::forward(const at::Tensor& src_tokens, const at::Tensor& src_lengths,
                           const at::Tensor& prev_output_tokens) {
  ModelOutput out;
  out.encoder = encode(src_tokens, src_lengths);
  out.logits = has_decoder() ? decode(prev_output_tokens, out.encoder) : out.encoder.ctc_logits;
  return out;
}

EncoderOut Model::reorder_encoder_out(const EncoderOut& e, const at::Tensor& new_order) {
  auto sel = [&](const at::Tensor& t, int64_t dim) {
    return t.defined() ? t.index_select(dim, new_order.to(t.device())) : t;
  };
  EncoderOut r;
  r.encoder_out = sel(e.encoder_out, 1);
  r.encoder_padding_mask = sel(e.encoder_padding_mask, 0);
  r.ctc_logits = sel(e.ctc_logits, 1);
  r.ctc_lengths = sel(e.ctc_lengths, 0);
  for (const auto& s : e.encoder_states) r.encoder_states.push_back(sel(s, 1));
  return r;
}

at::Tensor Model::normalized_probs(const at::Tensor& logits, bool log) const {
  auto x = logits.to(torch::kFloat);
  return log ? torch::log_softmax(x, -1) : torch::softmax(x, -1);
}

std::map<std::string, at::Tensor> Model::state_dict() const {
  std::map<std::string, at::Tensor> sd;
  for (const auto& p : named_parameters(true)) sd[p.key()] = p.value();
  for (const auto& b : named_buffers(true)) sd[b.key()] = b.value();
  return sd;
}

std::pair<int64_t, int64_t> Model::max_positions() const {
  return {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()};
}

int64_t Model::num_parameters() const {
  int64_t n = 0;
  for (const auto& p : parameters(true)) n += p.numel();
  return n;
}

std::vector<std::string> Model::ignored_keys() const {
  return {"embed_positions._float_tensor", "decoder.version", "encoder.version",
          "positional_encoding.pe", "embed_positions.weights"};
}

void Model::load_state_dict(const std::map<std::string, at::Tensor>& sd, bool strict) {
  const auto ignore = ignored_keys();
  auto ignored = [&](const std::string& key) {
    for (const auto& s : ignore) {
      if (key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0) {
        return true;
      }
    }
    return false;
  };
  auto own = state_dict();
  torch::NoGradGuard no_grad;
  for (const auto& [key, value] : sd) {
    if (ignored(key)) continue;
    auto it = own.find(key);
    if (it == own.end()) {
      TRELLIS_CHECK(!strict, CheckpointError, "unexpected key in state dict: {}", key);
      continue;
    }
    TRELLIS_CHECK(it->second.sizes() == value.sizes(), CheckpointError,
                  "shape mismatch for {}: model {} vs state dict {}", key,
                  c10::str(it->second.sizes()), c10::str(value.sizes()));
    it->second.copy_(value);
  }
  if (strict) {
    for (const auto& kv : own) {
      TRELLIS_CHECK(sd.count(kv.first) > 0, CheckpointError, "missing key in state dict: {}",
                    kv.first);
    }
  }
}

static ModelRegistry& model_registry_instance = model_registry();
static ArchRegistry& arch_registry_instance = arch_registry();

}  // namespace trellis
