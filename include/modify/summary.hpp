// summary(model, example_input): a torchinfo-style table of a model's modules, output shapes and parameters.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <modify/detail/children.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/errors.hpp>
#include <modify/fixed_string.hpp>  // dotted
#include <modify/parallel.hpp>
#include <modify/sequential.hpp>
#include <modify/transform/freeze.hpp>
#include <modify/transform/lora.hpp>
#include <modify/value.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

// SummaryRow: one module of the model, in the order for_each_module visits them.
struct SummaryRow {
  std::string path;       // dotted path ("1.1.c_fc"); empty for the model itself
  std::string type;       // "torch::nn::Conv2d", "modify::Sequential", "modify::LoRA(torch::nn::Linear)"
  std::size_t depth = 0;  // 0 for the model, 1 for its children, ...
  std::string output;     // output shape: "[8, 16, 28, 28]", or nested tuples "([8, 4], ([8, 2], [8, 2]))"
  int64_t parameters = 0; // elements of the module's parameters (a container: everything below it)
  int64_t trainable = 0;  // of which a training step moves (adapters yes; Frozen and LoRA bases no)
};

// Summary: the rows and the totals. Print it with operator<<.
struct Summary {
  std::string input;               // the example input's shape
  std::vector<SummaryRow> rows;    // rows[0] is the model itself
  int64_t total_parameters = 0;    // the sum over leaves; equals the numel summed over named_parameters()
  int64_t trainable_parameters = 0;
  int64_t frozen_parameters = 0;   // total - trainable
  int64_t parameter_bytes = 0;     // the parameters' storage, numel * element size
};

namespace detail {

template <class Impl>
inline constexpr bool is_sequential_impl = false;
template <class... Cs>
inline constexpr bool is_sequential_impl<SequentialImpl<Cs...>> = true;

// shape_of(value): a value's shape alone, tuples nested as they are: "([8, 4], ([8, 2], [8, 2]))".
template <Value V>
std::string shape_of(const V& value) {
  std::ostringstream out;
  write_value(out, value, [](std::ostream& o, const at::Tensor& t) {
    if (t.defined()) o << t.sizes();
    else o << "undefined";
  });
  return out.str();
}

// The name a module prints under, without its options; wrappers show what they wrap.
template <class H>
std::string summary_type(const H& module) {
  std::ostringstream printed;
  module->pretty_print(printed);
  std::string name = printed.str().substr(0, printed.str().find('('));
  if constexpr (is_lora<H>) return name + '(' + summary_type(module->base) + ')';
  else if constexpr (is_frozen<H>) return name + '(' + summary_type(module->module) + ')';
  else return name;
}

// Fills a leaf's counts: LoRA trains its adapters only, Frozen nothing, any other leaf the
// parameters that require a gradient.
template <class H>
void count_leaf(const H& leaf, SummaryRow& row) {
  for (const auto& p : leaf->parameters()) row.parameters += p.numel();
  if constexpr (is_lora<H>) {
    for (const auto& a : leaf->adapters)
      for (const auto& t : {a.A, a.B}) row.trainable += t.requires_grad() ? t.numel() : 0;
  } else if constexpr (!is_frozen<H>) {
    for (const auto& p : leaf->parameters()) row.trainable += p.requires_grad() ? p.numel() : 0;
  }
}

template <class H, class X>
auto summary_walk(H& module, const X& x, const std::string& path, std::size_t depth, std::vector<SummaryRow>& rows);

// The summary's own walk mirrors Sequential's fold (Chain/Step in sequential.hpp), recording a
// row per module on the way; the model's forward is not involved.
template <class V>
struct WalkChain {
  V value;
};
template <std::size_t I, class C>
struct WalkStep {
  C& container;
  const std::string& path;
  std::size_t depth;
  std::vector<SummaryRow>& rows;
};
template <class V, std::size_t I, class C>
auto operator|(WalkChain<V>&& in, WalkStep<I, C> step) {
  auto y = summary_walk(detail::get<I>(step.container.child_modules), in.value, dotted(step.path, C::names[I]),
                        step.depth + 1, step.rows);
  return WalkChain<decltype(y)>{std::move(y)};
}

// summary_walk(module, x, ...): module's output on x, computed as its forward would compute it,
// with one row per module appended to `rows` (a container's row before its children's).
template <class H, class X>
auto summary_walk(H& module, const X& x, const std::string& path, std::size_t depth, std::vector<SummaryRow>& rows) {
  using Impl = impl_t<H>;
  const std::size_t row = rows.size();
  rows.push_back({path, summary_type(module), depth, "", 0, 0});
  auto y = [&] {
    if constexpr (!container<Impl>) {
      try {
        return invoke_module(module, x);
      } catch (const ForwardError&) {
        throw;
      } catch (const std::exception& e) {
        throw ForwardError(path, module->name(), describe(x), message_of(e));
      }
    } else if constexpr (is_sequential_impl<Impl>) {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return (WalkChain<X>{x} | ... | WalkStep<I, Impl>{*module, path, depth, rows}).value;
      }(std::make_index_sequence<Impl::size>{});
    } else {
      if constexpr (!check_parallel_input<Impl::size, X>()) {
        return Invalid{};
      } else {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
          // Braced initialisation keeps the branches' order (and so the rows').
          return std::tuple<decltype(summary_walk(detail::get<I>(module->child_modules), std::get<I>(x), path, depth, rows))...>{
              summary_walk(detail::get<I>(module->child_modules), std::get<I>(x), dotted(path, Impl::names[I]),
                           depth + 1, rows)...};
        }(std::make_index_sequence<Impl::size>{});
      }
    }
  }();
  if constexpr (Value<decltype(y)>) rows[row].output = shape_of(y);
  if constexpr (container<Impl>) {
    for (std::size_t i = row + 1; i < rows.size(); ++i)
      if (rows[i].depth == depth + 1) {
        rows[row].parameters += rows[i].parameters;
        rows[row].trainable += rows[i].trainable;
      }
  } else {
    count_leaf(module, rows[row]);
  }
  return y;
}

// Puts every module of a model back in the training mode it had, on every way out of a scope.
class TrainingModesGuard {
 public:
  explicit TrainingModesGuard(torch::nn::Module& model) : modules_(model.modules(/*include_self=*/true)) {
    for (const auto& m : modules_) modes_.push_back(m->is_training());
  }
  ~TrainingModesGuard() {
    // Preorder: train(mode) also sets the subtree, which the later (deeper) entries then correct.
    for (std::size_t i = 0; i < modules_.size(); ++i) modules_[i]->train(modes_[i]);
  }
  TrainingModesGuard(const TrainingModesGuard&) = delete;
  TrainingModesGuard& operator=(const TrainingModesGuard&) = delete;

 private:
  std::vector<std::shared_ptr<torch::nn::Module>> modules_;
  std::vector<bool> modes_;
};

inline std::string with_separators(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? '-' + out : out;
}

// "yes", "frozen", "3,072 of 12,288" (a LoRA layer: its adapters), or "" without parameters.
inline std::string trainable_column(const SummaryRow& row) {
  if (row.parameters == 0) return "";
  if (row.trainable == row.parameters) return "yes";
  if (row.trainable == 0) return "frozen";
  return with_separators(row.trainable) + " of " + with_separators(row.parameters);
}

}  // namespace detail

namespace detail {
template <class M, class X>
Summary summarise(M& model, const X& example_input) {
  Summary result;
  result.input = shape_of(example_input);
  {
    TrainingModesGuard restore(*model);
    torch::NoGradGuard no_grad;
    model->eval();
    summary_walk(model, example_input, std::string(), 0, result.rows);
  }
  for (const SummaryRow& row : result.rows)
    if (row.depth == 0) {
      result.total_parameters += row.parameters;
      result.trainable_parameters += row.trainable;
    }
  result.frozen_parameters = result.total_parameters - result.trainable_parameters;
  for (const auto& p : model->parameters()) result.parameter_bytes += p.numel() * int64_t(p.element_size());
  return result;
}
}  // namespace detail

// summary(model, example_input): runs the example input through the model once, in eval mode and
// without gradients, and returns one row per module (path, type, output shape, parameters,
// trainable) with totals. The model is left as it was: every module's training mode is restored
// and nothing is written (batch norms read their running statistics in eval mode).
// A run-time error in a module is a ForwardError naming its path, as forward's are.
template <class M, class X>
Summary summary(M& model, const X& example_input) {
  constexpr bool handle = std::is_base_of_v<torch::detail::ModuleHolderIndicator, M>;
  static_assert(handle, "modify: summary(model, example_input): model is not a module handle (such as a modify::Sequential)");
  static_assert(Value<X>, "modify: summary(model, example_input): the example input is not a value (a torch::Tensor "
                          "or a std::tuple of values)");
  if constexpr (handle && Value<X>) return detail::summarise(model, example_input);
  else return Summary{};
}

// Prints the table: types indented by depth, then the totals.
inline std::ostream& operator<<(std::ostream& out, const Summary& s) {
  std::vector<std::string> types;
  std::size_t path_w = 4, type_w = 4, output_w = 12, params_w = 6, trainable_w = 9;  // at least the headings
  for (const SummaryRow& r : s.rows) {
    types.push_back(std::string(2 * r.depth, ' ') + r.type);
    path_w = std::max(path_w, r.path.empty() ? std::size_t{7} : r.path.size());
    type_w = std::max(type_w, types.back().size());
    output_w = std::max(output_w, r.output.size());
    params_w = std::max(params_w, detail::with_separators(r.parameters).size());
    trainable_w = std::max(trainable_w, detail::trainable_column(r).size());
  }
  const std::size_t width = path_w + type_w + output_w + params_w + trainable_w + 8;
  const std::string rule(width, '-');
  out << "input " << s.input << "\n" << rule << "\n" << std::left << std::setw(int(path_w)) << "path" << "  "
      << std::setw(int(type_w)) << "type" << "  " << std::setw(int(output_w)) << "output shape" << "  " << std::right
      << std::setw(int(params_w)) << "params" << "  " << std::left << "trainable\n" << rule << "\n";
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    const SummaryRow& r = s.rows[i];
    out << std::left << std::setw(int(path_w)) << (r.path.empty() ? "(model)" : r.path) << "  " << std::setw(int(type_w))
        << types[i] << "  " << std::setw(int(output_w)) << r.output << "  " << std::right << std::setw(int(params_w))
        << detail::with_separators(r.parameters) << (r.parameters ? "  " + detail::trainable_column(r) : "") << "\n";
  }
  out << rule << "\n"
      << "total params:         " << detail::with_separators(s.total_parameters) << "\n"
      << "trainable params:     " << detail::with_separators(s.trainable_parameters) << "\n"
      << "non-trainable params: " << detail::with_separators(s.frozen_parameters) << "\n"
      << "params size:          " << std::fixed << std::setprecision(2) << double(s.parameter_bytes) / (1024.0 * 1024.0)
      << " MiB (" << detail::with_separators(s.parameter_bytes) << " bytes)\n"
      << std::defaultfloat << rule << "\n";
  return out;
}

}  // namespace modify

MODIFY_ONE_TIME_END
