#pragma once
// Reads the tensors of a pretrained-weights file, whatever wrote it:
//   *.safetensors                 Hugging Face (F32 / F16 / BF16 / F64 / integer dtypes)
//   model.safetensors.index.json  sharded safetensors ("weight_map": name -> file)
//   pytorch_model.bin, *.pt       torch.save zip or legacy files (core/io/torch_pickle.h);
//                                 a fairseq checkpoint's tensors are those under "model"
//   *.nemo                        NeMo's tar (plain or gzip) of model_config.yaml and
//                                 model_weights.ckpt (core/nemo_checkpoint.h); NeMo key names,
//                                 float64 tensors (the NEST codebooks) stay float64
//   a directory                   its model.safetensors, else model.safetensors.index.json,
//                                 else pytorch_model.bin
// Floating tensors are returned as float32, others keep their dtype. Errors name the file.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>

namespace trellis {

struct SafeTensor;

// SafeTensor -> CPU tensor of its dtype and shape ("where" names it in errors)
at::Tensor tensor_from_safetensor(const SafeTensor& t, const std::string& where);

// -> name -> CPU tensor
std::map<std::string, at::Tensor> read_weight_file(const std::string& path);

// The file read_weight_file would open for `path` (resolves directories).
std::string resolve_weight_file(const std::string& path);

}  // namespace trellis
