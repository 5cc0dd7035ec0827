// TorchPickleFile (core/io/torch_pickle.h): the zip and legacy containers of torch.save.

#include "core/io/torch_pickle.h"

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "core/io/torch_storage.h"
#include "core/io/zip_archive.h"
#include "core/error.h"

namespace trellis {
namespace {

using Kind = PickleValue::Kind;

// Releases the pickles it holds when it goes (cycles would leak), except the one kept.
struct Released {
  std::vector<PickleRef> values;
  PickleRef keep;
  ~Released() {
    for (const PickleRef& v : values) {
      if (v != keep) release_pickle(v);
    }
  }
};

// zip (torch >= 1.6): <top>/data.pkl, <top>/data/<key> per storage, <top>/byteorder (torch >= 2.1).
PickleRef load_zip(const std::string& path, const std::vector<std::string>& extra) {
  const std::vector<ZipEntry> entries = list_zip(path);
  const ZipEntry* pkl = nullptr;
  std::map<std::string, const ZipEntry*> by_name;
  for (const ZipEntry& e : entries) {
    by_name[e.name] = &e;
    const bool is_pkl =
        e.name == "data.pkl" ||
        (e.name.size() > 9 && e.name.compare(e.name.size() - 9, 9, "/data.pkl") == 0);
    if (is_pkl && (!pkl || e.name.size() < pkl->name.size())) pkl = &e;
  }
  TRELLIS_CHECK(pkl, DataError, "{}: zip archive without a data.pkl entry: not a torch.save file",
                path);
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);
  const std::vector<uint8_t> bytes = read_byte_range(path, pkl->offset, pkl->size);
  pickle_detail::TorchLoader loader(path);
  Released held;
  PickleRef root =
      unpickle(bytes.data(), bytes.size(), path + ":" + pkl->name, loader.hooks(extra));
  held.values.push_back(root);
  bool big_endian = false;
  if (auto it = by_name.find(prefix + "byteorder"); it != by_name.end()) {
    auto b = read_byte_range(path, it->second->offset, it->second->size);
    big_endian = std::string(b.begin(), b.end()) == "big";
  }
  loader.materialise(
      [&](const std::string& key, pickle_detail::TorchStorage& s) {
        const std::string name = prefix + "data/" + key;
        auto it = by_name.find(name);
        TRELLIS_CHECK(it != by_name.end(), DataError, "{}: no entry '{}' for storage '{}'", path,
                      name, key);
        s.bytes = read_byte_range(path, it->second->offset, it->second->size);
      },
      big_endian);
  held.keep = root;
  return root;
}

// Legacy: pickles of the magic number, the protocol version (1001), sys_info, the object and
// the storage keys; then per storage in key order an int64 element count and the raw data.
PickleRef load_legacy(const std::string& path, const std::vector<uint8_t>& d,
                      const std::vector<std::string>& extra) {
  size_t pos = 0;
  Released held;
  auto next = [&](const char* what, const PickleHooks& hooks) {
    size_t used = 0;
    PickleRef v =
        unpickle(d.data() + pos, d.size() - pos,
                 fmt::format("{} ({} pickle from byte {})", path, what, pos), hooks, &used);
    pos += used;
    held.values.push_back(v);
    return v;
  };
  static const char kMagic[] =
      "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";  // 0x1950a86a20f9469cfc6c
  PickleRef magic = next("magic number", {});
  TRELLIS_CHECK(magic->is(Kind::kBigInt) && magic->str == std::string(kMagic, 10), DataError,
                "{}: not a torch.save file (a pickle without torch's magic number)", path);
  PickleRef version = next("protocol version", {});
  TRELLIS_CHECK(version->is(Kind::kInt) && version->i == 1001, DataError,
                "{}: unsupported torch.save legacy protocol version {}", path, version->repr(40));
  PickleRef sys_info = next("sys_info", {});
  const PickleValue* little = find(*sys_info, "little_endian");
  pickle_detail::TorchLoader loader(path);
  PickleRef root = next("object", loader.hooks(extra));
  PickleRef keys = next("storage keys", {});
  TRELLIS_CHECK(keys->is(Kind::kList), DataError, "{}: storage key list is {}", path,
                keys->repr(60));
  std::set<std::string> present;
  for (const PickleRef& k : keys->items) {  // each: int64 element count, then the data
    const std::string key = pickle_detail::key_text(*k);
    pickle_detail::TorchStorage* s = loader.storage(key);
    TRELLIS_CHECK(s, DataError, "{}: storage '{}' is listed but no tensor uses it", path, key);
    uint64_t n = 0, bytes = 0;
    if (pos + 8 <= d.size()) std::memcpy(&n, d.data() + pos, 8);
    TRELLIS_CHECK(pos + 8 <= d.size() && !__builtin_mul_overflow(n, s->elem, &bytes) &&
                      bytes <= d.size() - pos - 8,
                  DataError, "{}: truncated: storage '{}' at byte {} runs past the end ({} bytes)",
                  path, key, pos, d.size());
    s->bytes.assign(d.begin() + long(pos + 8), d.begin() + long(pos + 8 + bytes));
    present.insert(key);
    pos += 8 + bytes;
  }
  loader.materialise(
      [&](const std::string& key, pickle_detail::TorchStorage&) {
        TRELLIS_CHECK(present.count(key), DataError, "{}: storage '{}' missing from the data", path,
                      key);
      },
      little && little->is(Kind::kBool) && !little->b);
  held.keep = root;
  return root;
}

}  // namespace

void release_pickle(const PickleRef& v) {
  std::vector<PickleRef> todo{v}, all;
  std::set<const PickleValue*> seen;
  while (!todo.empty()) {
    PickleRef x = std::move(todo.back());
    todo.pop_back();
    if (!x || !seen.insert(x.get()).second) continue;
    todo.insert(todo.end(), x->items.begin(), x->items.end());
    for (const auto& [k, e] : x->entries) todo.push_back(k), todo.push_back(e);
    todo.push_back(x->state);
    all.push_back(std::move(x));
  }
  for (const PickleRef& x : all) x->items.clear(), x->entries.clear(), x->state.reset();
}

TorchPickleFile::TorchPickleFile(const std::string& path, const std::vector<std::string>& extra)
    : path_(path) {
  std::ifstream in(path, std::ios::binary);
  TRELLIS_CHECK(in, DataError, "{}: cannot open torch checkpoint", path);
  char head[512] = {};
  in.read(head, sizeof(head));
  const size_t n = size_t(in.gcount());
  if (n >= 4 && head[0] == 'P' && head[1] == 'K') {
    root_ = load_zip(path, extra);
  } else if (n > 262 && std::memcmp(head + 257, "ustar", 5) == 0) {
    throw DataError(
        fmt::format("{}: tar-format torch checkpoint (torch < 0.4): unsupported", path));
  } else if (n > 0 && uint8_t(head[0]) == 0x80) {
    in.clear();
    in.seekg(0);
    root_ = load_legacy(path, {std::istreambuf_iterator<char>(in), {}}, extra);
  } else {
    throw DataError(
        fmt::format("{}: not a torch.save file (neither a zip archive nor a pickle)", path));
  }
}

TorchPickleFile::~TorchPickleFile() {
  if (root_ && root_.use_count() == 1) release_pickle(root_);
}

const PickleValue* TorchPickleFile::find(const std::string& dotted) const {
  return find_path(*root_, dotted);
}

const PickleValue& TorchPickleFile::at(const std::string& dotted) const {
  const PickleValue* v = find(dotted);
  TRELLIS_CHECK(v, DataError, "{}: no entry '{}'", path_, dotted);
  return *v;
}

namespace {

template <class Get>
auto typed(const TorchPickleFile& f, const std::string& dotted, Get get) {
  const PickleValue& v = f.at(dotted);
  try {
    return get(v);
  } catch (const DataError& e) {
    throw DataError(fmt::format("{}: '{}': {}", f.path(), dotted, e.what()));
  }
}

}  // namespace

const std::string& TorchPickleFile::get_string(const std::string& dotted) const {
  return *typed(*this, dotted, [](const PickleValue& v) { return &v.as_string(); });
}
int64_t TorchPickleFile::get_int(const std::string& dotted) const {
  return typed(*this, dotted, [](const PickleValue& v) { return v.as_int(); });
}
double TorchPickleFile::get_double(const std::string& dotted) const {
  return typed(*this, dotted, [](const PickleValue& v) { return v.as_double(); });
}
bool TorchPickleFile::get_bool(const std::string& dotted) const {
  return typed(*this, dotted, [](const PickleValue& v) { return v.as_bool(); });
}

std::map<std::string, SafeTensor> TorchPickleFile::tensors(const std::string& under) const {
  try {
    return collect_tensors(at(under));
  } catch (const DataError& e) {
    throw DataError(fmt::format("{}: {}", path_, e.what()));
  }
}

}  // namespace trellis
