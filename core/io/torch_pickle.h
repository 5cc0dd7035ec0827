#pragma once
// A LibTorch-free reader for files written by Python's `torch.save`: Hugging Face
// `pytorch_model.bin` state dicts and fairseq `.pt` checkpoints ({"args": argparse.Namespace,
// "cfg": omegaconf DictConfig or dict, "model": OrderedDict, ...}). LibTorch's pickle_load
// rejects OrderedDict and unknown classes; this unpickler never needs the classes and executes
// nothing: a class or function it has no rule for becomes an object holding its class name,
// constructor arguments and BUILD state. The files are untrusted: only known globals are
// accepted (pickle_global_known, below), and declared sizes are checked against the file.
//
// Containers: the zip format (torch >= 1.6: `<top>/data.pkl` + `<top>/data/<key>`, stored) and
// the legacy format (magic 0x1950a86a20f9469cfc6c, protocol, sys_info, object pickle, storage
// key list, then per storage an int64 element count and the raw data). Pickle protocols 0-5
// (torch.save writes 2), except EXT1/2/4 and out-of-band buffers.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors.h"

namespace trellis {

struct PickleValue;
using PickleRef = std::shared_ptr<PickleValue>;  // shared: the pickle memo aliases values

struct PickleValue {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kBigInt,
    kFloat,
    kString,
    kBytes,
    kList,
    kTuple,
    kDict,
    kTensor,
    kGlobal,
    kObject
  };
  Kind kind = Kind::kNone;
  bool b = false;  // kBool
  int64_t i = 0;   // kInt
  double f = 0;    // kFloat
  // kString: UTF-8 text; kBytes: raw bytes; kBigInt: little-endian two's complement bytes;
  // kGlobal, kObject: the class or function, "module.qualname" ("argparse.Namespace").
  std::string str;
  std::vector<PickleRef> items;  // kList, kTuple; kObject: ctor args
  // kDict, in insertion order; kObject: contents of a dict subclass (SETITEMS), or of a list
  // subclass (APPENDS, keyed by index).
  std::vector<std::pair<PickleRef, PickleRef>> entries;
  // kObject, dict subclasses (OrderedDict's _metadata): the BUILD state; kTensor: a Parameter's
  // attributes. Null when none.
  PickleRef state;
  std::shared_ptr<const SafeTensor> tensor;  // kTensor: C-contiguous copy of the data

  static PickleRef make(Kind k);
  static PickleRef make_int(int64_t i);
  static PickleRef make_text(Kind k, std::string s);  // kString, kBytes, kBigInt, kGlobal, ...
  static PickleRef make_seq(Kind k, std::vector<PickleRef> items);  // kList, kTuple
  bool is(Kind k) const { return kind == k; }
  const char* kind_name() const;
  // Checked accessors; DataError showing the value found. as_double also takes ints.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  // Python-like text ("Namespace(arch='wav2vec2', ...)" is "argparse.Namespace(...)"), cut
  // after about max_len characters; for messages and debugging.
  std::string repr(size_t max_len = 200) const;
};

// Entry `key` of a dict (a string key, or an int key written in decimal), element `key` (a
// decimal index) of a list or tuple, or attribute `key` of an object (an entry of its BUILD
// state dict, or of either dict of a (dict, slots) state). nullptr when absent.
const PickleValue* find(const PickleValue& v, const std::string& key);
// find() along a dotted path; a component may itself contain dots when a dict key does
// ("model.encoder.layers.0.weight" finds root["model"]["encoder.layers.0.weight"]).
const PickleValue* find_path(const PickleValue& v, const std::string& dotted);

// Every tensor reachable from v through dict entries, list/tuple elements and object state
// (then constructor arguments, under "__args__"), named by the dotted path of keys, indices and
// attribute names from v; the first of two equal names wins; cycles are not followed.
// -> name: SafeTensor (dtype code, shape, C-contiguous little-endian bytes)
std::map<std::string, SafeTensor> collect_tensors(const PickleValue& v);

struct PickleHooks {
  // BINPERSID / PERSID: the persistent id -> the value it stands for. Unset: an object of class
  // "persistent_id" whose args hold the id.
  std::function<PickleRef(const PickleRef& pid)> persistent_load;
  // REDUCE / NEWOBJ of a global "module.qualname" with an args tuple -> the result, or nullptr
  // for the default (the builtins below, else an object of that class).
  std::function<PickleRef(const std::string& global, const PickleRef& args)> call;
  // Globals ("module.qualname") accepted beyond pickle_global_known(); a name ending in '.'
  // accepts every global under that prefix. Empty: only the known ones.
  std::vector<std::string> extra_globals;
};

// Whether the reader knows the global "module.qualname" (after Python 2 renames): the torch
// rebuild functions, storage types, dtypes and torch.Size / torch.device; LibTorch's
// torch.jit._pickle tags; collections.OrderedDict / defaultdict / Counter / deque; the data
// builtins (dict, list, tuple, set, frozenset, bytes, bytearray, int, float, str, bool, complex,
// slice, object, getattr); copyreg reconstructors; _codecs.encode; argparse.Namespace;
// pathlib paths; Lightning's AttributeDict; numpy scalars, dtypes and arrays; and the data
// classes of the checkpoints read here (omegaconf.*, typing.*, fairseq.*). Every other global (os.system, posix.system,
// builtins.eval, a pickled nn.Module, a user's class) makes unpickle() throw DataError naming it.
// Nothing is ever executed either way: a known global only decides how a value is rebuilt.
bool pickle_global_known(const std::string& global);

// What unpickle() makes of a call to one of these, else nullptr: collections.OrderedDict,
// defaultdict and dict -> dict; set / frozenset -> list; _codecs.encode, bytes, bytearray ->
// bytes; numpy.core.multiarray.scalar of a bool/int/float dtype -> bool / int / float;
// getattr(global, name) -> global; copyreg._reconstructor / __newobj__ -> object of the class;
// torch.jit._pickle.restore_type_tag(v, type) and build_*list(v) (LibTorch's pickle_save) -> v.
PickleRef call_pickle_builtin(const std::string& global, const std::vector<PickleRef>& args);

// Runs one pickle from data[0, size) up to its STOP; REDUCE / NEWOBJ go to hooks.call, then
// call_pickle_builtin, else become objects of that class. Unknown opcodes, globals that are
// neither pickle_global_known() nor in hooks.extra_globals, and malformed input throw DataError
// naming `where`, the opcode and its byte offset. *consumed (if given) = bytes read.
PickleRef unpickle(const uint8_t* data, size_t size, const std::string& where,
                   const PickleHooks& hooks = {}, size_t* consumed = nullptr);

// Empties every container reachable from v (without recursion), so that values pointing back
// at their parents (a list holding itself, omegaconf's _parent) are freed; tensors held
// elsewhere stay valid. TorchPickleFile's destructor does this for its tree.
void release_pickle(const PickleRef& v);

class TorchPickleFile {
 public:
  // Reads the whole file (zip or legacy format); DataError naming the file (and the entry or
  // byte offset) on malformed input, on a global that is neither known (pickle_global_known)
  // nor in extra_globals, and on storage sizes, tensor shapes, strides or offsets the file
  // cannot hold (checked before anything is allocated for them).
  explicit TorchPickleFile(const std::string& path,
                           const std::vector<std::string>& extra_globals = {});
  ~TorchPickleFile();  // release_pickle(root) unless a copy still shares it
  TorchPickleFile(const TorchPickleFile&) = default;
  TorchPickleFile& operator=(const TorchPickleFile&) = default;

  const PickleValue& root() const { return *root_; }
  const std::string& path() const { return path_; }
  // find_path from the root ("args.arch", "cfg.model.encoder_layers"); nullptr when absent.
  const PickleValue* find(const std::string& dotted) const;
  // Same, but DataError naming the file and the path when absent.
  const PickleValue& at(const std::string& dotted) const;
  // at(dotted) as a str / int / float (or int) / bool; DataError naming the file, the path and
  // the value found when absent or of another type.
  const std::string& get_string(const std::string& dotted) const;
  int64_t get_int(const std::string& dotted) const;
  double get_double(const std::string& dotted) const;
  bool get_bool(const std::string& dotted) const;
  // collect_tensors() of the value at dotted path `under` (default: the root), named relative
  // to it: tensors("model") gives a fairseq checkpoint's state dict. DataError when absent.
  // -> name: SafeTensor (dtype code, shape, C-contiguous little-endian bytes)
  std::map<std::string, SafeTensor> tensors(const std::string& under = "") const;

 private:
  std::string path_;
  PickleRef root_;
};

}  // namespace trellis
