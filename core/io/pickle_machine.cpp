// The opcodes of the pickle machine (core/io/pickle_machine.h): protocols 0-5 except
// EXT1/2/4 and out-of-band buffers (NEXT_BUFFER).

#include "core/io/pickle_machine.h"

#include <cstdlib>
#include <set>

namespace trellis {
namespace pickle_detail {

PickleRef Machine::run(size_t* consumed) {
  try {
    while (!stopped_) {
      op_pos_ = pos_;
      op_ = 0;
      if (pos_ >= n_) fail("truncated pickle (no STOP)");
      op_ = *take(1);
      step();
    }
  } catch (...) {  // a half-built tree may hold cycles
    release_unreachable(nullptr);
    throw;
  }
  if (stack_.size() != 1 || !marks_.empty()) {
    release_unreachable(nullptr);
    fail("stack does not hold one value at STOP");
  }
  if (consumed) *consumed = pos_;
  release_unreachable(stack_.back());
  return stack_.back();
}

// Values the result does not reach may hold themselves (a list appended to itself, then
// popped; found by fuzz_torch_pickle): shared_ptr alone would never free them. Empties every
// value the machine made that `result` (null: nothing) does not reach, and only those.
void Machine::release_unreachable(const PickleRef& result) {
  // Holds a reference to every value it reaches, so that emptying one frees none before its turn.
  auto walk = [](std::vector<PickleRef> todo, std::set<const PickleValue*>& seen,
                 std::vector<PickleRef>* reached) {
    while (!todo.empty()) {
      PickleRef x = std::move(todo.back());
      todo.pop_back();
      if (!x || !seen.insert(x.get()).second) continue;
      todo.insert(todo.end(), x->items.begin(), x->items.end());
      for (const auto& [k, e] : x->entries) todo.push_back(k), todo.push_back(e);
      todo.push_back(x->state);
      if (reached) reached->push_back(std::move(x));
    }
  };
  std::set<const PickleValue*> keep, seen;
  if (result) walk({result}, keep, nullptr);
  std::vector<PickleRef> reached;
  walk(created_, seen, &reached);
  for (const PickleRef& x : reached) {
    if (!keep.count(x.get())) x->items.clear(), x->entries.clear(), x->state.reset();
  }
}

void Machine::step() {
  using V = PickleValue;
  auto boolean = [](bool b) {
    auto v = V::make(Kind::kBool);
    v->b = b;
    return v;
  };
  auto real = [](double f) {
    auto v = V::make(Kind::kFloat);
    v->f = f;
    return v;
  };
  auto text = [this](Kind k, int len_bytes) { return V::make_text(k, bytes(le(len_bytes))); };
  switch (op_) {
    case 0x80: {  // PROTO
      const uint64_t p = le(1);
      if (p > 5) fail(fmt::format("unsupported pickle protocol {}", p));
      return;
    }
    case 0x95:  // FRAME: frames are read in sequence, their length is only a hint
      le(8);
      return;
    case '.':  // STOP
      stopped_ = true;
      return;
    case '(':  // MARK
      return marks_.push_back(stack_.size());
    case '0':  // POP
      return void(pop());
    case '1':  // POP_MARK
      return void(pop_mark());
    case '2':  // DUP
      return push(top());
    case 'N':  // NONE
      return push(V::make(Kind::kNone));
    case 0x88:  // NEWTRUE
      return push(boolean(true));
    case 0x89:  // NEWFALSE
      return push(boolean(false));
    case 'J':  // BININT
      return push(V::make_int(int32_t(uint32_t(le(4)))));
    case 'K':  // BININT1
      return push(V::make_int(int64_t(le(1))));
    case 'M':  // BININT2
      return push(V::make_int(int64_t(le(2))));
    case 0x8a:  // LONG1
      return push(long_bytes(le(1)));
    case 0x8b:  // LONG4
      return push(long_bytes(le(4)));
    case 'I': {  // INT (text); "00" / "01" are protocol 0's False / True
      const std::string s = line();
      return push(s == "00" || s == "01" ? boolean(s == "01") : V::make_int(text_int(s)));
    }
    case 'L':  // LONG (text)
      return push(V::make_int(text_int(line())));
    case 'G': {  // BINFLOAT: big-endian IEEE double
      const uint8_t* p = take(8);
      uint64_t bits = 0;
      for (int k = 0; k < 8; ++k) bits = bits << 8 | p[k];
      double f;
      std::memcpy(&f, &bits, 8);
      return push(real(f));
    }
    case 'F':  // FLOAT (text)
      return push(real(std::strtod(line().c_str(), nullptr)));
    case 'X':  // BINUNICODE
    case 'T':  // BINSTRING
      return push(text(Kind::kString, 4));
    case 0x8c:  // SHORT_BINUNICODE
    case 'U':   // SHORT_BINSTRING
      return push(text(Kind::kString, 1));
    case 0x8d:  // BINUNICODE8
      return push(text(Kind::kString, 8));
    case 'V':  // UNICODE (text)
      return push(V::make_text(Kind::kString, unescape(line(), true)));
    case 'S': {  // STRING (text, quoted)
      std::string s = line();
      if (s.size() < 2 || (s[0] != '\'' && s[0] != '"') || s.back() != s[0]) fail("bad STRING");
      return push(V::make_text(Kind::kString, unescape(s.substr(1, s.size() - 2), false)));
    }
    case 'B':  // BINBYTES
      return push(text(Kind::kBytes, 4));
    case 'C':  // SHORT_BINBYTES
      return push(text(Kind::kBytes, 1));
    case 0x8e:  // BINBYTES8
    case 0x96:  // BYTEARRAY8
      return push(text(Kind::kBytes, 8));
    case ']':   // EMPTY_LIST
    case 0x8f:  // EMPTY_SET (sets become lists)
      return push(V::make(Kind::kList));
    case ')':  // EMPTY_TUPLE
      return push(V::make(Kind::kTuple));
    case '}':  // EMPTY_DICT
      return push(V::make(Kind::kDict));
    case 'l':   // LIST
    case 0x91:  // FROZENSET
      return push(V::make_seq(Kind::kList, pop_mark()));
    case 't':  // TUPLE
      return push(V::make_seq(Kind::kTuple, pop_mark()));
    case 'd': {  // DICT
      auto d = V::make(Kind::kDict);
      set_items(d, pop_mark());
      return push(d);
    }
    case 0x85:    // TUPLE1
    case 0x86:    // TUPLE2
    case 0x87: {  // TUPLE3
      std::vector<PickleRef> items(size_t(op_ - 0x84));
      for (size_t k = items.size(); k-- > 0;) items[k] = pop();
      return push(V::make_seq(Kind::kTuple, std::move(items)));
    }
    case 'a': {  // APPEND
      PickleRef v = pop();
      return append(top(), {v});
    }
    case 'e':     // APPENDS
    case 0x90: {  // ADDITEMS
      std::vector<PickleRef> items = pop_mark();
      return append(top(), items);
    }
    case 's': {  // SETITEM
      PickleRef v = pop(), k = pop();
      return set_items(top(), {k, v});
    }
    case 'u': {  // SETITEMS
      std::vector<PickleRef> kv = pop_mark();
      return set_items(top(), kv);
    }
    case 'q':  // BINPUT
      return memo_put(le(1));
    case 'r':  // LONG_BINPUT
      return memo_put(le(4));
    case 'p':  // PUT (text)
      return memo_put(uint64_t(text_int(line())));
    case 0x94:  // MEMOIZE
      return memo_put(memo_.size());
    case 'h':  // BINGET
      return push(memo_get(le(1)));
    case 'j':  // LONG_BINGET
      return push(memo_get(le(4)));
    case 'g':  // GET (text)
      return push(memo_get(uint64_t(text_int(line()))));
    case 'c': {  // GLOBAL
      std::string module = line(), name = line();
      return push(global(module, name));
    }
    case 0x93: {  // STACK_GLOBAL
      PickleRef name = pop(), module = pop();
      if (!module->is(Kind::kString) || !name->is(Kind::kString)) fail("global name is not a str");
      return push(global(module->str, name->str));
    }
    case 'R':     // REDUCE
    case 0x81: {  // NEWOBJ
      PickleRef args = pop(), fn = pop();
      return push(call(fn, args));
    }
    case 0x92: {  // NEWOBJ_EX: keyword arguments, when any, become the last argument
      PickleRef kwargs = pop(), args = pop(), cls = pop();
      PickleRef r = call(cls, args);
      if (r->is(Kind::kObject) && !kwargs->entries.empty()) r->items.push_back(kwargs);
      return push(r);
    }
    case 'i': {  // INST
      std::string module = line(), name = line();
      return push(call(global(module, name), V::make_seq(Kind::kTuple, pop_mark())));
    }
    case 'o': {  // OBJ
      std::vector<PickleRef> items = pop_mark();
      if (items.empty()) fail("OBJ without a class");
      PickleRef cls = items[0];
      items.erase(items.begin());
      return push(call(cls, V::make_seq(Kind::kTuple, std::move(items))));
    }
    case 'b': {  // BUILD
      PickleRef state = pop();
      return build(top(), state);
    }
    case 'Q': {  // BINPERSID
      PickleRef pid = pop();
      return push(persistent(pid));
    }
    case 'P':  // PERSID (text)
      return push(persistent(V::make_text(Kind::kString, line())));
    case 0x98:  // READONLY_BUFFER
      return;
    case 0x82:  // EXT1
    case 0x83:  // EXT2
    case 0x84:  // EXT4
      fail("extension registry codes (EXT1/2/4) are unsupported");
    case 0x97:  // NEXT_BUFFER
      fail("out-of-band buffers (NEXT_BUFFER) are unsupported");
    default:
      fail("unknown opcode");
  }
}

}  // namespace pickle_detail

PickleRef unpickle(const uint8_t* data, size_t size, const std::string& where,
                   const PickleHooks& hooks, size_t* consumed) {
  return pickle_detail::Machine(data, size, where, hooks).run(consumed);
}

}  // namespace trellis
