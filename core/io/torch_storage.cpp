// TorchLoader (core/io/torch_storage.h): torch storages, the _rebuild_* functions of
// torch.save pickles, and strided copies of tensors out of their storages.

#include "core/io/torch_storage.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace trellis::pickle_detail {

using Kind = PickleValue::Kind;

std::string key_text(const PickleValue& k) {
  return k.is(Kind::kInt) ? std::to_string(k.i) : k.is(Kind::kString) ? k.str : k.repr(60);
}

PickleHooks TorchLoader::hooks(const std::vector<std::string>& extra_globals) {
  PickleHooks h;
  h.extra_globals = extra_globals;
  h.persistent_load = [this](const PickleRef& pid) { return persistent_load(pid); };
  h.call = [this](const std::string& g, const PickleRef& args) { return call(g, args); };
  return h;
}

TorchStorage* TorchLoader::storage(const std::string& key) {
  auto it = storages_.find(key);
  return it == storages_.end() ? nullptr : &it->second;
}

// ('storage', torch.FloatStorage, key, location, numel[, view_metadata]) -> a storage handle:
// an object of the storage class with args (key, element offset).
PickleRef TorchLoader::persistent_load(const PickleRef& pid) {
  const auto& it = pid->items;
  if (!pid->is(Kind::kTuple) || it.size() < 5 || !it[0]->is(Kind::kString) ||
      it[0]->str != "storage" || !it[1]->is(Kind::kGlobal)) {
    throw DataError(fmt::format("{}: unsupported persistent id {}", path_, pid->repr(120)));
  }
  static const std::map<std::string, std::pair<const char*, size_t>> kTypes = {
      {"FloatStorage", {"F32", 4}},     {"DoubleStorage", {"F64", 8}}, {"HalfStorage", {"F16", 2}},
      {"BFloat16Storage", {"BF16", 2}}, {"LongStorage", {"I64", 8}},   {"IntStorage", {"I32", 4}},
      {"ShortStorage", {"I16", 2}},     {"CharStorage", {"I8", 1}},    {"ByteStorage", {"U8", 1}},
      {"BoolStorage", {"BOOL", 1}},     {"UntypedStorage", {"U8", 1}}};
  const std::string& type = it[1]->str;  // torch.FloatStorage, torch.cuda.FloatStorage
  const std::string key = key_text(*it[2]);
  auto t = kTypes.find(type.substr(type.rfind('.') + 1));
  if (t == kTypes.end()) {
    throw DataError(fmt::format("{}: storage '{}' has unsupported type {}", path_, key, type));
  }
  TorchStorage& s = storages_[key];
  if (s.dtype.empty()) s.dtype = t->second.first, s.elem = t->second.second;
  if (it[4]->is(Kind::kInt)) {
    if (it[4]->i < 0) {
      throw DataError(fmt::format("{}: storage '{}' claims {} elements", path_, key, it[4]->i));
    }
    s.declared = std::max(s.declared, it[4]->i);
  }
  int64_t offset = 0;  // legacy storage views: (view_key, offset, size)
  if (it.size() > 5 && it[5]->is(Kind::kTuple) && it[5]->items.size() == 3 &&
      it[5]->items[1]->is(Kind::kInt)) {
    offset = it[5]->items[1]->i;
    if (offset < 0) {
      throw DataError(fmt::format("{}: storage view of '{}' at offset {}", path_, key, offset));
    }
  }
  auto handle = PickleValue::make_text(Kind::kObject, type);
  handle->items = {PickleValue::make_text(Kind::kString, key), PickleValue::make_int(offset)};
  return handle;
}

PickleRef TorchLoader::call(const std::string& g, const PickleRef& args) {
  const auto& a = args->items;
  if (g == "torch._utils._rebuild_tensor_v2" || g == "torch._utils._rebuild_tensor") {
    return rebuild(a);
  }
  if (g == "torch._utils._rebuild_parameter" || g == "torch._utils._rebuild_parameter_with_state") {
    if (a.empty() || !a[0]->is(Kind::kTensor)) return nullptr;
    if (a.size() > 3 && !a[3]->is(Kind::kNone)) a[0]->state = a[3];  // the attributes
    return a[0];
  }
  if (g == "torch._tensor._rebuild_from_type_v2" || g == "torch._utils._rebuild_from_type") {
    // (func, subclass, args, state): the tensor func(*args) makes; the subclass is dropped.
    if (a.size() < 3 || !a[0]->is(Kind::kGlobal) || !a[2]->is(Kind::kTuple)) return nullptr;
    PickleRef r = call(a[0]->str, a[2]);
    if (r && r->is(Kind::kTensor) && a.size() > 3 && !a[3]->entries.empty()) r->state = a[3];
    return r;
  }
  if (g == "torch.Size" && a.size() == 1 && (a[0]->is(Kind::kTuple) || a[0]->is(Kind::kList))) {
    return PickleValue::make_seq(Kind::kTuple, a[0]->items);
  }
  return nullptr;
}

std::vector<int64_t> TorchLoader::ints(const PickleValue& v, const char* what) const {
  if (!v.is(Kind::kTuple) && !v.is(Kind::kList)) {
    throw DataError(fmt::format("{}: tensor {} is not a tuple: {}", path_, what, v.repr(80)));
  }
  std::vector<int64_t> out;
  for (const auto& x : v.items) {
    if (!x->is(Kind::kInt) || x->i < 0) {
      throw DataError(fmt::format("{}: bad tensor {} {}", path_, what, v.repr(80)));
    }
    out.push_back(x->i);
  }
  return out;
}

// _rebuild_tensor[_v2](storage, storage_offset, size, stride, ...) -> a tensor filled later.
PickleRef TorchLoader::rebuild(const std::vector<PickleRef>& a) {
  if (a.size() < 4 || !a[0]->is(Kind::kObject) || a[0]->items.size() != 2 ||
      !storage(a[0]->items[0]->str) || !a[1]->is(Kind::kInt) || a[1]->i < 0) {
    throw DataError(fmt::format("{}: bad tensor arguments {}", path_,
                                PickleValue::make_seq(Kind::kTuple, a)->repr(160)));
  }
  int64_t offset = 0;
  if (!a[0]->items[1]->is(Kind::kInt) ||
      __builtin_add_overflow(a[0]->items[1]->i, a[1]->i, &offset)) {
    throw DataError(fmt::format("{}: bad tensor storage offset {}", path_, a[1]->i));
  }
  Pending p{PickleValue::make(Kind::kTensor), a[0]->items[0]->str, offset, ints(*a[2], "size"),
            ints(*a[3], "stride")};
  if (p.size.size() != p.stride.size()) {
    throw DataError(fmt::format("{}: tensor size {} and stride {} differ in rank", path_,
                                a[2]->repr(80), a[3]->repr(80)));
  }
  pending_.push_back(p);
  return p.node;
}

// Copies the elements p.size / p.stride / p.offset select from `from` to `to` in C order, a run
// at a time along the last dimension when it is contiguous. e: bytes per element.
void TorchLoader::strided_copy(const uint8_t* from, size_t e, const Pending& p, uint64_t numel,
                               uint8_t* to) {
  const size_t rank = p.size.size();
  const bool runs = rank > 0 && p.stride[rank - 1] == 1;
  const uint64_t run = runs ? uint64_t(p.size[rank - 1]) : 1;
  const size_t outer = runs ? rank - 1 : rank;
  std::vector<int64_t> idx(outer, 0);
  uint64_t src = uint64_t(p.offset);
  for (uint64_t dst = 0; dst < numel; dst += run) {
    std::memcpy(to + dst * e, from + src * e, run * e);
    for (size_t d = outer; d-- > 0;) {
      if (++idx[d] < p.size[d]) {
        src += uint64_t(p.stride[d]);
        break;
      }
      src -= uint64_t((p.size[d] - 1) * p.stride[d]);
      idx[d] = 0;
    }
  }
}

void TorchLoader::materialise(const std::function<void(const std::string&, TorchStorage&)>& read,
                              bool big_endian) {
  std::map<std::string, size_t> uses;
  for (const Pending& p : pending_) ++uses[p.key];
  for (const Pending& p : pending_) {
    TorchStorage& s = storages_.at(p.key);
    if (!s.loaded) {
      read(p.key, s);
      s.loaded = true;
      uint64_t claimed = 0;
      if (s.declared >= 0 && (__builtin_mul_overflow(uint64_t(s.declared), s.elem, &claimed) ||
                              claimed > s.bytes.size())) {
        throw DataError(fmt::format(
            "{}: storage '{}' claims {} elements of {} bytes, but the file holds {} bytes for it",
            path_, p.key, s.declared, s.elem, s.bytes.size()));
      }
      for (size_t k = 0; big_endian && k + s.elem <= s.bytes.size(); k += s.elem) {
        std::reverse(s.bytes.begin() + long(k), s.bytes.begin() + long(k + s.elem));
      }
    }
    const size_t e = s.elem;
    uint64_t numel = 1, last = uint64_t(p.offset), dense = 1;  // last: highest element used
    bool overflow = false, contiguous = true;
    for (size_t d = p.size.size(); d-- > 0;) {
      uint64_t span = 0;
      contiguous &= p.size[d] == 1 || uint64_t(p.stride[d]) == dense;
      dense *= uint64_t(p.size[d]);
      overflow |= __builtin_mul_overflow(numel, uint64_t(p.size[d]), &numel);
      if (p.size[d] > 0) {
        overflow |= __builtin_mul_overflow(uint64_t(p.size[d] - 1), uint64_t(p.stride[d]), &span);
      }
      overflow |= __builtin_add_overflow(last, span, &last);
    }
    if (overflow || (numel > 0 && last >= s.bytes.size() / e)) {
      throw DataError(fmt::format(
          "{}: tensor of size [{}], stride [{}], offset {} lies outside storage '{}' ({} elements)",
          path_, fmt::join(p.size, ", "), fmt::join(p.stride, ", "), p.offset, p.key,
          s.bytes.size() / e));
    }
    uint64_t out_bytes = 0;  // numel * e, no overflow: last < storage elements when numel > 0
    overflow |= __builtin_mul_overflow(numel, uint64_t(e), &out_bytes);
    if (overflow || (out_bytes > s.bytes.size() && out_bytes > kMaxExpandedBytes)) {
      throw DataError(fmt::format(
          "{}: tensor of size [{}], stride [{}] repeats the elements of storage '{}' ({} bytes) "
          "into more than {} bytes; refused",
          path_, fmt::join(p.size, ", "), fmt::join(p.stride, ", "), p.key, s.bytes.size(),
          kMaxExpandedBytes));
    }
    auto t = std::make_shared<SafeTensor>();
    t->dtype = s.dtype;
    t->shape = p.size;
    const bool last_use = --uses[p.key] == 0;
    if (last_use && contiguous && p.offset == 0 && numel * e == s.bytes.size()) {
      t->data = std::move(s.bytes);  // the whole storage, in order
    } else {
      t->data.resize(numel * e);
      strided_copy(s.bytes.data(), e, p, numel, t->data.data());
    }
    if (last_use) std::vector<uint8_t>().swap(s.bytes);
    p.node->tensor = std::move(t);
  }
}

}  // namespace trellis::pickle_detail
