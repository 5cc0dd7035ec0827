// RunState: saving checkpoints (fairseq's save_checkpoint) and restoring them (load_checkpoint
// with the --reset-* flags; the decision of what to load is resume.h's).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>

#include "core/cli_parser.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/train/run_state.h"
#include "core/train_options.h"
#include "core/interfaces/criterion.h"
#include "core/interfaces/model.h"
#include "core/interfaces/lr_scheduler.h"
#include "core/interfaces/optimizer.h"
#include "core/interfaces/task.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
const log::Logger logger("trellis.checkpoint");

// "a, b, c (and N more)" for key lists in errors.
std::string list_keys(const std::vector<std::string>& keys) {
  std::string s;
  const size_t shown = std::min<size_t>(keys.size(), 12);
  for (size_t i = 0; i < shown; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > shown) s += fmt::format(" (and {} more)", keys.size() - shown);
  return s;
}

// Throws CheckpointError listing every missing and unexpected key (ignored suffixes aside).
void check_model_keys(const Model& model, const std::map<std::string, at::Tensor>& saved,
                      const std::string& path, const std::string& saved_arch,
                      const std::string& arch) {
  auto ours = model.state_dict();
  auto ignored = model.ignored_keys();
  auto is_ignored = [&](const std::string& k) {
    for (const auto& suffix : ignored)
      if (k.size() >= suffix.size() && k.compare(k.size() - suffix.size(), suffix.size(),
                                                 suffix) == 0)
        return true;
    return false;
  };
  std::vector<std::string> missing, unexpected;
  for (const auto& [k, v] : ours)
    if (!saved.count(k) && !is_ignored(k)) missing.push_back(k);
  for (const auto& [k, v] : saved)
    if (!ours.count(k) && !is_ignored(k)) unexpected.push_back(k);
  if (missing.empty() && unexpected.empty()) return;
  std::string msg = fmt::format("{} does not fit this model", path);
  if (saved_arch != arch) msg += fmt::format(" (saved with --arch {}, this run: --arch {})",
                                             saved_arch, arch);
  if (!missing.empty()) msg += "; missing keys: " + list_keys(missing);
  if (!unexpected.empty()) msg += "; unexpected keys: " + list_keys(unexpected);
  throw CheckpointError(msg);
}

}  // namespace

std::string RunState::last_path() const {
  return (fs::path(checkpoint_options().save_dir) / "checkpoint_last.pt").string();
}

CheckpointState RunState::capture() const {
  CheckpointState s;
  s.config_yaml = config_.to_yaml("train");
  s.task = config_.component("task");
  s.arch = config_.component("arch");
  s.criterion = config_.component("criterion");
  s.optimizer = config_.component("optimizer");
  s.lr_scheduler = config_.component("lr_scheduler");
  for (const auto& g : config_.groups())
    if (!g.kind.empty() && !g.component.empty()) {
      const auto& origin = [&]() -> const RegistryBase& {
        if (g.kind == "task") return task_registry();
        if (g.kind == "arch") return arch_registry();
        if (g.kind == "criterion") return criterion_registry();
        if (g.kind == "optimizer") return optimizer_registry();
        return lr_scheduler_registry();
      }();
      s.plugins[g.kind + ":" + g.component] = origin.info(g.component).origin;
    }
  s.save_dir = fs::weakly_canonical(checkpoint_options().save_dir).string();
  s.model = model_->state_dict();
  s.optimizer_state = optimizer_->state_dict();
  s.lr_scheduler_state = scheduler_->state_dict();
  s.num_updates = trainer_->num_updates();
  s.train_iterator = iterator_->state();
  s.train_batches_fingerprint = batches_fingerprint_;
  s.val_loss = last_val_;
  s.best = best_;
  s.patience_runs = patience_runs_;
  s.meters = epoch_.state();
  s.previous_training_time = training_seconds();
  s.rng_state = at::detail::getDefaultCPUGenerator().get_state();
  s.task_state = task_->task_state();
  return s;
}

void RunState::save(bool end_of_epoch, std::optional<double> val) {
  const auto& ck = checkpoint_options();
  last_val_ = val;
  if (val && (!best_ || better(*val, *best_))) best_ = val;
  if (ck.no_save || !is_master()) return;
  CheckpointNaming naming;
  naming.save_interval = ck.save_interval;
  naming.save_interval_updates = ck.save_interval_updates;
  naming.keep_interval_updates = ck.keep_interval_updates;
  naming.keep_last_epochs = ck.keep_last_epochs;
  naming.keep_best_checkpoints = ck.keep_best_checkpoints;
  naming.no_epoch_checkpoints = ck.no_epoch_checkpoints;
  naming.no_last_checkpoints = ck.no_last_checkpoints;
  naming.best_checkpoint_metric = ck.best_checkpoint_metric;
  naming.maximize_best_checkpoint_metric = ck.maximize_best_checkpoint_metric;
  SaveRequest req;
  req.epoch = iterator_->epoch();
  req.num_updates = trainer_->num_updates();
  req.end_of_epoch = end_of_epoch;
  req.val = val;
  req.is_best = val && best_ && !better(*best_, *val);
  auto names = checkpoint_names(req, naming);
  if (names.empty()) return;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir(ck.save_dir);
  save_checkpoint(capture(), (dir / names[0]).string());
  for (size_t i = 1; i < names.size(); ++i)
    copy_checkpoint((dir / names[0]).string(), (dir / names[i]).string());
  std::vector<std::string> existing;
  for (const auto& e : fs::directory_iterator(dir)) existing.push_back(e.path().filename());
  for (const auto& name : checkpoints_to_remove(existing, req, naming)) fs::remove(dir / name);
  logger.info("saved checkpoint {} (epoch {} @ {} updates, score {}) (writing took {:.2f} s)",
              (dir / names[0]).string(), req.epoch, req.num_updates,
              val ? fmt::format("{}", *val) : "none",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void RunState::save_last_on_signal() {
  const auto& ck = checkpoint_options();
  if (ck.no_save || !is_master()) return;
  save_checkpoint(capture(), last_path());
  logger.info("saved {} after a stop signal (update {})", last_path(), trainer_->num_updates());
}

void RunState::restore(const ResumePlan& plan, CheckpointState s) {
  logger.info("{}", plan.why);
  const std::string arch = config_.component("arch");
  check_model_keys(*model_, s.model, plan.path, s.arch, arch);
  model_->load_state_dict(s.model, /*strict=*/true);
  if (!plan.reset_optimizer) {
    TRELLIS_CHECK(s.criterion == config_.component("criterion") &&
                      s.optimizer == config_.component("optimizer"),
                  CheckpointError,
                  "{} was trained with --criterion {} --optimizer {}; this run uses --criterion {} "
                  "--optimizer {}: add --reset-optimizer to start a fresh optimizer",
                  plan.path, s.criterion, s.optimizer, config_.component("criterion"),
                  config_.component("optimizer"));
    if (!plan.reset_lr_scheduler) {
      TRELLIS_CHECK(s.lr_scheduler == config_.component("lr_scheduler"), CheckpointError,
                    "{} was trained with --lr-scheduler {}, this run uses {}: add "
                    "--reset-lr-scheduler",
                    plan.path, s.lr_scheduler, config_.component("lr_scheduler"));
      scheduler_->load_state_dict(s.lr_scheduler_state);
    }
    optimizer_->load_state_dict(s.optimizer_state);
    trainer_->set_num_updates(s.num_updates);
  }
  if (!plan.reset_optimizer && !plan.reset_meters) {
    best_ = s.best;
    patience_runs_ = s.patience_runs;
  }
  if (!plan.reset_meters) epoch_.load(s.meters);
  previous_training_time_ = s.previous_training_time;
  if (s.rng_state.defined()) {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    gen.set_state(s.rng_state);
  }
  if (!plan.reset_dataloader) {
    const IteratorState& saved = s.train_iterator;
    const bool same_batches = s.train_batches_fingerprint == batches_fingerprint_;
    if (saved.iterations_in_epoch > 0 && !same_batches) {
      // A position inside an epoch only means something for the batches it was taken in.
      logger.warn("the saved data position (epoch {}, {} batches in) belongs to other training "
                  "batches than this run's (--max-tokens, --batch-size, the data, the number "
                  "of processes or --sync-buckets changed); restarting epoch {} from its first "
                  "batch",
                  saved.epoch, saved.iterations_in_epoch, saved.epoch);
      IteratorState fresh = saved;
      fresh.iterations_in_epoch = 0;
      iterator_->load_state(fresh);
    } else {
      iterator_->load_state(saved);
      // Inside an epoch: its validation so far feeds the LR step at the epoch's end (a save
      // inside an epoch always validates first).
      if (saved.iterations_in_epoch > 0) epoch_valid_ = s.val_loss;
    }
  }
  logger.info("loaded {} (epoch {}, {} updates{})", plan.path, iterator_->next_epoch_idx(),
              trainer_->num_updates(),
              best_ ? fmt::format(", best {}", *best_) : std::string());
}

}  // namespace trellis
