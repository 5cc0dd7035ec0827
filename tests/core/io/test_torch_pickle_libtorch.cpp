// TorchPickleFile reads what LibTorch's own torch::pickle_save writes (trellis checkpoints):
// typed containers wrapped in torch.jit._pickle.restore_type_tag, tensors by storage.
#include <torch/serialize.h>
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/io/torch_pickle.h"
#include "models/modules/weight_file.h"

TEST_CASE("torch_pickle: files written by torch::pickle_save", "[unit][data][torch_pickle]") {
  c10::Dict<std::string, at::Tensor> model;
  model.insert("encoder.layers.0.fc1.weight", torch::arange(6, torch::kFloat).view({2, 3}));
  model.insert("encoder.step", torch::tensor({7}, torch::kLong));
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("model", model);
  root.insert("format", std::string("trellis"));
  root.insert("sizes", c10::List<int64_t>({1, 2, 3}));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  const std::string path =
      (std::filesystem::temp_directory_path() / "trellis_pickle_save.pt").string();
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  trellis::TorchPickleFile f(path);
  CHECK(f.get_string("format") == "trellis");
  auto tensors = f.tensors("model");
  REQUIRE(tensors.size() == 2);
  CHECK(tensors.at("encoder.layers.0.fc1.weight").to_float() ==
        std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(tensors.at("encoder.step").to_int64() == std::vector<int64_t>{7});
  // read_weight_file takes a checkpoint's "model" entry.
  auto weights = trellis::read_weight_file(path);
  CHECK(weights.size() == 2);
  CHECK(torch::equal(weights.at("encoder.layers.0.fc1.weight"),
                     model.at("encoder.layers.0.fc1.weight")));
  std::filesystem::remove(path);
}
