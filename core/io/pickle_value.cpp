// PickleValue accessors, lookup by key or dotted path, and tensor collection
// (core/io/torch_pickle.h).

#include <set>

#include "core/io/torch_pickle.h"
#include "core/error.h"

namespace trellis {
namespace {

using Kind = PickleValue::Kind;

void repr_into(const PickleValue& v, std::string& out, size_t max_len, int depth);

void repr_seq(const std::vector<PickleRef>& items, std::string& out, size_t max_len, int depth) {
  for (size_t k = 0; k < items.size() && out.size() <= max_len; ++k) {
    if (k) out += ", ";
    repr_into(*items[k], out, max_len, depth + 1);
  }
}

void repr_text(const std::string& s, bool bytes, std::string& out) {
  out += bytes ? "b'" : "'";
  for (unsigned char c : s) {
    if (c == '\'' || c == '\\') {
      out += '\\', out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += char(c);
    }
  }
  out += '\'';
}

void repr_into(const PickleValue& v, std::string& out, size_t max_len, int depth) {
  if (out.size() > max_len) return;
  if (depth > 32) {
    out += "...";
    return;
  }
  switch (v.kind) {
    case Kind::kNone:
      out += "None";
      break;
    case Kind::kBool:
      out += v.b ? "True" : "False";
      break;
    case Kind::kInt:
      out += std::to_string(v.i);
      break;
    case Kind::kBigInt: {
      out += "int(le:0x";
      for (size_t k = v.str.size(); k-- > 0;) out += fmt::format("{:02x}", uint8_t(v.str[k]));
      out += ")";
      break;
    }
    case Kind::kFloat: {
      std::string f = fmt::format("{}", v.f);
      if (f.find_first_of(".eni") == std::string::npos) f += ".0";
      out += f;
      break;
    }
    case Kind::kString:
      repr_text(v.str, false, out);
      break;
    case Kind::kBytes:
      repr_text(v.str, true, out);
      break;
    case Kind::kList:
      out += "[";
      repr_seq(v.items, out, max_len, depth);
      out += "]";
      break;
    case Kind::kTuple:
      out += "(";
      repr_seq(v.items, out, max_len, depth);
      out += v.items.size() == 1 ? ",)" : ")";
      break;
    case Kind::kDict:
      out += "{";
      for (size_t k = 0; k < v.entries.size() && out.size() <= max_len; ++k) {
        if (k) out += ", ";
        repr_into(*v.entries[k].first, out, max_len, depth + 1);
        out += ": ";
        repr_into(*v.entries[k].second, out, max_len, depth + 1);
      }
      out += "}";
      break;
    case Kind::kTensor:
      out += v.tensor ? fmt::format("tensor({}, [{}])", v.tensor->dtype,
                                    fmt::join(v.tensor->shape, ", "))
                      : "tensor(?)";
      break;
    case Kind::kGlobal:
      out += v.str;
      break;
    case Kind::kObject: {
      out += v.str + "(";
      repr_seq(v.items, out, max_len, depth);
      const bool named = v.state && v.state->is(Kind::kDict);
      for (size_t k = 0; named && k < v.state->entries.size() && out.size() <= max_len; ++k) {
        const auto& [key, val] = v.state->entries[k];
        if (k || !v.items.empty()) out += ", ";
        key->is(Kind::kString) ? void(out += key->str) : repr_into(*key, out, max_len, depth + 1);
        out += "=";
        repr_into(*val, out, max_len, depth + 1);
      }
      if (v.state && !named) {
        out += v.items.empty() ? "state=" : ", state=";
        repr_into(*v.state, out, max_len, depth + 1);
      }
      out += ")";
      break;
    }
  }
  if (out.size() > max_len + 3) out.resize(max_len), out += "...";
}

bool key_matches(const PickleValue& k, const std::string& key) {
  return (k.is(Kind::kString) && k.str == key) || (k.is(Kind::kInt) && std::to_string(k.i) == key);
}

const PickleValue* find_entry(const PickleValue& d, const std::string& key) {
  for (const auto& [k, v] : d.entries) {
    if (key_matches(*k, key)) return v.get();
  }
  return nullptr;
}

std::string key_name(const PickleValue& k) {
  if (k.is(Kind::kString)) return k.str;
  if (k.is(Kind::kInt)) return std::to_string(k.i);
  return k.repr(60);
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

const PickleValue* walk(const PickleValue& v, const std::vector<std::string>& parts, size_t at) {
  if (at == parts.size()) return &v;
  for (size_t end = parts.size(); end > at; --end) {  // longest key first: keys contain dots
    std::string key = parts[at];
    for (size_t k = at + 1; k < end; ++k) key += "." + parts[k];
    if (const PickleValue* c = find(v, key)) {
      if (const PickleValue* r = walk(*c, parts, end)) return r;
    }
  }
  return nullptr;
}

// The walk of collect_tensors. Shared values (the memo) make a DAG that a small file can nest
// into 2^60 paths, and a shared tensor would be copied under each: both are bounded.
struct Collect {
  std::set<const PickleValue*> path;  // the values above the current one (cycles)
  std::set<const PickleValue*> emitted;
  uint64_t visits = 0, repeated_bytes = 0;
  static constexpr uint64_t kMaxVisits = 1 << 22, kMaxRepeatedBytes = uint64_t(1) << 30;
};

void collect(const PickleValue& v, const std::string& name, Collect& c,
             std::map<std::string, SafeTensor>& out) {
  TRELLIS_CHECK(++c.visits <= Collect::kMaxVisits, DataError,
                "values refer to shared values more than {} times (at '{}'); refused",
                Collect::kMaxVisits, name.substr(0, 200));
  if (v.is(Kind::kTensor)) {
    if (!v.tensor) return;
    if (!c.emitted.insert(&v).second) {
      c.repeated_bytes += v.tensor->data.size();
      TRELLIS_CHECK(c.repeated_bytes <= Collect::kMaxRepeatedBytes, DataError,
                    "shared tensors repeated under more than {} bytes of names (at '{}'); refused",
                    Collect::kMaxRepeatedBytes, name.substr(0, 200));
    }
    out.emplace(name, *v.tensor);
    return;
  }
  auto& path = c.path;
  if (!path.insert(&v).second) return;  // a cycle
  TRELLIS_CHECK(path.size() < 1000, DataError, "values nested deeper than 1000 levels at '{}'",
                name.substr(0, 200));
  auto entries = [&](const PickleValue& d) {
    for (const auto& [k, e] : d.entries) collect(*e, join(name, key_name(*k)), c, out);
  };
  auto elements = [&](const std::vector<PickleRef>& items, const std::string& prefix) {
    for (size_t k = 0; k < items.size(); ++k) {
      collect(*items[k], join(prefix, std::to_string(k)), c, out);
    }
  };
  if (v.is(Kind::kDict)) entries(v);
  if (v.is(Kind::kList) || v.is(Kind::kTuple)) elements(v.items, name);
  if (v.is(Kind::kObject)) {
    const PickleValue* s = v.state.get();
    if (s && s->is(Kind::kDict)) {
      entries(*s);
    } else if (s && s->is(Kind::kTuple) && s->items.size() == 2 &&
               (s->items[0]->is(Kind::kDict) || s->items[1]->is(Kind::kDict))) {
      for (const auto& part : s->items) entries(*part);  // (__dict__, slots)
    } else if (s) {
      collect(*s, name, c, out);
    }
    entries(v);
    elements(v.items, join(name, "__args__"));
  }
  path.erase(&v);
}

}  // namespace

PickleRef PickleValue::make(Kind k) {
  auto v = std::make_shared<PickleValue>();
  v->kind = k;
  return v;
}

PickleRef PickleValue::make_int(int64_t i) {
  auto v = make(Kind::kInt);
  v->i = i;
  return v;
}

PickleRef PickleValue::make_text(Kind k, std::string s) {
  auto v = make(k);
  v->str = std::move(s);
  return v;
}

PickleRef PickleValue::make_seq(Kind k, std::vector<PickleRef> items) {
  auto v = make(k);
  v->items = std::move(items);
  return v;
}

const char* PickleValue::kind_name() const {
  static const char* const names[] = {"None", "bool",  "int",  "int",    "float",  "str",   "bytes",
                                      "list", "tuple", "dict", "tensor", "global", "object"};
  return names[int(kind)];
}

bool PickleValue::as_bool() const {
  TRELLIS_CHECK(is(Kind::kBool), DataError, "expected a bool, found {}", repr(80));
  return b;
}

int64_t PickleValue::as_int() const {
  TRELLIS_CHECK(is(Kind::kInt), DataError, "expected an int, found {}", repr(80));
  return i;
}

double PickleValue::as_double() const {
  TRELLIS_CHECK(is(Kind::kFloat) || is(Kind::kInt), DataError, "expected a float, found {}",
                repr(80));
  return is(Kind::kInt) ? double(i) : f;
}

const std::string& PickleValue::as_string() const {
  TRELLIS_CHECK(is(Kind::kString), DataError, "expected a str, found {}", repr(80));
  return str;
}

std::string PickleValue::repr(size_t max_len) const {
  std::string out;
  repr_into(*this, out, max_len, 0);
  return out;
}

const PickleValue* find(const PickleValue& v, const std::string& key) {
  if (v.is(Kind::kDict)) return find_entry(v, key);
  if (v.is(Kind::kList) || v.is(Kind::kTuple)) {
    if (key.empty() || key.size() > 18 || key.find_first_not_of("0123456789") != key.npos) {
      return nullptr;
    }
    const size_t k = std::stoull(key);
    return k < v.items.size() ? v.items[k].get() : nullptr;
  }
  if (!v.is(Kind::kObject) && !v.is(Kind::kTensor)) return nullptr;
  if (const PickleValue* s = v.state.get()) {
    if (s->is(Kind::kDict)) {
      if (const PickleValue* r = find_entry(*s, key)) return r;
    } else if (s->is(Kind::kTuple) && s->items.size() == 2) {  // (__dict__, slots)
      for (const auto& part : s->items) {
        if (const PickleValue* r = find_entry(*part, key)) return r;
      }
    }
  }
  return find_entry(v, key);
}

const PickleValue* find_path(const PickleValue& v, const std::string& dotted) {
  if (dotted.empty()) return &v;
  std::vector<std::string> parts;
  for (size_t a = 0, b; a <= dotted.size(); a = b + 1) {
    b = dotted.find('.', a);
    if (b == std::string::npos) b = dotted.size();
    parts.push_back(dotted.substr(a, b - a));
  }
  return walk(v, parts, 0);
}

std::map<std::string, SafeTensor> collect_tensors(const PickleValue& v) {
  std::map<std::string, SafeTensor> out;
  Collect c;
  collect(v, "", c, out);
  return out;
}

}  // namespace trellis
