// torch.save files without Python: fixtures from tests/golden/make_torch_pickle_fixtures.py
// (torch 1.13), expected tensors in tests/data/torch_pickle/*.json.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/io/torch_pickle.h"
#include "core/io/zip_archive.h"
#include "core/error.h"

namespace fs = std::filesystem;
using namespace trellis;
using Kind = PickleValue::Kind;
using Catch::Matchers::Contains;

namespace {

const std::string kDir = std::string(TRELLIS_TEST_DATA) + "/torch_pickle/";

fs::path temp_dir() {
  fs::path d =
      fs::temp_directory_path() / ("trellis_test_torch_pickle_" + std::to_string(getpid()));
  fs::create_directories(d);
  return d;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string file_text(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every tensor against the JSON the fixture script wrote: names, dtype, shape, each value.
void check_tensors(const std::map<std::string, SafeTensor>& got, const std::string& json_name,
                   const std::string& strip = "") {
  auto expect = nlohmann::json::parse(file_text(kDir + json_name));
  size_t n = 0;
  for (auto it = expect.begin(); it != expect.end(); ++it) {
    if (it.key().rfind(strip, 0) != 0) continue;
    ++n;
    const std::string name = it.key().substr(strip.size());
    INFO(json_name << ": " << name);
    REQUIRE(got.count(name) == 1);
    const SafeTensor& t = got.at(name);
    CHECK(t.dtype == it.value()["dtype"].get<std::string>());
    CHECK(t.shape == it.value()["shape"].get<std::vector<int64_t>>());
    CHECK(t.to_double() == it.value()["values"].get<std::vector<double>>());
  }
  CHECK(got.size() == n);
}

const PickleValue& value_at(const TorchPickleFile& f, const std::string& path) {
  return f.at(path);
}

}  // namespace

TEST_CASE("torch_pickle: OrderedDict state dict (zip format)", "[data][torch_pickle]") {
  TorchPickleFile f(kDir + "state_dict.pt");
  REQUIRE(f.root().is(Kind::kDict));
  std::vector<std::string> keys;
  for (const auto& [k, v] : f.root().entries) keys.push_back(k->as_string());
  CHECK(keys == std::vector<std::string>{"half_w", "bf16_w", "steps", "base", "base_t",
                                         "base_slice", "proj.weight", "proj.bias"});
  REQUIRE(f.root().state);  // OrderedDict's _metadata, from BUILD
  CHECK(find(*f.root().state, "_metadata") != nullptr);
  auto tensors = f.tensors();
  check_tensors(tensors, "state_dict.json");
  CHECK(tensors.at("half_w").dtype == "F16");
  CHECK(tensors.at("bf16_w").dtype == "BF16");
  CHECK(tensors.at("steps").to_int64() == std::vector<int64_t>{3, -7, int64_t(1) << 40});
  CHECK(tensors.at("base_t").shape == std::vector<int64_t>{4, 3});  // transposed view
  CHECK(tensors.at("base_slice").to_double() == std::vector<double>{0.25, 0.5, 1.25, 1.5});
  CHECK(f.find("proj.weight")->is(Kind::kTensor));  // a dict key containing dots
  CHECK(f.find("no.such") == nullptr);
  CHECK_THROWS_WITH(f.at("no.such"), Contains("state_dict.pt") && Contains("no.such"));
}

TEST_CASE("torch_pickle: fairseq checkpoint, zip / protocol 4 / legacy", "[data][torch_pickle]") {
  for (const char* name : {"fairseq_ckpt.pt", "fairseq_ckpt_p4.pt", "legacy_ckpt.pt"}) {
    INFO(name);
    // The fixture pickles classes of its own script (__main__.Thing, ...): refused by default,
    // read when the caller accepts them.
    CHECK_THROWS_WITH(TorchPickleFile(kDir + name),
                      Contains(name) && Contains("unknown global '__main__."));
    TorchPickleFile f(kDir + name, {"__main__."});
    check_tensors(f.tensors(), "checkpoint.json");
    check_tensors(f.tensors("model"), "checkpoint.json", "model.");

    const PickleValue& args = value_at(f, "args");
    CHECK(args.is(Kind::kObject));
    CHECK(args.str == "argparse.Namespace");
    CHECK(f.get_string("args.arch") == "wav2vec2");
    CHECK(f.get_int("args.encoder_layers") == 2);
    CHECK(f.get_double("args.dropout") == 0.1);
    CHECK(f.get_bool("args.layer_norm_first") == false);
    CHECK_THROWS_WITH(f.get_int("args.arch"),
                      Contains(name) && Contains("args.arch") && Contains("'wav2vec2'"));
    CHECK(value_at(f, "args.conv_feature_layers").as_string() ==
          "[(512, 10, 5)] + [(512, 3, 2)] * 2");
    CHECK(value_at(f, "args.max_tokens").is(Kind::kNone));
    CHECK(value_at(f, "args.update_freq").repr() == "[1]");
    CHECK(value_at(f, "args.lr.0").as_double() == 0.0005);
    CHECK(value_at(f, "args.seed").as_int() == -3);
    CHECK(value_at(f, "args.big").as_int() == int64_t(1) << 40);
    CHECK(value_at(f, "args.neg_big").as_int() == INT64_MIN);
    CHECK_THAT(args.repr(), Catch::StartsWith("argparse.Namespace(arch='wav2vec2', "));

    CHECK(value_at(f, "cfg._name").is(Kind::kNone));
    CHECK(value_at(f, "cfg.model._name").as_string() == "wav2vec2");
    CHECK(value_at(f, "cfg.model.encoder_layers").as_int() == 2);
    CHECK(value_at(f, "cfg.task.sample_rate").as_int() == 16000);
    CHECK(value_at(f, "cfg.task.normalize").as_bool());
    CHECK(value_at(f, "cfg.optimization.max_update").as_int() == 400000);
    CHECK(value_at(f, "optimizer_history.0.optimizer_name").as_string() == "FairseqAdam");
    CHECK(value_at(f, "optimizer_history.0.lr_scheduler_state.best").is(Kind::kNone));
    CHECK(value_at(f, "last_optimizer_state.state.0.step").as_int() == 3);  // an int dict key
    CHECK(value_at(f, "last_optimizer_state.param_groups.0.lr").as_double() == 0.0005);

    CHECK(value_at(f, "extra_state.epoch").as_int() == 12);
    CHECK(value_at(f, "extra_state.best").as_double() == 1.25);
    CHECK(value_at(f, "extra_state.nested").repr() == "[[1, 2], (3, 'x'), [], ()]");
    CHECK(value_at(f, "extra_state.nested.1").is(Kind::kTuple));
    CHECK(value_at(f, "extra_state.tuple3").repr() == "(1, 2.5, None)");
    CHECK(value_at(f, "extra_state.int_keys").repr() == "{0: 'zero', 7: [True]}");
    CHECK(value_at(f, "extra_state.unicode").as_string() ==
          "h\xc3\xa9llo \xe2\x96\x81w\xc3\xb6rld");
    CHECK(value_at(f, "extra_state.raw").is(Kind::kBytes));
    CHECK(value_at(f, "extra_state.raw").str == std::string("\x00\x01\xff", 3));
    CHECK(value_at(f, "extra_state.empty_raw").repr() == "b''");
    CHECK(value_at(f, "extra_state.a_set").repr() == "[5]");
    CHECK(value_at(f, "extra_state.np_best").as_double() == 0.75);
    CHECK(value_at(f, "extra_state.param").is(Kind::kTensor));
    CHECK(value_at(f, "extra_state.param_state.tag").as_string() == "tagged");
    CHECK(value_at(f, "extra_state.subclass").tensor->dtype == "I16");
    CHECK(value_at(f, "extra_state.thing").str == "__main__.Thing");
    CHECK(value_at(f, "extra_state.thing.name").as_string() == "thing");
    CHECK(value_at(f, "extra_state.reduced").repr() == "__main__.Reduced(4, 'four')");
    CHECK(f.find("model.encoder.layers.0.weight")->tensor->shape == std::vector<int64_t>{2, 3});
    CHECK(f.find("model.empty")->tensor->data.empty());
    CHECK(f.find("model.scalar")->tensor->shape.empty());
  }
}

TEST_CASE("torch_pickle: protocol 0 text opcodes", "[data][torch_pickle]") {
  // pickle.dumps({'a': [1, -2.5, None, True, 'x\xe9\n'], 'b': (1,), 'big': 12345678901234,
  //               'o': collections.OrderedDict([('k', b'\x01')])}, protocol=0)
  const std::string p0 =
      "(dp0\nVa\np1\n(lp2\nI1\naF-2.5\naNaI01\naVx\xe9\\u000a\np3\nasVb\np4\n(I1\ntp5\nsVbig\n"
      "p6\nL12345678901234L\nsVo\np7\nccollections\nOrderedDict\np8\n(tRp9\nVk\np10\nc_codecs\n"
      "encode\np11\n(V\x01\np12\nVlatin1\np13\ntp14\nRp15\nss.";
  size_t used = 0;
  auto v = unpickle(reinterpret_cast<const uint8_t*>(p0.data()), p0.size(), "p0", {}, &used);
  CHECK(used == p0.size());
  CHECK(v->repr() ==
        "{'a': [1, -2.5, None, True, 'x\xc3\xa9\\n'], 'b': (1,), 'big': 12345678901234, "
        "'o': {'k': b'\\x01'}}");
}

TEST_CASE("torch_pickle: cycles are not followed", "[data][torch_pickle]") {
  const uint8_t self_list[] = {0x80, 0x02, ']', 'q', 0, 'h', 0, 'a', '.'};  // l = []; l.append(l)
  PickleRef v = unpickle(self_list, sizeof(self_list), "cycle");
  REQUIRE(v->items.size() == 1);
  CHECK(v->items[0] == v);
  CHECK(collect_tensors(*v).empty());
  CHECK_THAT(v->repr(), Contains("[[[[") && Contains("..."));
  release_pickle(v);  // breaks the cycle, which shared_ptr alone would leak
  CHECK(v->items.empty());
}

TEST_CASE("torch_pickle: malformed input names the file", "[data][torch_pickle]") {
  const fs::path dir = temp_dir();
  SECTION("unknown opcode: file, opcode and offset") {
    const uint8_t bad[] = {0x80, 0x02, 0xff};
    CHECK_THROWS_WITH(unpickle(bad, 3, "x.pkl"),
                      Contains("x.pkl") && Contains("0xff") && Contains("at byte 2"));
    const uint8_t cut[] = {0x80, 0x02, 'X', 9, 0, 0, 0, 'a'};
    CHECK_THROWS_WITH(unpickle(cut, 8, "x.pkl"), Contains("truncated"));
  }
  SECTION("truncated zip and legacy files") {
    for (const char* name : {"fairseq_ckpt.pt", "legacy_ckpt.pt"}) {
      const std::string all = file_text(kDir + name);
      for (size_t keep : {all.size() / 2, all.size() - 30, size_t(40)}) {
        const std::string p = (dir / "cut.pt").string();
        write_file(p, all.substr(0, keep));
        CHECK_THROWS_AS(TorchPickleFile(p), DataError);
        CHECK_THROWS_WITH(TorchPickleFile(p), Contains(p));
      }
    }
  }
  SECTION("not a torch file") {
    const std::string text = (dir / "notes.txt").string(), plain = (dir / "plain.pkl").string();
    write_file(text, "hello, this is not a checkpoint\n");
    CHECK_THROWS_WITH(TorchPickleFile(text), Contains(text) && Contains("not a torch.save file"));
    write_file(plain, "\x80\x02K\x01.");  // pickle.dumps(1, protocol=2)
    CHECK_THROWS_WITH(TorchPickleFile(plain), Contains(plain) && Contains("magic number"));
    write_file(plain, "");
    CHECK_THROWS_WITH(TorchPickleFile(plain), Contains(plain));
    CHECK_THROWS_WITH(TorchPickleFile((dir / "missing.pt").string()), Contains("missing.pt"));
  }
  SECTION("zip without data.pkl, missing or short storage") {
    const std::string src = kDir + "state_dict.pt", out = (dir / "z.pt").string();
    auto rewrite = [&](const std::string& drop, const std::string& shorten) {
      ZipWriter w(out);
      for (const ZipEntry& e : list_zip(src)) {
        auto bytes = read_byte_range(src, e.offset, e.size);
        if (e.name == shorten) bytes.resize(bytes.size() / 2);
        if (e.name != drop) w.add(e.name, bytes);
      }
    };
    rewrite("state_dict/data.pkl", "");
    CHECK_THROWS_WITH(TorchPickleFile(out), Contains(out) && Contains("data.pkl"));
    rewrite("state_dict/data/0", "");
    CHECK_THROWS_WITH(TorchPickleFile(out), Contains(out) && Contains("state_dict/data/0"));
    rewrite("", "state_dict/data/0");
    CHECK_THROWS_WITH(TorchPickleFile(out),
                      Contains(out) && Contains("storage '0' claims 6 elements"));
  }
  fs::remove_all(dir);
}
