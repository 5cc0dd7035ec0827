#pragma once
// Internal to core/data/pickle_*.cpp: the pickle virtual machine behind unpickle()
// (core/io/torch_pickle.h). Opcodes are in pickle_machine.cpp, the actions that build
// values (calls, containers, BUILD) in pickle_builtins.cpp.

#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/io/torch_pickle.h"
#include "core/error.h"

namespace trellis::pickle_detail {

class Machine {
 public:
  Machine(const uint8_t* d, size_t n, const std::string& where, const PickleHooks& hooks)
      : d_(d), n_(n), where_(where), hooks_(hooks) {}

  // Runs up to STOP; the value left on the stack, *consumed = bytes read.
  PickleRef run(size_t* consumed);

 private:
  using Kind = PickleValue::Kind;

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(fmt::format("{}: pickle opcode 0x{:02x} ('{}') at byte {}: {}", where_, op_,
                                op_ >= 0x20 && op_ < 0x7f ? char(op_) : '?', op_pos_, what));
  }
  const uint8_t* take(uint64_t n) {
    if (n > n_ - pos_) fail(fmt::format("truncated pickle (needs {} more bytes)", n));
    pos_ += n;
    return d_ + pos_ - n;
  }
  uint64_t le(int n) {
    const uint8_t* p = take(n);
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = v << 8 | p[k];
    return v;
  }
  std::string bytes(uint64_t n) { return {reinterpret_cast<const char*>(take(n)), size_t(n)}; }
  std::string line() {  // protocol 0 text up to '\n'
    const void* nl = std::memchr(d_ + pos_, '\n', n_ - pos_);
    if (!nl) fail("truncated pickle (no end of line)");
    std::string s = bytes(size_t(static_cast<const uint8_t*>(nl) - (d_ + pos_)));
    ++pos_;
    return s;
  }
  void push(PickleRef v) {
    if (pushed_.insert(v.get()).second) created_.push_back(v);
    stack_.push_back(std::move(v));
  }
  PickleRef pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() == marks_.back())) fail("stack empty");
    PickleRef v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  const PickleRef& top() {
    if (stack_.empty()) fail("stack empty");
    return stack_.back();
  }
  std::vector<PickleRef> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    std::vector<PickleRef> items(stack_.begin() + long(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  PickleRef memo_get(uint64_t k) {
    auto it = memo_.find(k);
    if (it == memo_.end()) fail(fmt::format("memo key {} was never stored", k));
    return it->second;
  }
  void memo_put(uint64_t k) { memo_[k] = top(); }
  void step();  // one opcode
  void release_unreachable(const PickleRef& result);  // empties what `result` does not reach

  // pickle_builtins.cpp
  int64_t text_int(const std::string& s);  // INT, LONG, GET, PUT text
  PickleRef long_bytes(uint64_t n);        // LONG1 / LONG4: little-endian two's complement
  PickleRef call(const PickleRef& fn, const PickleRef& args);  // REDUCE, NEWOBJ, INST, OBJ
  PickleRef global(const std::string& module, const std::string& name);  // checked
  void check_global(const std::string& g);  // DataError unless known or in hooks_.extra_globals
  void set_items(const PickleRef& target, const std::vector<PickleRef>& kv);
  void append(const PickleRef& target, const std::vector<PickleRef>& items);
  void build(const PickleRef& obj, const PickleRef& state);  // BUILD: obj.__setstate__(state)
  PickleRef persistent(const PickleRef& pid);

  const uint8_t* d_;
  size_t n_, pos_ = 0, op_pos_ = 0;
  uint8_t op_ = 0;
  bool stopped_ = false;
  const std::string& where_;
  const PickleHooks& hooks_;
  std::vector<PickleRef> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleRef> memo_;
  // Every value ever pushed: one dropped by POP / POP_MARK may still hold itself (a cycle), so
  // the machine, not shared_ptr, decides what is freed (release_unreachable, run's failure path).
  std::vector<PickleRef> created_;
  std::unordered_set<const PickleValue*> pushed_;
};

// Protocol 0 text. UNICODE is raw-unicode-escape (latin-1 bytes, \uXXXX, \UXXXXXXXX); STRING is
// a quoted Python literal with \\ \' \" \n \r \t \xHH escapes, its bytes taken as UTF-8.
std::string unescape(const std::string& s, bool unicode);

}  // namespace trellis::pickle_detail
