// Checkpoint files: the pickled dictionary (layout in docs/checkpoint_format.md) and atomic
// writes. File names and retention are in checkpoint_names.cpp.
#include "core/checkpoint.h"

#include <fcntl.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace trellis {
namespace {

namespace fs = std::filesystem;
using c10::IValue;
using c10::impl::GenericDict;
using c10::impl::GenericList;

constexpr int64_t kFormatVersion = 1;

GenericDict any_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

IValue optional_double(const std::optional<double>& v) { return v ? IValue(*v) : IValue(); }

// A UTF-8 string stays a Python str; anything else (a SentencePiece model) becomes a uint8
// tensor, since Python's unpickler rejects strings that are not UTF-8.
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E
                                                                                  ? 4
                                                                                  : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n;
  }
  return true;
}

IValue text_or_bytes(const std::string& s) {
  if (valid_utf8(s)) return IValue(s);
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return IValue(t);
}

GenericDict tensor_dict(const std::map<std::string, at::Tensor>& m) {
  GenericDict d(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [k, v] : m) d.insert(k, v.detach().to(torch::kCPU).contiguous());
  return d;
}

GenericDict double_dict(const std::map<std::string, double>& m) {
  GenericDict d(c10::StringType::get(), c10::FloatType::get());
  for (const auto& [k, v] : m) d.insert(k, v);
  return d;
}

GenericDict string_dict(const std::map<std::string, std::string>& m) {
  GenericDict d(c10::StringType::get(), c10::StringType::get());
  for (const auto& [k, v] : m) d.insert(k, v);
  return d;
}

IValue to_ivalue(const CheckpointState& s) {
  GenericDict cfg = any_dict();
  cfg.insert("yaml", s.config_yaml);
  cfg.insert("task", s.task);
  cfg.insert("arch", s.arch);
  cfg.insert("criterion", s.criterion);
  cfg.insert("optimizer", s.optimizer);
  cfg.insert("lr_scheduler", s.lr_scheduler);
  cfg.insert("plugins", string_dict(s.plugins));
  cfg.insert("save_dir", s.save_dir);

  GenericDict history = any_dict();
  history.insert("criterion_name", s.criterion);
  history.insert("optimizer_name", s.optimizer);
  history.insert("lr_scheduler_name", s.lr_scheduler);
  history.insert("lr_scheduler_state", double_dict(s.lr_scheduler_state));
  history.insert("num_updates", s.num_updates);
  GenericList histories(c10::AnyType::get());
  histories.push_back(history);

  GenericDict itr = any_dict();
  itr.insert("version", s.train_iterator.version);
  itr.insert("epoch", s.train_iterator.epoch);
  itr.insert("iterations_in_epoch", s.train_iterator.iterations_in_epoch);
  itr.insert("shuffle", s.train_iterator.shuffle);
  GenericDict extra = any_dict();
  extra.insert("train_iterator", itr);
  extra.insert("train_batches_fingerprint", s.train_batches_fingerprint);
  extra.insert("val_loss", optional_double(s.val_loss));
  extra.insert("best", optional_double(s.best));
  extra.insert("patience_runs", s.patience_runs);
  extra.insert("metrics", double_dict(s.meters));
  extra.insert("previous_training_time", s.previous_training_time);
  extra.insert("rng_state", s.rng_state.defined() ? IValue(s.rng_state) : IValue());

  GenericDict task_state = any_dict();
  for (const auto& [k, v] : s.task_state) task_state.insert(k, text_or_bytes(v));

  GenericDict root = any_dict();
  root.insert("format", std::string("trellis"));
  root.insert("format_version", s.format_version);
  root.insert("cfg", cfg);
  root.insert("args", IValue());
  root.insert("model", tensor_dict(s.model));
  root.insert("optimizer_history", histories);
  root.insert("last_optimizer_state", tensor_dict(s.optimizer_state));
  root.insert("extra_state", extra);
  root.insert("task_state", task_state);
  return root;
}

// Field access with errors that name the file and the field.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  GenericDict dict(const IValue& v, const std::string& name) const {
    if (!v.isGenericDict()) fail(name, "a dictionary");
    return v.toGenericDict();
  }
  IValue get(const GenericDict& d, const std::string& parent, const std::string& key) const {
    auto it = d.find(key);
    if (it == d.end())
      throw CheckpointError(fmt::format("{}: not a trellis checkpoint, or a damaged one: field "
                                        "{}{} is missing",
                                        path_, parent.empty() ? "" : parent + ".", key));
    return it->value();
  }
  std::string str(const GenericDict& d, const std::string& parent, const std::string& key) const {
    IValue v = get(d, parent, key);
    if (!v.isString()) fail(parent + "." + key, "a string");
    return v.toStringRef();
  }
  int64_t integer(const GenericDict& d, const std::string& parent, const std::string& key) const {
    IValue v = get(d, parent, key);
    if (!v.isInt()) fail(parent + "." + key, "an integer");
    return v.toInt();
  }
  double number(const GenericDict& d, const std::string& parent, const std::string& key) const {
    IValue v = get(d, parent, key);
    if (v.isInt()) return static_cast<double>(v.toInt());
    if (!v.isDouble()) fail(parent + "." + key, "a number");
    return v.toDouble();
  }
  std::optional<double> optional_number(const GenericDict& d, const std::string& parent,
                                        const std::string& key) const {
    if (get(d, parent, key).isNone()) return std::nullopt;
    return number(d, parent, key);
  }
  std::map<std::string, at::Tensor> tensors(const GenericDict& d, const std::string& parent,
                                            const std::string& key) const {
    std::map<std::string, at::Tensor> out;
    for (const auto& e : dict(get(d, parent, key), key)) {
      if (!e.value().isTensor()) fail(key + "." + e.key().toStringRef(), "a tensor");
      out[e.key().toStringRef()] = e.value().toTensor();
    }
    return out;
  }
  std::map<std::string, double> numbers(const GenericDict& d, const std::string& parent,
                                        const std::string& key) const {
    std::map<std::string, double> out;
    const GenericDict& m = dict(get(d, parent, key), key);
    for (const auto& e : m) out[e.key().toStringRef()] = number(m, key, e.key().toStringRef());
    return out;
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw CheckpointError(fmt::format("{}: field {} is not {}", path_, field, what));
  }

 private:
  std::string path_;
};

CheckpointState from_ivalue(const IValue& root_value, const std::string& path) {
  Reader r(path);
  const GenericDict& root = r.dict(root_value, "the top level");
  CheckpointState s;
  s.format_version = r.integer(root, "", "format_version");
  TRELLIS_CHECK(s.format_version <= kFormatVersion, CheckpointError,
                "{}: checkpoint format version {} was written by a newer trellis (this build "
                "reads versions up to {})",
                path, s.format_version, kFormatVersion);
  const GenericDict& cfg = r.dict(r.get(root, "", "cfg"), "cfg");
  s.config_yaml = r.str(cfg, "cfg", "yaml");
  s.task = r.str(cfg, "cfg", "task");
  s.arch = r.str(cfg, "cfg", "arch");
  s.criterion = r.str(cfg, "cfg", "criterion");
  s.optimizer = r.str(cfg, "cfg", "optimizer");
  s.lr_scheduler = r.str(cfg, "cfg", "lr_scheduler");
  s.save_dir = r.str(cfg, "cfg", "save_dir");
  for (const auto& e : r.dict(r.get(cfg, "cfg", "plugins"), "cfg.plugins"))
    s.plugins[e.key().toStringRef()] = e.value().toStringRef();

  s.model = r.tensors(root, "", "model");
  s.optimizer_state = r.tensors(root, "", "last_optimizer_state");
  IValue hist = r.get(root, "", "optimizer_history");
  if (!hist.isList() || hist.toListRef().empty()) r.fail("optimizer_history", "a non-empty list");
  const GenericDict& h = r.dict(hist.toListRef().back(), "optimizer_history[-1]");
  s.lr_scheduler_state = r.numbers(h, "optimizer_history[-1]", "lr_scheduler_state");
  s.num_updates = r.integer(h, "optimizer_history[-1]", "num_updates");

  const GenericDict& extra = r.dict(r.get(root, "", "extra_state"), "extra_state");
  const GenericDict& itr =
      r.dict(r.get(extra, "extra_state", "train_iterator"), "extra_state.train_iterator");
  const std::string ip = "extra_state.train_iterator";
  s.train_iterator.version = r.integer(itr, ip, "version");
  s.train_iterator.epoch = r.integer(itr, ip, "epoch");
  s.train_iterator.iterations_in_epoch = r.integer(itr, ip, "iterations_in_epoch");
  IValue shuffle = r.get(itr, ip, "shuffle");
  if (!shuffle.isBool()) r.fail(ip + ".shuffle", "a bool");
  s.train_iterator.shuffle = shuffle.toBool();
  s.train_batches_fingerprint = r.str(extra, "extra_state", "train_batches_fingerprint");
  s.val_loss = r.optional_number(extra, "extra_state", "val_loss");
  s.best = r.optional_number(extra, "extra_state", "best");
  s.patience_runs = r.integer(extra, "extra_state", "patience_runs");
  s.meters = r.numbers(extra, "extra_state", "metrics");
  s.previous_training_time = r.number(extra, "extra_state", "previous_training_time");
  IValue rng = r.get(extra, "extra_state", "rng_state");
  if (rng.isTensor()) s.rng_state = rng.toTensor();

  for (const auto& e : r.dict(r.get(root, "", "task_state"), "task_state")) {
    const std::string key = e.key().toStringRef();
    if (e.value().isString()) {
      s.task_state[key] = e.value().toStringRef();
    } else if (e.value().isTensor()) {
      at::Tensor t = e.value().toTensor().contiguous();
      s.task_state[key] = std::string(static_cast<const char*>(t.data_ptr()),
                                      static_cast<size_t>(t.numel()));
    } else {
      r.fail("task_state." + key, "a string or a uint8 tensor");
    }
  }
  return s;
}

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in.good(), CheckpointError, "cannot open checkpoint {}: {}", path,
                std::strerror(errno));
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Fault injection for tests (docs/reliability.md): with TRELLIS_FAULT_WRITE_AFTER_BYTES=N in
// the environment, a checkpoint write stores N bytes and then fails as a full disk does
// (ENOSPC). Read here only, at each write; unset, -1 (no limit).
int64_t fault_write_after_bytes() {
  const char* v = std::getenv("TRELLIS_FAULT_WRITE_AFTER_BYTES");
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  TRELLIS_CHECK(*end == '\0' && n >= 0, ConfigError,
                "TRELLIS_FAULT_WRITE_AFTER_BYTES={}: expected a byte count", v);
  return n;
}

// Writes `bytes` to a temporary file beside `path`, fsyncs it, renames it over `path` and
// fsyncs the folder. On any failure the temporary file is removed and `path` is untouched.
void write_atomically(const std::vector<char>& bytes, const std::string& path) {
  const int64_t fault_after = fault_write_after_bytes();
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string tmp =
      (dir / (".tmp." + target.filename().string() + "." + std::to_string(::getpid()))).string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TRELLIS_CHECK(fd >= 0, Error, "cannot write checkpoint {}: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    size_t want = bytes.size() - done;
    const bool injected = fault_after >= 0 && done + want > uint64_t(fault_after);
    if (injected) want = uint64_t(fault_after) - std::min<uint64_t>(done, uint64_t(fault_after));
    const ssize_t n = want ? ::write(fd, bytes.data() + done, want) : (errno = ENOSPC, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why =
          std::string(std::strerror(errno)) +
          (injected ? fmt::format(" after {} bytes (injected by TRELLIS_FAULT_WRITE_AFTER_BYTES)",
                                  done)
                    : "");
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(fmt::format("writing checkpoint {} failed: {} (the previous file, if any, is "
                              "kept)",
                              path, why));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    throw Error(fmt::format("writing checkpoint {} failed: {} (the previous file, if any, is "
                            "kept)",
                            path, why));
  }
  fsync_path(dir.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace

void save_checkpoint(const CheckpointState& state, const std::string& path) {
  CheckpointState s = state;
  s.format_version = kFormatVersion;
  write_atomically(torch::pickle_save(to_ivalue(s)), path);
}

CheckpointState load_checkpoint(const std::string& path) {
  TRELLIS_CHECK(fs::exists(path), CheckpointError, "checkpoint {}: no such file", path);
  const std::vector<char> bytes = read_file(path);
  IValue root;
  try {
    root = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw CheckpointError(fmt::format("{}: not a readable checkpoint (truncated, or not written "
                                      "by trellis): {}",
                                      path, e.what_without_backtrace()));
  }
  return from_ivalue(root, path);
}

void copy_checkpoint(const std::string& from, const std::string& to) {
  write_atomically(read_file(from), to);
}

}  // namespace trellis
