// Models <-> weight files: state_dict(model), load_state_dict / load (all-or-nothing, strict by
// default, with a declarative KeyMap for checkpoints laid out differently) and save (safetensors).
//
//   auto report = modify::load(model, "resnet18.safetensors",
//                              {.keys = modify::KeyMap().split_norm("*bn{n}").split_norm("*downsample.1")});
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <modify/detail/one_time.hpp>
#include <modify/errors.hpp>  // detail::message_of
#include <modify/io/safetensors.hpp>
#include <modify/value.hpp>   // describe

MODIFY_ONE_TIME_BEGIN

namespace modify {

namespace detail {

// match_key(pattern, key, captures): whether key matches pattern, where '*' matches one or more
// characters (dots included) and '{name}' one or more characters without a dot. Captures are
// appended in order: '*' ones as {"*", text}, named ones as {"name", text}.
inline bool match_key(std::string_view pattern, std::string_view key, std::vector<std::pair<std::string, std::string>>& captures) {
  if (pattern.empty()) return key.empty();
  if (pattern[0] == '*' || pattern[0] == '{') {
    std::string name = "*";
    std::size_t rest = 1;
    if (pattern[0] == '{') {
      const std::size_t close = pattern.find('}');
      if (close == std::string_view::npos) throw std::invalid_argument("modify: KeyMap: pattern '" + std::string(pattern) + "' has a '{' without '}'");
      name = std::string(pattern.substr(1, close - 1));
      rest = close + 1;
    }
    for (std::size_t n = 1; n <= key.size(); ++n) {
      if (name != "*" && key[n - 1] == '.') break;
      captures.emplace_back(name, std::string(key.substr(0, n)));
      if (match_key(pattern.substr(rest), key.substr(n), captures)) return true;
      captures.pop_back();
    }
    return false;
  }
  return !key.empty() && key[0] == pattern[0] && match_key(pattern.substr(1), key.substr(1), captures);
}

// fill_key(target, captures): target with its '*' replaced by the '*' captures in order and each
// '{name}' by the capture of that name.
inline std::string fill_key(std::string_view target, const std::vector<std::pair<std::string, std::string>>& captures,
                            std::string_view pattern) {
  std::string out;
  std::size_t star = 0;
  auto capture = [&](const std::string& name, std::size_t nth) -> const std::string& {
    for (const auto& [n, text] : captures)
      if (n == name && nth-- == 0) return text;
    throw std::invalid_argument("modify: KeyMap: the target '" + std::string(target) + "' uses " +
                                (name == "*" ? std::string("more '*' than") : "'{" + name + "}', which is not in") +
                                " the pattern '" + std::string(pattern) + "'");
  };
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '*') {
      out += capture("*", star++);
    } else if (target[i] == '{') {
      const std::size_t close = target.find('}', i);
      if (close == std::string_view::npos) throw std::invalid_argument("modify: KeyMap: target '" + std::string(target) + "' has a '{' without '}'");
      out += capture(std::string(target.substr(i + 1, close - i - 1)), 0);
      i = close;
    } else {
      out += target[i];
    }
  }
  return out;
}

}  // namespace detail

// KeyMap: how a file's keys become the model's, written once, declaratively. Rules see the FILE's
// key. Patterns: '*' matches one or more characters (dots included), '{n}' (any name in braces)
// one or more characters without a dot; a pattern without either is an exact key.
//   rename(from, to)      the first matching rename gives the model key ('*' and '{n}' fill `to`);
//                         keys no rename matches are kept as they are
//   transform(pattern, f) f(tensor) replaces the tensor of every matching key (e.g. transposed)
//   ignore(pattern)       matching keys are skipped (listed in LoadReport::ignored, never unexpected)
//   split_norm(pattern)   a PyTorch affine norm at `pattern` is a modify norm + ElementwiseAffine
//                         pair: weight/bias go to "<norm>.1.", running stats to "<norm>.0."
class KeyMap {
 public:
  using Transform = std::function<at::Tensor(const at::Tensor&)>;

  KeyMap& rename(std::string from, std::string to) {
    renames_.push_back({std::move(from), std::move(to)});
    return *this;
  }
  KeyMap& transform(std::string pattern, Transform f) {
    transforms_.push_back({std::move(pattern), std::move(f)});
    return *this;
  }
  KeyMap& ignore(std::string pattern) {
    ignored_.push_back(std::move(pattern));
    return *this;
  }
  KeyMap& split_norm(const std::string& norm, const std::string& norm_child = "0", const std::string& affine_child = "1") {
    for (const char* p : {"weight", "bias"}) rename(norm + '.' + p, norm + '.' + affine_child + '.' + p);
    for (const char* b : {"running_mean", "running_var", "num_batches_tracked"}) rename(norm + '.' + b, norm + '.' + norm_child + '.' + b);
    return *this;
  }

  // A transform for GPT-2's Conv1D weights, stored [in, out] where a Linear holds [out, in].
  static at::Tensor transposed(const at::Tensor& t) { return t.t(); }

  // The model key of a file key; nullopt when the key is ignored.
  std::optional<std::string> model_key(const std::string& file_key) const {
    std::vector<std::pair<std::string, std::string>> captures;
    for (const auto& pattern : ignored_)
      if (captures.clear(), detail::match_key(pattern, file_key, captures)) return std::nullopt;
    for (const auto& [from, to] : renames_)
      if (captures.clear(), detail::match_key(from, file_key, captures)) return detail::fill_key(to, captures, from);
    return file_key;
  }

  // The tensor after every transform whose pattern matches the file key, in the order given.
  at::Tensor apply(const std::string& file_key, at::Tensor tensor) const {
    std::vector<std::pair<std::string, std::string>> captures;
    for (const auto& [pattern, f] : transforms_)
      if (captures.clear(), detail::match_key(pattern, file_key, captures)) tensor = f(tensor);
    return tensor;
  }

  bool empty() const { return renames_.empty() && transforms_.empty() && ignored_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> renames_;
  std::vector<std::pair<std::string, Transform>> transforms_;
  std::vector<std::string> ignored_;
};

// LoadOptions: strict (every model tensor must be in the file and every file tensor in the model);
// convert_dtype (cast file tensors to the model's dtype instead of refusing them); keys (KeyMap).
struct LoadOptions {
  bool strict = true;
  bool convert_dtype = false;
  KeyMap keys = {};
};

// LoadReport: what a load found. missing: model keys the file does not provide; unexpected: file
// keys whose model key (after the KeyMap) the model does not have; mismatched: tensors whose shape or dtype differ,
// and file keys mapped onto the same model key; ignored: file keys the KeyMap skipped; loaded: how
// many model tensors were written.
struct LoadReport {
  std::vector<std::string> missing, unexpected, mismatched, ignored;
  std::size_t loaded = 0;

  bool complete() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const {
    std::ostringstream out;
    out << *this;
    return out.str();
  }
  friend std::ostream& operator<<(std::ostream& out, const LoadReport& r) {
    out << "loaded " << r.loaded << " tensors";
    for (const auto& m : r.missing) out << "\n  missing '" << m << "'";
    for (const auto& u : r.unexpected) out << "\n  unexpected '" << u << "'";
    for (const auto& m : r.mismatched) out << "\n  " << m;
    if (!r.ignored.empty()) out << "\n  (" << r.ignored.size() << " file tensors ignored by the key map)";
    return out;
  }
};

// LoadError: a load refused; the model is unchanged. report() lists every problem found.
class LoadError : public std::runtime_error {
 public:
  LoadError(const std::string& message, LoadReport report) : std::runtime_error(message), report_(std::move(report)) {}
  const LoadReport& report() const { return report_; }

 private:
  LoadReport report_;
};

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

namespace detail {

// module_of(model): the torch::nn::Module behind a handle, a shared_ptr, or a module itself.
template <class M>
torch::nn::Module& module_of(M& model) {
  if constexpr (std::derived_from<M, torch::nn::Module>) return model;
  else return *model.ptr();
}
template <class M>
concept has_module = std::derived_from<M, torch::nn::Module> || requires(M& m) {
  { *m.ptr() } -> std::convertible_to<torch::nn::Module&>;
};

// load_named(targets, sources, options, what): the core of every load: matches the sources (file
// keys, through the KeyMap) to the targets (model keys), validates everything, and only then
// copies, under NoGradGuard, into the targets' existing tensors. This is the one intended write to
// tensors other models may share (a LoRA model shares its base's weights: it sees the new values).
// A model tensor registered under several names (tied weights) is satisfied by any one of them.
inline LoadReport load_named(const NamedTensors& targets, const NamedTensors& sources, const LoadOptions& options,
                             const std::string& what) {
  std::unordered_map<std::string, std::size_t> target_index;
  for (std::size_t i = 0; i < targets.size(); ++i) target_index.emplace(targets[i].first, i);

  LoadReport report;
  std::vector<std::pair<std::size_t, at::Tensor>> plan;   // target index, tensor to copy
  std::unordered_map<std::size_t, std::string> claimed_by;  // target index -> file key
  std::vector<std::string> unexpected_shown;                  // with their mapped keys
  for (const auto& [file_key, file_tensor] : sources) {
    auto key = options.keys.model_key(file_key);
    if (!key) {
      report.ignored.push_back(file_key);
      continue;
    }
    const std::string shown = *key == file_key ? "'" + file_key + "'" : "'" + file_key + "' (as '" + *key + "')";
    auto it = target_index.find(*key);
    if (it == target_index.end()) {
      report.unexpected.push_back(file_key);
      unexpected_shown.push_back(shown);
      continue;
    }
    if (auto [c, fresh] = claimed_by.emplace(it->second, file_key); !fresh) {
      report.mismatched.push_back("'" + c->second + "' and '" + file_key + "' both map to '" + *key + "'");
      continue;
    }
    at::Tensor source;
    try {
      source = options.keys.apply(file_key, file_tensor);
    } catch (const std::exception& e) {
      report.mismatched.push_back(shown + ": its key map transform failed: " + message_of(e));
      continue;
    }
    const at::Tensor& target = targets[it->second].second;
    const bool same_shape = source.sizes() == target.sizes();
    const bool same_dtype = source.scalar_type() == target.scalar_type();
    if (!same_shape || (!same_dtype && !options.convert_dtype)) {
      report.mismatched.push_back(shown + " is " + describe(source) + ", the model has " + describe(target));
      continue;
    }
    plan.emplace_back(it->second, source);
  }

  // A tensor object loaded under any of its names is not missing under the others; loaded under
  // two, the file must give it one value (else which one lands would depend on the order).
  std::unordered_map<const void*, std::size_t> loaded_objects;  // tensor object -> its first plan entry
  for (std::size_t n = 0; n < plan.size(); ++n) {
    const auto& [i, source] = plan[n];
    const auto [first, fresh] = loaded_objects.emplace(targets[i].second.unsafeGetTensorImpl(), n);
    if (fresh) continue;
    const auto& [j, other] = plan[first->second];
    if (!at::equal(other, source.to(other.scalar_type())))
      report.mismatched.push_back("'" + claimed_by.at(j) + "' and '" + claimed_by.at(i) +
                                  "' give different values to one tensor (tied: '" + targets[j].first + "' is '" +
                                  targets[i].first + "')");
  }
  for (std::size_t i = 0; i < targets.size(); ++i)
    if (!claimed_by.count(i) && !loaded_objects.count(targets[i].second.unsafeGetTensorImpl()))
      report.missing.push_back(targets[i].first);

  const bool refused = !report.mismatched.empty() || (options.strict && !report.complete());
  if (refused) {
    std::ostringstream message;
    message << "modify: " << what << " does not fit the model; nothing was loaded:";
    for (const auto& m : report.missing) message << "\n  missing '" << m << "'";
    for (const auto& u : unexpected_shown) message << "\n  unexpected " << u;
    for (const auto& m : report.mismatched) message << "\n  " << m;
    throw LoadError(message.str(), std::move(report));
  }

  // Conversions first, so a failing one (e.g. out of memory) happens before any write.
  for (auto& [i, source] : plan)
    if (source.scalar_type() != targets[i].second.scalar_type()) source = source.to(targets[i].second.scalar_type());
  at::NoGradGuard no_grad;
  for (const auto& [i, source] : plan) targets[i].second.copy_(source);
  report.loaded = plan.size();
  return report;
}

}  // namespace detail

// state_dict(model): the model's parameters then its (defined) buffers, under their dotted names,
// as the tensors themselves (no copies).
template <class M>
  requires detail::has_module<M>
NamedTensors state_dict(M& model) {
  torch::nn::Module& module = detail::module_of(model);
  NamedTensors out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers())
    if (b.value().defined()) out.emplace_back(b.key(), b.value());
  return out;
}

// load_state_dict(model, tensors, options): loads named tensors (from any format) into the model,
// all or nothing (see LoadOptions, LoadReport). Strict: any missing, unexpected or mismatched
// tensor throws LoadError listing them all. Not strict: the tensors both sides have are loaded and
// the rest reported; a shape or dtype mismatch still throws (as PyTorch's load_state_dict does).
// On any error the model's tensors are exactly as before.
template <class M>
  requires detail::has_module<M>
LoadReport load_state_dict(M& model, const NamedTensors& tensors, const LoadOptions& options = {}) {
  return detail::load_named(state_dict(model), tensors, options, "load_state_dict: the given tensors");
}

// load(model, path, options): load_state_dict from a safetensors file (mapped, so the only copy is
// the one into the model's tensors). A malformed file throws safetensors::FormatError.
template <class M>
  requires detail::has_module<M>
LoadReport load(M& model, const std::string& path, const LoadOptions& options = {}) {
  return detail::load_named(state_dict(model), safetensors::load(path), options, "load: '" + path + "'");
}

// save(model, path, metadata): the state dict as a safetensors file (atomically; see safetensors::save).
template <class M>
  requires detail::has_module<M>
void save(M& model, const std::string& path, const std::map<std::string, std::string>& metadata = {}) {
  safetensors::save(path, state_dict(model), metadata);
}

}  // namespace modify

MODIFY_ONE_TIME_END
