#include "toy_copy_task.h"

#include <torch/torch.h>

#include <fstream>

#include "core/error.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"

namespace toy {

using trellis::ConfigError;
using trellis::DataError;

void ToyCopyOptions::validate() const {
  TRELLIS_CHECK(toy_frames_per_digit >= 1, ConfigError, "--toy-frames-per-digit must be >= 1");
}

ToyCopyTask::ToyCopyTask(const ToyCopyOptions& options, const trellis::TaskContext& ctx)
    : options_(options), ctx_(ctx) {
  options_.validate();
  for (int d = 0; d < 10; ++d) dict_.add_symbol(std::to_string(d));
}

void ToyCopyTask::load_dataset(const std::string& name, bool) {
  const std::string path = ctx_.data_root + "/" + name + ".txt";
  std::ifstream in(path);
  TRELLIS_CHECK(in.good(), DataError, "{}: cannot open the toy_copy split", path);
  Split s;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::vector<int64_t> ids;
    for (char c : line) {
      if (c == ' ') continue;
      TRELLIS_CHECK(c >= '0' && c <= '9', DataError, "{}:{}: '{}' is not a digit", path, n, c);
      ids.push_back(dict_.index(std::string(1, c)));
    }
    if (ids.empty()) continue;
    s.frames.push_back(static_cast<int64_t>(ids.size()) * options_.toy_frames_per_digit);
    ids.push_back(dict_.eos());
    s.digits.push_back(std::move(ids));
  }
  splits_[name] = std::move(s);
}

const ToyCopyTask::Split& ToyCopyTask::split(const std::string& name) const {
  auto it = splits_.find(name);
  TRELLIS_CHECK(it != splits_.end(), DataError, "toy_copy: split '{}' was not loaded", name);
  return it->second;
}

int64_t ToyCopyTask::dataset_size(const std::string& name) const {
  return static_cast<int64_t>(split(name).digits.size());
}

const std::vector<int64_t>& ToyCopyTask::source_sizes(const std::string& name) const {
  return split(name).frames;
}

trellis::Batches ToyCopyTask::batches(const std::string& name,
                                      const trellis::BatchRequest& request) {
  const Split& s = split(name);
  std::vector<int64_t> order(s.frames.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  return trellis::batch_by_size_greedy(order, s.frames, request.max_tokens, request.batch_size,
                                       1);
}

trellis::BatchPtr ToyCopyTask::collate(const std::string& name, const trellis::Batch& batch,
                                       uint64_t) const {
  const Split& s = split(name);
  auto b = std::make_shared<ToyCopyBatch>();
  int64_t max_t = 0, max_l = 0;
  for (int64_t i : batch) {
    max_t = std::max(max_t, s.frames[static_cast<size_t>(i)]);
    max_l = std::max(max_l, static_cast<int64_t>(s.digits[static_cast<size_t>(i)].size()));
  }
  const auto n = static_cast<int64_t>(batch.size());
  b->frames = torch::zeros({n, max_t, dict_.size()});
  b->frame_lengths = torch::zeros({n}, torch::kLong);
  b->digits = torch::full({n, max_l}, dict_.pad(), torch::kLong);
  b->digit_lengths = torch::zeros({n}, torch::kLong);
  for (int64_t r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(batch[static_cast<size_t>(r)]);
    const auto& ids = s.digits[i];
    for (size_t k = 0; k + 1 < ids.size(); ++k)  // one-hot frames of each digit (not eos)
      for (int64_t f = 0; f < options_.toy_frames_per_digit; ++f)
        b->frames[r][static_cast<int64_t>(k) * options_.toy_frames_per_digit + f][ids[k]] = 1.0;
    for (size_t k = 0; k < ids.size(); ++k) b->digits[r][static_cast<int64_t>(k)] = ids[k];
    b->frame_lengths[r] = s.frames[i];
    b->digit_lengths[r] = static_cast<int64_t>(ids.size());
    b->indices.push_back(static_cast<int64_t>(i));
    b->ids.push_back(name + "_" + std::to_string(i));
    b->ntokens += static_cast<int64_t>(ids.size());
    b->src_frames += s.frames[i];
  }
  b->padded_frames = n * max_t;
  return b;
}

std::unique_ptr<trellis::Model> ToyCopyTask::build_model(const std::string& arch,
                                                         const trellis::AnyOptions& options) {
  trellis::ModelContext m;
  m.input_feat_per_channel = dict_.size();
  m.tgt_vocab_size = dict_.size();
  m.pad = dict_.pad();
  m.eos = dict_.eos();
  return trellis::model_registry().create(trellis::arch_registry().info(arch).target, options, m);
}

std::unique_ptr<trellis::Criterion> ToyCopyTask::build_criterion(
    const std::string& name, const trellis::AnyOptions& options, const trellis::AnyOptions*,
    bool sentence_avg) {
  const trellis::CriterionNeeds needs = trellis::criterion_registry().needs(name, options);
  TRELLIS_CHECK(needs.ctc && !needs.decoder && !needs.source_ctc, ConfigError,
                "--task toy_copy trains CTC models only: --criterion {} needs a decoder or a "
                "source side",
                name);
  trellis::CriterionContext c;
  c.pad = dict_.pad();
  c.eos = dict_.eos();
  c.blank = 0;
  c.sentence_avg = sentence_avg;
  c.ctc_dictionary = &dict_;
  return trellis::criterion_registry().create(name, options, c);
}

trellis::LossOutput ToyCopyTask::forward(trellis::Model& model, trellis::Criterion& criterion,
                                         const trellis::TaskBatch& any) {
  const auto& b = trellis::batch_cast<ToyCopyBatch>(any);
  trellis::ModelOutput out = model.forward(b.frames, b.frame_lengths, at::Tensor());
  trellis::NetOutput net;
  net.ctc_logits = out.logits;  // (T', B, V): the model has no decoder
  net.ctc_lengths = out.encoder.ctc_lengths;
  trellis::CriterionTargets t;
  t.target = b.digits;
  t.target_lengths = b.digit_lengths;
  t.ntokens = b.ntokens;
  t.nsentences = b.size();
  return criterion.forward(net, t);
}

trellis::DecodingInput ToyCopyTask::decoding_input(const trellis::TaskBatch& any) const {
  const auto& b = trellis::batch_cast<ToyCopyBatch>(any);
  trellis::DecodingInput in;
  in.src_tokens = b.frames;
  in.src_lengths = b.frame_lengths;
  in.target = b.digits;
  in.target_lengths = b.digit_lengths;
  in.audio_seconds = 0.01 * static_cast<double>(b.src_frames);  // as if 10 ms frames
  return in;
}

}  // namespace toy

TRELLIS_REGISTER(trellis::task_registry(), "toy_copy", toy::ToyCopyTask, toy::ToyCopyOptions,
                 "plugin example: copy digit sequences (its own batch type)");
