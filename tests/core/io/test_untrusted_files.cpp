// Untrusted files (issue 20): crafted pickles, torch.save zips, safetensors, zips, .npy and tar
// files built here byte by byte. Each must give a DataError naming the file and what is wrong,
// never execute anything, and never allocate what the file merely claims (a 1 TB claim that
// were allocated would end in std::bad_alloc, which these checks tell from a DataError).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "core/io/npy.h"
#include "core/io/safetensors.h"
#include "core/io/tar_reader.h"
#include "core/io/torch_pickle.h"
#include "core/io/zip_archive.h"

namespace fs = std::filesystem;
using namespace trellis;
using Catch::Matchers::Contains;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("trellis_test_untrusted_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string le(uint64_t v, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) s += char(v >> (8 * k));
  return s;
}

// Protocol 2 pickle pieces.
std::string str(const std::string& s) { return "X" + le(s.size(), 4) + s; }
std::string long8(uint64_t v) { return "\x8a\x08" + le(v, 8); }  // LONG1 of 8 bytes
std::string global(const std::string& m, const std::string& n) { return "c" + m + "\n" + n + "\n"; }

// torch.save's data.pkl for {"w": tensor}: storage '0' of `numel` floats, viewed with size and
// stride (each one dimension) at storage offset `offset`.
std::string tensor_pickle(uint64_t numel, uint64_t size, uint64_t stride, uint64_t offset = 0) {
  return "\x80\x02}" + str("w") + global("torch._utils", "_rebuild_tensor_v2") + "(" +
         "(" + str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") +
         long8(numel) + "tQ" + long8(offset) + "(" + long8(size) + "t(" + long8(stride) + "t\x89" +
         global("collections", "OrderedDict") + ")RtRs.";
}

// A torch.save zip: archive/data.pkl and archive/data/0 holding `data`.
void write_torch_zip(const fs::path& p, const std::string& pkl, const std::string& data) {
  ZipWriter w(p.string());
  w.add("archive/data.pkl", reinterpret_cast<const uint8_t*>(pkl.data()), pkl.size());
  w.add("archive/data/0", reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

PickleRef unpickle_text(const std::string& p, const std::string& where) {
  return unpickle(reinterpret_cast<const uint8_t*>(p.data()), p.size(), where);
}

}  // namespace

TEST_CASE("untrusted pickle: unknown globals are refused by name, nothing runs",
          "[unit][untrusted][torch_pickle]") {
  // pickle.dumps(posix.system('ls')) as os.system pickles on Linux, protocol 2
  const std::string posix = "\x80\x02" + global("posix", "system") + str("touch pwned") + "\x85R.";
  CHECK_THROWS_AS(unpickle_text(posix, "evil.pkl"), DataError);
  CHECK_THROWS_WITH(unpickle_text(posix, "evil.pkl"),
                    Contains("evil.pkl") && Contains("'posix.system'") && Contains("refused"));
  CHECK_FALSE(fs::exists("pwned"));
  // os.system through STACK_GLOBAL (protocol 4) and builtins.eval through Python 2's name
  const std::string os4 = "\x80\x04\x8c\x02os\x8c\x06system\x93" + str("id") + "\x85R.";
  CHECK_THROWS_WITH(unpickle_text(os4, "evil4.pkl"), Contains("evil4.pkl") && Contains("os.system"));
  const std::string eval = "\x80\x02" + global("__builtin__", "eval") + str("1+1") + "\x85R.";
  CHECK_THROWS_WITH(unpickle_text(eval, "e.pkl"), Contains("'builtins.eval'"));
  // getattr(dict, 'fromkeys') names a new global, which is checked too
  const std::string ga = "\x80\x02" + global("builtins", "getattr") + global("builtins", "dict") +
                         str("fromkeys") + "\x86R.";
  CHECK_THROWS_WITH(unpickle_text(ga, "g.pkl"), Contains("'builtins.dict.fromkeys'"));
  // a pickled nn.Module gets a hint; INST (protocol 0) is checked as well
  const std::string module = "\x80\x02" + global("torch.nn.modules.linear", "Linear") + ")\x81.";
  CHECK_THROWS_WITH(unpickle_text(module, "m.pt"),
                    Contains("torch.nn.modules.linear.Linear") && Contains("state_dict()"));
  CHECK_THROWS_WITH(unpickle_text("(S'ls'\nisubprocess\ncall\n.", "p0.pkl"),
                    Contains("'subprocess.call'"));
  // known globals still work, and a caller may accept more
  const std::string od = "\x80\x02" + global("collections", "OrderedDict") + ")R.";
  PickleRef v = unpickle_text(od, "ok.pkl");
  CHECK(v->is(PickleValue::Kind::kDict));
  const std::string user = "\x80\x02" + global("__main__", "Thing") + ")\x81.";
  CHECK_THROWS_WITH(unpickle_text(user, "u.pkl"), Contains("'__main__.Thing'"));
  PickleHooks allow;
  allow.extra_globals = {"__main__."};
  PickleRef thing =
      unpickle(reinterpret_cast<const uint8_t*>(user.data()), user.size(), "u.pkl", allow);
  CHECK(thing->str == "__main__.Thing");
  allow.extra_globals = {"__main__.Other"};
  CHECK_THROWS_AS(
      unpickle(reinterpret_cast<const uint8_t*>(user.data()), user.size(), "u.pkl", allow),
      DataError);
  CHECK(pickle_global_known("torch._utils._rebuild_tensor_v2"));
  CHECK(pickle_global_known("torch.cuda.HalfStorage"));
  CHECK(pickle_global_known("omegaconf.dictconfig.DictConfig"));
  CHECK_FALSE(pickle_global_known("torch.load"));
  CHECK_FALSE(pickle_global_known("torch.FloatStorageX"));
  CHECK_FALSE(pickle_global_known("nt.system"));
}

TEST_CASE("untrusted torch.save zip: sizes claimed beyond the file are refused",
          "[unit][untrusted][torch_pickle]") {
  const fs::path dir = temp_dir();
  const std::string four(16, '\0');  // 4 floats
  const fs::path ok = dir / "ok.pt", big = dir / "big.pt";

  write_torch_zip(ok, tensor_pickle(4, 4, 1), four);
  CHECK(TorchPickleFile(ok.string()).tensors().at("w").shape == std::vector<int64_t>{4});

  const uint64_t tera = uint64_t(1) << 40;  // 2^40 floats: 4 TiB
  write_torch_zip(big, tensor_pickle(4, tera, 1), four);
  CHECK(fs::file_size(big) < 1000);
  CHECK_THROWS_AS(TorchPickleFile(big.string()), DataError);
  CHECK_THROWS_WITH(TorchPickleFile(big.string()),
                    Contains(big.string()) && Contains("outside storage '0'"));
  // stride 0 repeats one element 2^40 times: within the storage, yet 4 TiB to materialise
  write_torch_zip(big, tensor_pickle(4, tera, 0), four);
  CHECK_THROWS_WITH(TorchPickleFile(big.string()), Contains(big.string()) && Contains("repeats"));
  // the persistent id claims more elements than the entry holds
  write_torch_zip(big, tensor_pickle(tera, 4, 1), four);
  CHECK_THROWS_WITH(TorchPickleFile(big.string()),
                    Contains(big.string()) && Contains("claims 1099511627776 elements"));
  // an offset past the storage, and one that overflows int64 with the view offset
  write_torch_zip(big, tensor_pickle(4, 2, 1, 3), four);
  CHECK_THROWS_WITH(TorchPickleFile(big.string()), Contains("outside storage"));
  write_torch_zip(big, tensor_pickle(4, 1, 1, uint64_t(INT64_MAX)), four);
  CHECK_THROWS_AS(TorchPickleFile(big.string()), DataError);
  // a global no checkpoint needs, inside a real torch.save container
  write_torch_zip(big, "\x80\x02" + global("posix", "system") + str("ls") + "\x85R.", four);
  CHECK_THROWS_WITH(TorchPickleFile(big.string()),
                    Contains(big.string()) && Contains("'posix.system'"));
  fs::remove_all(dir);
}

TEST_CASE("untrusted legacy torch.save: storage counts are checked against the file",
          "[unit][untrusted][torch_pickle]") {
  const fs::path dir = temp_dir();
  const fs::path p = dir / "legacy.pt";
  const std::string magic = "\x80\x02\x8a\x0a" + std::string("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10) + ".";
  const std::string head = magic + "\x80\x02M\xe9\x03." + "\x80\x02}.";
  const std::string keys = "\x80\x02]" + str("0") + "a.";
  // the object pickle of tensor_pickle() with the storage key list, then 2^40 claimed floats
  write_file(p, head + tensor_pickle(4, 4, 1) + keys + le(uint64_t(1) << 40, 8) + "abcd");
  CHECK_THROWS_WITH(TorchPickleFile(p.string()), Contains(p.string()) && Contains("runs past"));
  fs::remove_all(dir);
}

TEST_CASE("untrusted safetensors: header length, dtype, shape and offsets",
          "[unit][untrusted][safetensors]") {
  const fs::path dir = temp_dir();
  const fs::path p = dir / "x.safetensors";
  auto write_st = [&](const std::string& header, const std::string& data) {
    write_file(p, le(header.size(), 8) + header + data);
  };
  auto fails_with = [&](const std::string& what) {
    CHECK_THROWS_AS(SafeTensorsFile(p.string()), DataError);
    CHECK_THROWS_WITH(SafeTensorsFile(p.string()), Contains(p.string()) && Contains(what));
  };
  write_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0'));
  CHECK(SafeTensorsFile(p.string()).get("a").shape == std::vector<int64_t>{2});

  write_file(p, le(uint64_t(1) << 40, 8) + "{}");  // a 1 TB header in a 10-byte file
  fails_with("header length 1099511627776");
  write_st(R"({"a":{"dtype":"F32","shape":[1099511627776],"data_offsets":[0,4398046511104]}})",
           std::string(8, '\0'));
  fails_with("past the end of the data");
  write_st(R"({"a":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})", "");
  fails_with("overflows");
  write_st(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, '\0'));
  fails_with("bad shape");
  write_st(R"({"a":{"dtype":"F32","shape":2,"data_offsets":[0,8]}})", std::string(8, '\0'));
  fails_with("not a list");
  write_st(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0'));
  fails_with("unsupported safetensors dtype 'Q7'");
  write_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", std::string(8, '\0'));
  fails_with("data_offsets");
  write_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
           std::string(12, '\0'));
  fails_with("overlap");
  write_st(R"([1, 2])", "");
  fails_with("not a JSON object");
  write_st(R"({"__metadata__": 5})", "");
  fails_with("__metadata__");
  write_st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", std::string(8, '\0'));
  fails_with("malformed safetensors header");
  fs::remove_all(dir);
}

TEST_CASE("untrusted zip: directory entries are checked against the file",
          "[unit][untrusted][zip]") {
  const fs::path dir = temp_dir();
  const fs::path p = dir / "a.zip";
  {
    ZipWriter w(p.string());
    w.add("x.npy", std::vector<uint8_t>(10, 7));
  }
  const std::string good = read_all(p);
  const size_t cd = good.find("PK\x01\x02");
  REQUIRE(cd != std::string::npos);
  auto patched = [&](size_t at, const std::string& bytes) {
    std::string b = good;
    b.replace(cd + at, bytes.size(), bytes);
    write_file(p, b);
  };
  patched(20, le(0xfffffff0u, 4) + le(0xfffffff0u, 4));  // sizes of 4 GiB in a 150-byte file
  CHECK_THROWS_WITH(list_zip(p.string()), Contains(p.string()) && Contains("past the end"));
  patched(24, le(0xfffffff0u, 4));  // usize != csize for a stored entry
  CHECK_THROWS_WITH(list_zip(p.string()), Contains("claims 4294967280 bytes"));
  patched(42, le(0x7ffffff0u, 4));  // local header offset beyond the file
  CHECK_THROWS_WITH(list_zip(p.string()), Contains(p.string()) && Contains("truncated"));
  patched(28, le(0xffff, 2));  // name length beyond the directory
  CHECK_THROWS_WITH(list_zip(p.string()), Contains("corrupt central directory"));
  {  // an extra field whose length runs past the record's extra area
    std::string b = good;
    b.replace(cd + 30, 2, le(4, 2));  // extra length 4 ...
    b.insert(cd + 46 + 5, "\x01\x00\xff\x00");  // ... holding a ZIP64 field claiming 255 bytes
    const size_t eocd = b.rfind("PK\x05\x06");
    b.replace(eocd + 12, 4, le(46 + 5 + 4, 4));  // the directory grew by 4 bytes
    write_file(p, b);
    CHECK_THROWS_WITH(list_zip(p.string()), Contains("corrupt extra field"));
  }
  CHECK_THROWS_WITH(read_byte_range(p.string(), 5, uint64_t(1) << 40),
                    Contains(p.string()) && Contains("outside the file"));
  fs::remove_all(dir);
}

TEST_CASE("untrusted .npy: the shape is checked against the data before allocating",
          "[unit][untrusted][npy]") {
  auto npy = [](const std::string& shape) {
    std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    std::string f = std::string("\x93NUMPY\x01\x00", 8) + char(h.size()) + '\0' + h + "abcdefgh";
    return std::vector<uint8_t>(f.begin(), f.end());
  };
  auto tb = npy("(1099511627776,)");
  CHECK_THROWS_WITH(decode_npy(tb.data(), tb.size(), "tb.npy"),
                    Contains("tb.npy") && Contains("truncated .npy data"));
  auto wrap = npy("(4294967296, 4294967296, 16)");  // 2^68 values: the count overflows
  CHECK_THROWS_WITH(decode_npy(wrap.data(), wrap.size(), "w.npy"), Contains("more than 2^64"));
  auto two = npy("(2,)");
  CHECK(decode_npy(two.data(), two.size(), "two.npy").data.size() == 2);
}

TEST_CASE("untrusted tar: a member claiming 8 GiB is read as far as the data goes",
          "[unit][untrusted][tar]") {
  const fs::path dir = temp_dir();
  const fs::path p = dir / "m.nemo";
  write_tar(p.string(), {{"./model_config.yaml", "a: 1\n"}});
  std::string b = read_all(p);
  REQUIRE(b.size() >= 512);
  b.replace(124, 12, std::string("77777777777") + '\0');  // size field: 8 GiB - 1
  unsigned sum = 0;  // header checksum: the 512 bytes with the checksum field as spaces
  b.replace(148, 8, std::string(8, ' '));
  for (int k = 0; k < 512; ++k) sum += uint8_t(b[k]);
  char field[8];
  std::snprintf(field, sizeof field, "%06o", sum);
  b.replace(148, 8, std::string(field, 6) + '\0' + ' ');
  write_file(p, b);
  auto read = [&] {
    TarReader r(p.string());
    while (r.next()) r.read_all();
  };
  CHECK_THROWS_AS(read(), DataError);
  CHECK_THROWS_WITH(read(), Contains(p.string()));
  fs::remove_all(dir);
}

TEST_CASE("untrusted tar: a compressed member expanding past the limit is refused",
          "[unit][untrusted][tar]") {
  const fs::path dir = temp_dir();
  const fs::path p = dir / "bomb.nemo";
  write_tar(p.string(), {{"./model_config.yaml", std::string(3 << 20, ' ')}},
            TarCompression::kGzip);
  CHECK(fs::file_size(p) < 100000);  // 3 MiB of spaces compress to a few KiB
  TarReader r(p.string());
  REQUIRE(r.next());
  CHECK_THROWS_WITH(r.read_all(1 << 20), Contains(p.string()) && Contains("model_config.yaml") &&
                                             Contains("larger than 1048576 bytes"));
  TarReader again(p.string());
  REQUIRE(again.next());
  CHECK(again.read_all().size() == size_t(3) << 20);
  fs::remove_all(dir);
}

TEST_CASE("untrusted pickle: shared values nested into 2^60 paths are refused, not walked",
          "[unit][untrusted][torch_pickle]") {
  std::string p = "\x80\x02]q" + le(0, 1) + "0";  // L0 = [], memo 0
  for (uint32_t k = 1; k <= 60; ++k) {            // Lk = [Lk-1, Lk-1], memo k
    p += "(h" + le(k - 1, 1) + "h" + le(k - 1, 1) + "lq" + le(k, 1) + "0";
  }
  p += "h" + le(60, 1) + ".";
  CHECK(p.size() < 1000);
  PickleRef v = unpickle_text(p, "dag.pkl");
  CHECK_THROWS_WITH(collect_tensors(*v), Contains("refer to shared values"));
  CHECK(v->repr(100).size() < 200);
  release_pickle(v);
}
