#include "core/train/run_state.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <sstream>

#include "core/cli_parser.h"
#include "core/distributed/communicator.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/nemo_checkpoint.h"
#include "core/programs.h"
#include "core/strings.h"
#include "core/train/cpu_bf16.h"
#include "core/train/save_dir_files.h"
#include "core/train_options.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
const log::Logger logger("trellis.train");

BatchRequest batch_request(const DatasetOptions& d, const Model& model, bool valid) {
  BatchRequest r;
  auto tokens = valid && d.max_tokens_valid ? d.max_tokens_valid : d.max_tokens;
  auto sentences = valid && d.batch_size_valid ? d.batch_size_valid : d.batch_size;
  r.max_tokens = tokens.value_or(0);
  r.batch_size = sentences.value_or(0);
  r.required_batch_size_multiple = d.required_batch_size_multiple;
  auto [src, tgt] = model.max_positions();
  r.max_source_positions = src;
  r.max_target_positions = tgt;
  r.skip_invalid_size_inputs = d.skip_invalid_size_inputs_valid_test;
  return r;
}

// FNV-1a over the batches' sample indices and the world size, as 16 hex digits; with
// --sync-buckets also over the per-epoch sync groups (they change the epochs' order).
std::string fingerprint(const Batches& batches, int64_t world_size,
                        const std::vector<int64_t>& sync_group) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 1099511628211ULL;
    }
  };
  mix(static_cast<uint64_t>(world_size));
  for (const Batch& b : batches) {
    mix(b.size());
    for (int64_t i : b) mix(static_cast<uint64_t>(i));
  }
  if (std::any_of(sync_group.begin(), sync_group.end(), [](int64_t g) { return g > 1; })) {
    mix(0x53594e43ULL);  // "SYNC": absent without --sync-buckets, as in older checkpoints
    for (int64_t g : sync_group) mix(static_cast<uint64_t>(g));
  }
  return fmt::format("{:016x}", h);
}

// Seed of the random transforms of one epoch's batches (SpecAugment).
uint64_t collate_seed(uint64_t seed, int64_t epoch) {
  return seed * 1000003ULL + static_cast<uint64_t>(epoch);
}

}  // namespace

RunState::RunState(const Config& config) : config_(config) {
  start_ = std::chrono::steady_clock::now();
  build();
}

RunState::~RunState() = default;

const OptimizationOptions& RunState::optimization() const {
  return config_.get<OptimizationOptions>("optimization");
}
const CommonOptions& RunState::common() const { return config_.get<CommonOptions>("common"); }
const CheckpointOptions& RunState::checkpoint_options() const {
  return config_.get<CheckpointOptions>("checkpoint");
}

bool RunState::is_master() const { return rank_ == 0; }

double RunState::training_seconds() const {
  return previous_training_time_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void RunState::build() {
  const auto& common = this->common();
  const auto& data = config_.get<DatasetOptions>("dataset");
  const auto& opt = optimization();
  const auto& ck = checkpoint_options();
  TRELLIS_CHECK(data.max_tokens || data.batch_size, ConfigError,
                "either --max-tokens or --batch-size must be given");
  data_root_ = config_.get<DataRootOptions>("data").data;
  train_split_ = data.train_subset;
  valid_splits_ = data.disable_validation ? std::vector<std::string>{}
                                          : split_commas(data.valid_subset);
  progress_ = std::make_unique<Progress>(common.log_format, isatty(2) != 0);
  const bool cuda = torch::cuda::is_available() && !common.cpu;
  if (auto setup = resolve_distributed(config_.get<DistributedOptions>("distributed_training"),
                                       cuda)) {
    comm_ = Communicator::connect(*setup);
    world_size_ = comm_->world_size();
    rank_ = comm_->rank();
  }
  // After the rendezvous (the process group draws from the default generator).
  torch::manual_seed(static_cast<uint64_t>(common.seed));
  if (common.deterministic) {
    at::globalContext().setDeterministicAlgorithms(true, /*warn_only=*/false);
    at::globalContext().setDeterministicCuDNN(true);
    at::globalContext().setBenchmarkCuDNN(false);
    ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);  // read by cuBLAS handles
    logger.info("--deterministic: only deterministic kernels (an op without one is an error)");
  }

  if (!ck.no_save && is_master()) {
    save_dir_lock_ = std::make_unique<SaveDirLock>(ck.save_dir);  // before anything is written
    const auto stale = save_dir_lock_->remove_stale_temporaries();
    if (!stale.empty())
      logger.warn("removed {} temporary file(s) that an interrupted run left in {}: {}",
                  stale.size(), ck.save_dir, join(stale, ", "));
    write_text_atomically((fs::path(ck.save_dir) / "config.yaml").string(),
                          config_.to_yaml("train"));
    const std::string metrics = (fs::path(ck.save_dir) / "metrics.jsonl").string();
    if (size_t cut = open_whole_lines_for_append(metrics, &metrics_jsonl_))
      logger.warn("{}: dropped an unfinished last line ({} bytes) that an interrupted run left",
                  metrics, cut);
  }

  TaskContext tctx;
  tctx.data_root = data_root_;
  tctx.criterion_needs = criterion_registry().needs(config_.component("criterion"),
                                                    config_.find("criterion")->options);
  tctx.seed = static_cast<uint64_t>(common.seed);
  tctx.train_subset = train_split_;
  const std::string task_name = config_.component("task");
  task_ = task_registry().create(task_name, config_.find("task")->options, tctx);
  task_->load_dataset(train_split_, true);
  for (const auto& v : valid_splits_) task_->load_dataset(v, false);

  const std::string arch = config_.component("arch");
  model_ = std::shared_ptr<Model>(task_->build_model(arch, config_.find("arch")->options));
  TRELLIS_CHECK(!(common.fp16 || common.amp), ConfigError,
                "--fp16/--amp (float16 with loss scaling on CUDA) are not implemented yet; "
                "on the CPU use --bf16");
  TRELLIS_CHECK(!(cuda && common.bf16), ConfigError,
                "--bf16 is implemented for the CPU only (autocast); add --cpu");
  if (common.bf16 && (!comm_ || comm_->setup().local_rank == 0)) {  // once per machine
    const std::string slow = bf16_speed_warning(this_cpu_flags());
    if (!slow.empty()) logger.warn("{}", slow);
  }
  const int64_t device = comm_ ? comm_->setup().local_rank : 0;
  if (cuda) model_->to(torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device)));
  logger.info("training on {}{}", cuda ? fmt::format("cuda:{}", device) : "the CPU",
              comm_ ? fmt::format(" in each of {} processes", world_size_) : "");
  const ConfigGroup* under = config_.find("underlying_criterion");
  criterion_ = task_->build_criterion(config_.component("criterion"),
                                      config_.find("criterion")->options,
                                      under ? &under->options : nullptr, opt.sentence_avg);
  std::vector<at::Tensor> params;
  for (const auto& p : model_->parameters())
    if (p.requires_grad()) params.push_back(p);
  logger.info("model {} ({}), criterion {}", arch, task_name, config_.component("criterion"));
  logger.info("num. model params: {} (num. trained: {})", model_->num_parameters(),
              [&] {
                int64_t n = 0;
                for (const auto& p : params) n += p.numel();
                return n;
              }());
  optimizer_ = optimizer_registry().create(config_.component("optimizer"),
                                           config_.find("optimizer")->options, params,
                                           OptimizerContext{opt.lr.front()});
  LrSchedulerContext sctx;
  sctx.lr = opt.lr;
  sctx.max_update = opt.max_update;
  sctx.maximize_best_checkpoint_metric = ck.maximize_best_checkpoint_metric;
  sctx.optimizer_momentum = optimizer_->momentum().value_or(0.9);
  scheduler_ = lr_scheduler_registry().create(config_.component("lr_scheduler"),
                                              config_.find("lr_scheduler")->options, sctx);
  TrainerOptions topt;
  topt.seed = static_cast<uint64_t>(common.seed);
  topt.clip_norm = opt.clip_norm;
  topt.max_nonfinite_updates = opt.max_nonfinite_updates;
  topt.bf16 = common.bf16;
  topt.comm = comm_.get();
  topt.bucket_cap_mb = config_.get<DistributedOptions>("distributed_training").bucket_cap_mb;
  topt.overlap_grad_reduce =
      config_.get<DistributedOptions>("distributed_training").ddp_backend == "c10d";
  trainer_ = std::make_unique<Trainer>(*task_, *model_, *criterion_, *optimizer_, *scheduler_,
                                       topt);
  trainer_->set_num_updates(0);

  BatchRequest train_request = batch_request(data, *model_, false);
  train_request.seed = common.seed;
  Batches train = task_->batches(train_split_, train_request);  // epoch 1's
  logger.info("training on {} process(es); max tokens per process = {}, batch size = {}; {} "
              "batches of {} samples",
              world_size_, data.max_tokens ? std::to_string(*data.max_tokens) : "none",
              data.batch_size ? std::to_string(*data.batch_size) : "none", train.size(),
              task_->dataset_size(train_split_));
  EpochIteratorOptions iopt;
  iopt.seed = static_cast<uint32_t>(common.seed);
  iopt.num_shards = world_size_;
  iopt.shard_id = rank_;
  if (data.sync_buckets) {
    // Each update takes W x update_freq consecutive batches of the length-sorted list, so one
    // process with --update-freq 2k sees the same updates as two with --update-freq k.
    iopt.sync_group.clear();
    std::vector<std::string> shown;
    for (int64_t k : opt.update_freq) {
      iopt.sync_group.push_back(world_size_ * k);
      shown.push_back(std::to_string(world_size_ * k));
    }
    logger.info("--sync-buckets: batches shuffled in groups of {} (processes x --update-freq)",
                join(shown, ","));
  }
  batches_fingerprint_ = fingerprint(train, world_size_, iopt.sync_group);
  if (comm_ && !train.empty())
    trainer_->set_dummy_batch(task_->collate(train_split_, train.front(), collate_seed(topt.seed, 1)));
  if (task_->batches_change_per_epoch(train_split_)) {
    logger.info("{}: samples drawn afresh every epoch (temperature resampling): batches are "
                "rebuilt per epoch",
                train_split_);
    iterator_ = std::make_unique<EpochBatchIterator>(
        [task = task_.get(), split = train_split_, train_request](int64_t epoch) {
          BatchRequest r = train_request;
          r.epoch = epoch;
          return task->batches(split, r);
        },
        iopt);
  } else {
    iterator_ = std::make_unique<EpochBatchIterator>(std::move(train), iopt);
  }
  for (const auto& v : valid_splits_) {
    Batches all = task_->batches(v, batch_request(data, *model_, true));
    if (comm_ && !all.empty())
      valid_dummies_[v] = task_->collate(v, all.front(), 0);
    // Validation is sharded like training: rank r takes batches r, r+W, ...
    valid_batches_[v] = comm_ ? EpochBatchIterator::shard(all, world_size_, rank_) : all;
  }

  // The checkpoint read to decide whether it is this job's own is kept for restore().
  std::optional<CheckpointState> last;
  auto own = [&](const std::string& path) {
    last = load_checkpoint(path);
    return last->save_dir == fs::weakly_canonical(ck.save_dir).string();
  };
  // --finetune-from-model may name NeMo's own .nemo: its weights, under NeMo's keys.
  auto read = [](const std::string& path) {
    if (!is_nemo_archive(path)) return load_checkpoint(path);
    CheckpointState s;
    s.model = read_nemo_checkpoint(path).state_dict;
    s.arch = "(NeMo .nemo)";
    return s;
  };
  if (auto plan = plan_resume(ck, own)) {
    restore(*plan, (last && plan->path == last_path()) ? std::move(*last) : read(plan->path));
  } else {
    logger.info("no existing checkpoint found in {}: training from scratch", ck.save_dir);
    model_->load_pretrained();  // --w2v-path
  }
  if (comm_) sync_model_from_rank0();
  trainer_->lr_step(iterator_->next_epoch_idx(), std::nullopt);
}

void RunState::sync_model_from_rank0() {
  // The same seed gives every rank the same weights already; the broadcast makes sure of it
  // (as DDP does) whatever a plugin's initialisation does.
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors;
  for (const auto& p : model_->parameters()) tensors.push_back(p);
  for (const auto& b : model_->buffers()) tensors.push_back(b);
  comm_->broadcast(tensors, 0, "the broadcast of rank 0's model");
}

std::unique_ptr<Prefetcher<BatchPtr>> RunState::prefetch_train(const Batches& batches,
                                                               int64_t epoch) {
  const auto& data = config_.get<DatasetOptions>("dataset");
  const uint64_t seed = collate_seed(static_cast<uint64_t>(common().seed), epoch);
  Task* task = task_.get();
  std::string split = train_split_;
  return std::make_unique<Prefetcher<BatchPtr>>(
      batches, [task, split, seed](const Batch& b) { return task->collate(split, b, seed); },
      static_cast<int>(data.num_workers), static_cast<size_t>(data.data_buffer_size));
}

}  // namespace trellis
