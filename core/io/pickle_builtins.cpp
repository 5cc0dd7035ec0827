// What the pickle machine's calls, containers and BUILD make of values (core/io/pickle_machine.h)
// and call_pickle_builtin (core/io/torch_pickle.h): the Python callables common in
// checkpoints, without Python.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "core/io/pickle_machine.h"

namespace trellis {
namespace {

using Kind = PickleValue::Kind;

// UTF-8 text whose code points are all < 256 -> those bytes (Python's str.encode('latin1')).
bool latin1_bytes(const std::string& s, std::string& out) {
  out.clear();
  for (size_t k = 0; k < s.size(); ++k) {
    const uint8_t c = uint8_t(s[k]);
    if (c < 0x80) {
      out += char(c);
    } else if ((c == 0xc2 || c == 0xc3) && k + 1 < s.size()) {
      out += char(((c & 0x1f) << 6) | (uint8_t(s[++k]) & 0x3f));
    } else {
      return false;
    }
  }
  return true;
}

PickleRef encode(const std::vector<PickleRef>& a) {  // _codecs.encode(str, encoding)
  if (a.size() != 2 || !a[0]->is(Kind::kString) || !a[1]->is(Kind::kString)) return nullptr;
  const std::string& enc = a[1]->str;
  std::string out;
  if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
    if (latin1_bytes(a[0]->str, out)) return PickleValue::make_text(Kind::kBytes, out);
  } else if (enc == "utf-8" || enc == "utf8") {
    return PickleValue::make_text(Kind::kBytes, a[0]->str);
  }
  return nullptr;
}

// numpy.core.multiarray.scalar(dtype, raw bytes) for a little-endian bool, int or float dtype:
// dtype is numpy.dtype('f8', False, True) with BUILD state (3, '<', ...).
PickleRef numpy_scalar(const std::vector<PickleRef>& a) {
  if (a.size() != 2 || !a[0]->is(Kind::kObject) || a[0]->str != "numpy.dtype" ||
      a[0]->items.empty() || !a[0]->items[0]->is(Kind::kString) || !a[1]->is(Kind::kBytes)) {
    return nullptr;
  }
  const PickleRef& st = a[0]->state;
  if (st && st->is(Kind::kTuple) && st->items.size() > 1 && st->items[1]->is(Kind::kString) &&
      st->items[1]->str == ">") {
    return nullptr;
  }
  const std::string& code = a[0]->items[0]->str;
  const std::string& raw = a[1]->str;
  const size_t n = code.size() == 2 ? size_t(code[1] - '0') : 0;
  if (n == 0 || raw.size() != n) return nullptr;
  if (code == "f8" || code == "f4") {
    auto v = PickleValue::make(Kind::kFloat);
    if (n == 8) std::memcpy(&v->f, raw.data(), 8);
    if (n == 4) {
      float f;
      std::memcpy(&f, raw.data(), 4);
      v->f = f;
    }
    return v;
  }
  if (code == "b1") {
    auto v = PickleValue::make(Kind::kBool);
    v->b = raw[0] != 0;
    return v;
  }
  if ((code[0] != 'i' && code[0] != 'u') || (n != 1 && n != 2 && n != 4 && n != 8)) return nullptr;
  if (code == "u8" && uint8_t(raw[7]) >= 0x80) return nullptr;  // beyond int64
  uint64_t v = 0;
  for (size_t k = n; k-- > 0;) v = v << 8 | uint8_t(raw[k]);
  if (code[0] == 'i' && n < 8 && (uint8_t(raw[n - 1]) & 0x80)) v -= uint64_t(1) << (8 * n);
  return PickleValue::make_int(int64_t(v));
}

}  // namespace

bool pickle_global_known(const std::string& g) {
  static const std::set<std::string> kExact = {
      // torch.save: tensors, parameters, tensor subclasses, sizes, devices
      "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
      "torch._utils._rebuild_from_type", "torch._tensor._rebuild_from_type_v2", "torch.Size",
      "torch.device", "torch.serialization._get_layout", "torch.strided",
      // LibTorch's torch::pickle_save type tags
      "torch.jit._pickle.restore_type_tag", "torch.jit._pickle.build_intlist",
      "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
      "torch.jit._pickle.build_tensorlist",
      // containers and plain data
      "collections.OrderedDict", "collections.defaultdict", "collections.Counter",
      "collections.deque", "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set",
      "builtins.frozenset", "builtins.bytes", "builtins.bytearray", "builtins.int",
      "builtins.float", "builtins.str", "builtins.bool", "builtins.complex", "builtins.slice",
      "builtins.object", "builtins.getattr", "copyreg._reconstructor", "copyreg.__newobj__",
      "copyreg.__newobj_ex__", "_codecs.encode", "argparse.Namespace", "pathlib.Path",
      "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
      "pathlib.PureWindowsPath",
      // PyTorch Lightning .ckpt hyper-parameters
      "pytorch_lightning.utilities.parsing.AttributeDict",
      "lightning.fabric.utilities.data.AttributeDict",
      // numpy scalars and arrays in fairseq / NeMo extra state
      "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.dtype",
      "numpy.ndarray"};
  static const char* const kStorages[] = {"Float",    "Double", "Half",  "BFloat16",
                                          "Long",     "Int",    "Short", "Char",
                                          "Byte",     "Bool",   "Untyped"};
  static const char* const kDtypes[] = {
      "float32", "float", "float64", "double", "float16", "half",    "bfloat16", "int64", "long",
      "int32",   "int",   "int16",   "short",  "int8",    "uint8",   "bool",     "complex64",
      "complex128", "cfloat", "cdouble"};
  // Data classes of the checkpoints read here (fairseq's configs and enums, omegaconf nodes,
  // typing annotations in omegaconf metadata, numpy 2's dtype classes): rebuilt as objects.
  static const char* const kPrefixes[] = {"omegaconf.", "typing.", "fairseq.", "numpy.dtypes."};
  if (kExact.count(g)) return true;
  for (const char* p : kPrefixes) {
    if (g.compare(0, std::strlen(p), p) == 0) return true;
  }
  for (const char* t : kStorages) {
    const std::string name = std::string(t) + "Storage";
    if (g == "torch." + name || g == "torch.cuda." + name) return true;
  }
  for (const char* d : kDtypes) {
    if (g == std::string("torch.") + d) return true;
  }
  return false;
}

PickleRef call_pickle_builtin(const std::string& g, const std::vector<PickleRef>& a) {
  // LibTorch's torch::pickle_save (our own checkpoints) tags typed containers:
  // restore_type_tag(value, "Dict[str, Tensor]"), build_intlist([...]), ...
  if (g == "torch.jit._pickle.restore_type_tag" || g == "torch.jit._pickle.build_intlist" ||
      g == "torch.jit._pickle.build_doublelist" || g == "torch.jit._pickle.build_boollist" ||
      g == "torch.jit._pickle.build_tensorlist") {
    if (!a.empty()) return a[0];
  }
  if (g == "collections.OrderedDict" || g == "builtins.dict" || g == "collections.defaultdict") {
    auto d = PickleValue::make(Kind::kDict);  // defaultdict's default factory is dropped
    if (g != "collections.defaultdict" && !a.empty() && a[0]->is(Kind::kDict)) {
      d->entries = a[0]->entries;
    } else if (g != "collections.defaultdict" && !a.empty()) {
      for (const auto& kv : a[0]->items) {  // OrderedDict([(key, value), ...])
        if (kv->items.size() == 2) d->entries.emplace_back(kv->items[0], kv->items[1]);
      }
    }
    return d;
  }
  if (g == "builtins.set" || g == "builtins.frozenset") {
    return PickleValue::make_seq(Kind::kList, a.empty() ? std::vector<PickleRef>{} : a[0]->items);
  }
  if (g == "_codecs.encode") return encode(a);
  if (g == "builtins.bytes" || g == "builtins.bytearray") {
    if (a.empty()) return PickleValue::make_text(Kind::kBytes, "");
    if (a.size() == 1 && a[0]->is(Kind::kBytes))
      return PickleValue::make_text(Kind::kBytes, a[0]->str);
    if (a.size() == 1 && a[0]->is(Kind::kList)) {
      std::string out;
      for (const auto& x : a[0]->items) {
        if (!x->is(Kind::kInt) || x->i < 0 || x->i > 255) return nullptr;
        out += char(x->i);
      }
      return PickleValue::make_text(Kind::kBytes, out);
    }
    return encode(a);
  }
  if (g == "numpy.core.multiarray.scalar" || g == "numpy._core.multiarray.scalar") {
    return numpy_scalar(a);
  }
  if (g == "builtins.getattr" && a.size() == 2 && a[0]->is(Kind::kGlobal) &&
      a[1]->is(Kind::kString)) {
    return PickleValue::make_text(Kind::kGlobal, a[0]->str + "." + a[1]->str);
  }
  if ((g == "copyreg._reconstructor" || g == "copyreg.__newobj__") && !a.empty() &&
      a[0]->is(Kind::kGlobal)) {
    auto o = PickleValue::make_text(Kind::kObject, a[0]->str);
    if (g == "copyreg.__newobj__") o->items.assign(a.begin() + 1, a.end());
    return o;
  }
  return nullptr;
}

namespace pickle_detail {
namespace {

void append_utf8(std::string& s, uint32_t c) {
  if (c < 0x80) {
    s += char(c);
  } else if (c < 0x800) {
    s += char(0xc0 | (c >> 6)), s += char(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    s += char(0xe0 | (c >> 12)), s += char(0x80 | ((c >> 6) & 0x3f)), s += char(0x80 | (c & 0x3f));
  } else {
    s += char(0xf0 | (c >> 18)), s += char(0x80 | ((c >> 12) & 0x3f));
    s += char(0x80 | ((c >> 6) & 0x3f)), s += char(0x80 | (c & 0x3f));
  }
}

}  // namespace

std::string unescape(const std::string& s, bool unicode) {
  std::string out;
  for (size_t k = 0; k < s.size(); ++k) {
    const char c = s[k], e = k + 1 < s.size() ? s[k + 1] : '\0';
    size_t hex = 0;
    if (c == '\\') hex = unicode ? (e == 'u' ? 4 : e == 'U' ? 8 : 0) : (e == 'x' ? 2 : 0);
    if (hex && k + 2 + hex <= s.size()) {
      const uint32_t v = uint32_t(std::strtoul(s.substr(k + 2, hex).c_str(), nullptr, 16));
      unicode ? append_utf8(out, v) : void(out += char(v));
      k += 1 + hex;
    } else if (unicode) {
      append_utf8(out, uint8_t(c));
    } else if (c == '\\' && e) {
      out += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
      ++k;
    } else {
      out += c;
    }
  }
  return out;
}

int64_t Machine::text_int(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno || (*end && !(end[0] == 'L' && !end[1]))) {
    fail(fmt::format("bad or too large integer '{}'", s));
  }
  return v;
}

PickleRef Machine::long_bytes(uint64_t n) {
  std::string b = bytes(n);
  if (n > 8) return PickleValue::make_text(Kind::kBigInt, b);
  uint64_t v = 0;
  for (size_t k = n; k-- > 0;) v = v << 8 | uint8_t(b[k]);
  if (n > 0 && n < 8 && (uint8_t(b[n - 1]) & 0x80)) v -= uint64_t(1) << (8 * n);
  return PickleValue::make_int(int64_t(v));
}

PickleRef Machine::call(const PickleRef& fn, const PickleRef& args) {
  if (!args->is(Kind::kTuple) && !args->is(Kind::kList)) fail("arguments are not a tuple");
  if (fn->is(Kind::kGlobal)) {
    if (hooks_.call) {
      if (PickleRef r = hooks_.call(fn->str, args)) return r;
    }
    if (PickleRef r = call_pickle_builtin(fn->str, args->items)) {
      if (r->is(Kind::kGlobal)) check_global(r->str);  // getattr(module, name)
      return r;
    }
  }
  auto o = PickleValue::make_text(Kind::kObject, fn->is(Kind::kGlobal) ? fn->str : "?");
  o->items = args->items;
  return o;
}

// Python's module renames between pickles written by Python 2 (or protocol < 3) and Python 3.
PickleRef Machine::global(const std::string& module, const std::string& name) {
  const std::string m = module == "__builtin__" ? "builtins"
                        : module == "copy_reg"  ? "copyreg"
                                                : module;
  check_global(m + "." + name);
  return PickleValue::make_text(Kind::kGlobal, m + "." + name);
}

void Machine::check_global(const std::string& g) {
  if (pickle_global_known(g)) return;
  for (const std::string& x : hooks_.extra_globals) {
    if (g == x || (!x.empty() && x.back() == '.' && g.compare(0, x.size(), x) == 0)) return;
  }
  const bool module = g.compare(0, 10, "torch.nn.m") == 0 || g.compare(0, 11, "torch.optim") == 0;
  fail(fmt::format("unknown global '{}' refused{}: a checkpoint is read as data, and trellis accepts "
                   "only the classes and functions it knows (see pickle_global_known in "
                   "core/io/torch_pickle.h); nothing was executed",
                   g.substr(0, 200),
                   module ? " (a pickled torch module or optimizer: save its state_dict() instead)"
                          : ""));
}

void Machine::set_items(const PickleRef& target, const std::vector<PickleRef>& kv) {
  if (kv.size() % 2) fail("odd number of values for a dict");
  if (!target->is(Kind::kDict) && !target->is(Kind::kObject)) fail("target is not a dict");
  for (size_t k = 0; k < kv.size(); k += 2) target->entries.emplace_back(kv[k], kv[k + 1]);
}

void Machine::append(const PickleRef& target, const std::vector<PickleRef>& items) {
  if (target->is(Kind::kList)) {
    target->items.insert(target->items.end(), items.begin(), items.end());
  } else if (target->is(Kind::kObject)) {  // a list subclass: elements keyed by index
    for (const auto& v : items) {
      target->entries.emplace_back(PickleValue::make_int(int64_t(target->entries.size())), v);
    }
  } else {
    fail("target is not a list");
  }
}

void Machine::build(const PickleRef& obj, const PickleRef& state) {
  if (!obj->is(Kind::kObject) && !obj->is(Kind::kDict) && !obj->is(Kind::kTensor)) return;
  if (obj->state && obj->state->is(Kind::kDict) && state->is(Kind::kDict)) {
    auto& e = obj->state->entries;
    e.insert(e.end(), state->entries.begin(), state->entries.end());
  } else {
    obj->state = state;
  }
}

PickleRef Machine::persistent(const PickleRef& pid) {
  if (hooks_.persistent_load) return hooks_.persistent_load(pid);
  auto o = PickleValue::make_text(Kind::kObject, "persistent_id");
  o->items = {pid};
  return o;
}

}  // namespace pickle_detail
}  // namespace trellis
