#pragma once
// Typed options, declared once. Every component has an options struct with default member
// initializers and a `template <class V> void visit(V& v)` listing each field once:
//
//   struct FooOptions {
//     int64_t warmup_updates = 4000;
//     std::string mode = "sum";
//     template <class V> void visit(V& v) {
//       v.field("warmup_updates", warmup_updates, "warm up the LR linearly for N updates");
//       v.field("mode", mode, "reduction").choices({"sum", "mean"});
//     }
//     void validate() const;  // optional; throws ConfigError
//   };
//
// `Fields` is the visitor: it collects typed references to the fields, and everything else
// (CLI11 flags `--warmup-updates`, YAML read/write, --help, checkpoint config) works on that
// list in core/options.cpp and core/cli_parser.cpp.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <type_traits>
#include <variant>
#include <vector>

namespace trellis {

using FieldRef = std::variant<bool*, int*, int64_t*, double*, std::string*, std::optional<int64_t>*,
                              std::optional<double>*, std::vector<int>*, std::vector<int64_t>*,
                              std::vector<double>*, std::vector<std::string>*>;

// One option: a typed reference into an options struct plus its metadata.
struct Field {
  std::string name;  // snake_case key (YAML, checkpoints); the flag is --kebab-case
  FieldRef ref;
  std::string help;
  std::vector<std::string> choice_list;  // allowed values (strings) or empty
  std::vector<std::string> alias_list;   // extra flag spellings, e.g. "-a"
  std::string selects_kind;              // names a component of this registry kind
  bool is_positional = false;
  bool is_repeatable = false;  // given twice: values accumulate (e.g. --user-dir)
  bool takes_many = false;     // a list flag read as one or more values (--inputs a.pt b.pt)

  Field& choices(std::vector<std::string> c) { choice_list = std::move(c); return *this; }
  Field& alias(std::string flag) { alias_list.push_back(std::move(flag)); return *this; }
  Field& selects(std::string kind) { selects_kind = std::move(kind); return *this; }
  Field& positional() { is_positional = true; return *this; }
  Field& repeatable() { is_repeatable = true; return *this; }
  Field& many() { takes_many = true; return *this; }  // argparse's nargs='+'

  std::string flag() const;            // "--warmup-updates"
  std::string type_name() const;       // "INT", "FLOAT", "STR", "BOOL", "FLOAT,...", ...
  std::string value_string() const;    // current value in CLI syntax ("0.9,0.98", "None")
  bool is_bool() const { return std::holds_alternative<bool*>(ref); }
  bool is_list() const;
  // Parses `text` with fairseq's value syntax and stores it; `where` names the source for
  // errors ("--lr", "config.yaml: lr"). Throws ConfigError.
  void set_from_string(const std::string& text, const std::string& where) const;
  void append_from_string(const std::string& text, const std::string& where) const;  // lists
  // True when both fields hold the same C++ type (a key shared by two groups).
  bool same_type(const Field& other) const { return ref.index() == other.ref.index(); }
};

// The visitor: collects references to the fields of one or more options structs.
class Fields {
 public:
  template <class T>
  Field& field(const std::string& name, T& value, const std::string& help) {
    static_assert(std::is_constructible_v<FieldRef, T*>, "unsupported option type");
    fields_.push_back(Field{name, FieldRef{&value}, help, {}, {}, {}});
    return fields_.back();
  }
  std::deque<Field>& list() { return fields_; }
  const std::deque<Field>& list() const { return fields_; }
  Field* find(const std::string& name);

 private:
  std::deque<Field> fields_;  // deque: references stay valid while fields are added
};

namespace detail {
template <class O, class = void>
struct HasValidate : std::false_type {};
template <class O>
struct HasValidate<O, std::void_t<decltype(std::declval<const O&>().validate())>> : std::true_type {};
}  // namespace detail

// A type-erased options struct (what registries create and the parser fills in).
// Copies share the same struct; use clone() for an independent copy.
class AnyOptions {
 public:
  AnyOptions() = default;

  template <class O>
  static AnyOptions make(O value = O{}) {
    AnyOptions a;
    a.ptr_ = std::make_shared<O>(std::move(value));
    a.type_ = std::type_index(typeid(O));
    a.visit_ = [](void* p, Fields& f) { static_cast<O*>(p)->visit(f); };
    a.clone_ = [](const void* p) -> std::shared_ptr<void> {
      return std::make_shared<O>(*static_cast<const O*>(p));
    };
    if constexpr (detail::HasValidate<O>::value) {
      a.validate_ = [](const void* p) { static_cast<const O*>(p)->validate(); };
    }
    return a;
  }

  bool empty() const { return ptr_ == nullptr; }
  Fields fields() const;  // references into this struct
  void validate() const;  // runs O::validate() when it has one
  AnyOptions clone() const;
  std::type_index type() const { return type_; }

  template <class O>
  O& as() const {
    check_type(std::type_index(typeid(O)), typeid(O).name());
    return *static_cast<O*>(ptr_.get());
  }

 private:
  void check_type(std::type_index want, const char* want_name) const;

  std::shared_ptr<void> ptr_;
  std::type_index type_ = std::type_index(typeid(void));
  void (*visit_)(void*, Fields&) = nullptr;
  std::shared_ptr<void> (*clone_)(const void*) = nullptr;
  void (*validate_)(const void*) = nullptr;
};

// Helpers shared by the parser and the YAML layer.
std::string to_flag(const std::string& key);     // "max_tokens" -> "--max-tokens"
std::string to_key(const std::string& flag);     // "--max-tokens" / "max-tokens" -> "max_tokens"
// The candidate closest to `word` (edit distance), or "" when nothing is reasonably close.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace trellis
