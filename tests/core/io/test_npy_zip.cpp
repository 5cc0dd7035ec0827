// .npy encode/decode and stored zip archives (fairseq's `fbank80.zip:OFFSET:LENGTH`).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/io/npy.h"
#include "core/io/zip_archive.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace trellis;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("trellis_test_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("npy: encode_npy_f32 writes np.save's exact header", "[unit][npy]") {
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = 0.5f * i - 1;
  auto bytes = encode_npy_f32(x.data(), {3, 4});
  // np.save(np.zeros((3, 4), np.float32)) with numpy 1.24: 128-byte header, v1.0.
  std::string expect = std::string("\x93NUMPY\x01\x00v\x00", 10) +
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  expect.append(127 - expect.size(), ' ');
  expect += '\n';
  REQUIRE(bytes.size() == 128 + 48);
  CHECK(std::string(bytes.begin(), bytes.begin() + 128) == expect);
  auto one_d = encode_npy_f32(x.data(), {5});
  CHECK(std::string(one_d.begin() + 10, one_d.begin() + 128).find("'shape': (5,), }") !=
        std::string::npos);
  NpyArray back = decode_npy(bytes.data(), bytes.size(), "mem");
  CHECK(back.shape == std::vector<int64_t>{3, 4});
  CHECK(back.data == x);
}

TEST_CASE("npy: decode converts f8/f2/i2 and rejects malformed input", "[unit][npy]") {
  auto make = [](const std::string& descr, const std::string& shape, const std::string& fortran,
                 const std::vector<uint8_t>& payload) {
    std::string h =
        "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
    h.append((64 - (10 + h.size() + 1) % 64) % 64, ' ');
    h += '\n';
    const std::string file = std::string("\x93NUMPY\x01\x00", 8) + char(h.size()) + '\0' + h;
    std::vector<uint8_t> b(file.begin(), file.end());
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
  };
  double d[2] = {1.25, -3.5};
  std::vector<uint8_t> pd(16);
  std::memcpy(pd.data(), d, 16);
  auto f8 = make("<f8", "(2,)", "False", pd);
  CHECK(decode_npy(f8.data(), f8.size(), "f8").data == std::vector<float>{1.25f, -3.5f});
  auto f2 = make("<f2", "(1, 2)", "False", {0x00, 0x3c, 0x00, 0xc0});  // 1.0, -2.0
  NpyArray h = decode_npy(f2.data(), f2.size(), "f2");
  CHECK(h.shape == std::vector<int64_t>{1, 2});
  CHECK(h.data == std::vector<float>{1.0f, -2.0f});
  auto i2 = make("<i2", "(2,)", "False", {0xff, 0x7f, 0x00, 0x80});
  CHECK(decode_npy(i2.data(), i2.size(), "i2").data == std::vector<float>{32767.f, -32768.f});

  auto fortran = make("<f4", "(2, 1)", "True", std::vector<uint8_t>(8));
  CHECK_THROWS_WITH(decode_npy(fortran.data(), fortran.size(), "feat.npy"),
                    Catch::Contains("feat.npy") && Catch::Contains("Fortran"));
  auto truncated = make("<f4", "(4, 80)", "False", std::vector<uint8_t>(100));
  CHECK_THROWS_WITH(decode_npy(truncated.data(), truncated.size(), "short.npy"),
                    Catch::Contains("short.npy") && Catch::Contains("truncated"));
  auto big_endian = make(">f4", "(1,)", "False", std::vector<uint8_t>(4));
  CHECK_THROWS_AS(decode_npy(big_endian.data(), big_endian.size(), "be"), DataError);
  std::vector<uint8_t> junk = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_THROWS_WITH(decode_npy(junk.data(), junk.size(), "x.npy"), Catch::Contains("x.npy"));
}

TEST_CASE("zip: ZipWriter round trip through list_zip and byte ranges", "[unit][zip]") {
  fs::path dir = temp_dir("zip");
  fs::path zip = dir / "fbank80.zip";
  std::vector<float> a(6, 1.5f), b(8, -2.0f);
  std::vector<ZipEntry> written;
  {
    ZipWriter w(zip.string());
    written.push_back(w.add("utt_a.npy", encode_npy_f32(a.data(), {3, 2})));
    written.push_back(w.add("utt_b.npy", encode_npy_f32(b.data(), {2, 4})));
    w.close();
  }
  auto entries = list_zip(zip.string());
  REQUIRE(entries.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(entries[i].name == written[i].name);
    CHECK(entries[i].offset == written[i].offset);
    CHECK(entries[i].size == written[i].size);
  }
  // fairseq's prep assumes: data offset = local header offset + 30 + len(name).
  CHECK(entries[0].offset == 30 + std::string("utt_a.npy").size());
  auto bytes = read_byte_range(zip.string(), entries[1].offset, entries[1].size);
  NpyArray arr = decode_npy(bytes.data(), bytes.size(), "utt_b");
  CHECK(arr.shape == std::vector<int64_t>{2, 4});
  CHECK(arr.data == b);
  // Standard zip fields a reader checks: signatures and the stored CRC32.
  auto raw = file_bytes(zip);
  CHECK(raw[0] == 'P');
  CHECK(raw[1] == 'K');
  CHECK(crc32(reinterpret_cast<const uint8_t*>("123456789"), 9) == 0xcbf43926u);
  auto npz = read_npz(zip.string());
  CHECK(npz.count("utt_a") == 1);
  CHECK(npz.at("utt_a").data == a);

  CHECK_THROWS_WITH(read_byte_range(zip.string(), raw.size() - 2, 10),
                    Catch::Contains(zip.string()) && Catch::Contains("outside"));
  CHECK_THROWS_WITH(list_zip((dir / "missing.zip").string()), Catch::Contains("missing.zip"));
  fs::remove_all(dir);
}

TEST_CASE("zip: many entries use ZIP64 records", "[unit][zip]") {
  fs::path dir = temp_dir("zip64");
  fs::path zip = dir / "many.zip";
  {
    ZipWriter w(zip.string());
    std::vector<uint8_t> one = {7};
    for (int i = 0; i < 70000; ++i) w.add("e" + std::to_string(i), one);
  }
  auto entries = list_zip(zip.string());
  REQUIRE(entries.size() == 70000);
  CHECK(entries.back().name == "e69999");
  CHECK(read_byte_range(zip.string(), entries.back().offset, 1)[0] == 7);
  fs::remove_all(dir);
}

TEST_CASE("zip: numpy's np.savez archive (ZIP64 local extra fields) is read", "[unit][zip]") {
  std::string path = std::string(TRELLIS_TEST_DATA) + "/goldens/fbank_extra/gcmvn_numpy.npz";
  REQUIRE(fs::exists(path));
  auto arrays = read_npz(path);
  REQUIRE(arrays.count("mean") == 1);
  REQUIRE(arrays.count("std") == 1);
  CHECK(arrays.at("mean").shape == std::vector<int64_t>{4});
  CHECK(arrays.at("mean").data == std::vector<float>{0.f, 1.f, 2.f, 3.f});
  CHECK(arrays.at("std").data == std::vector<float>{1.f, 2.f, 4.f, 8.f});
}
