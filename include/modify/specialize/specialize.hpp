// specialize(model, example): an inference-only model computing what model->eval() computes, faster:
// Dropout and debug modules dropped, LoRA merged, affine maps and Linear chains folded, Linear as
// addmm into buffers planned for the example's shape, activations and residual adds in place, all
// under c10::InferenceMode. The model given is never changed; tensors no pass changed are shared.
#pragma once

#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <c10/core/InferenceMode.h>
#include <torch/nn/module.h>

#include <modify/detail/children.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/specialize/ops.hpp>
#include <modify/specialize/report.hpp>
#include <modify/specialize/walk.hpp>
#include <modify/traits.hpp>
#include <modify/value.hpp>

namespace modify {

namespace detail::spec {

// contains_buffer<H>: some module under H writes a planned buffer.
template <class H>
constexpr bool contains_buffer() {
  using Impl = impl_t<H>;
  if constexpr (container<Impl>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (false || ... || contains_buffer<typename child_info<child_type_t<Impl, I>>::module_type>());
    }(std::make_index_sequence<Impl::size>{});
  } else if constexpr (requires { typename Impl::branch_type; }) {
    return contains_buffer<typename Impl::branch_type>();
  } else {
    return inference::output_facts<H>.buffered;
  }
}

// may_return_buffer<H>: H's output may be (a view of) a planned buffer. A Sequential whose last
// child is one of specialize's own modules returns what that child says; after any other module
// (which may return its input or a view of it), any buffer before it counts.
template <class H>
constexpr bool may_return_buffer() {
  using Impl = impl_t<H>;
  if constexpr (is_sequential<Impl>) {
    using Last = typename child_info<child_type_t<Impl, Impl::size - 1>>::module_type;
    if constexpr (inference::output_facts<Last>.owned) return may_return_buffer<Last>();
    else return contains_buffer<H>();
  } else {
    return contains_buffer<H>();
  }
}

MODIFY_ONE_TIME_BEGIN

// add_plans(module, report): the buffers planned under module, into the report.
template <class H>
void add_plans(const H& module, SpecializeReport& report) {
  using Impl = impl_t<H>;
  if constexpr (container<Impl>) {
    unpack(module->child_modules, [&](const auto&... child) { (add_plans(child, report), ...); });
  } else if constexpr (std::is_same_v<Impl, inference::LinearOpImpl>) {
    module->plan.add_to(report);
  } else if constexpr (requires { typename Impl::branch_type; }) {
    add_plans(module->branch, report);
  } else if constexpr (requires { module->producer; }) {
    add_plans(module->producer, report);
  } else if constexpr (requires { module->folded; }) {
    add_plans(module->folded, report);
    add_plans(module->first, report);
    add_plans(module->second, report);
  }
}

MODIFY_ONE_TIME_END

inline at::Tensor independent(const at::Tensor& t) { return t.clone(); }
template <class... Ts>
std::tuple<Ts...> independent(const std::tuple<Ts...>& value) {
  return std::apply([](const auto&... v) { return std::tuple<Ts...>{independent(v)...}; }, value);
}

// check_example<M, X>(): the example input has the structure the model's arity takes, reported
// before the model's forward is instantiated with it.
template <class M, class X>
constexpr bool check_example() {
  constexpr Arity arity = traits_of<M>.arity;
  if constexpr (!Value<X>) {
    static_assert(Value<X>, "modify: specialize: the example input is not a value (a torch::Tensor or a std::tuple "
                            "of values)");
    return false;
  } else if constexpr (arity == Arity::unary) {
    static_assert(!TupleValue<X>, "modify: specialize: the model takes a single tensor, but the example input is a tuple");
    return !TupleValue<X>;
  } else {
    static_assert(TupleValue<X>, "modify: specialize: the model takes a tuple, but the example input is a single tensor");
    return TupleValue<X>;
  }
}

}  // namespace detail::spec

// SpecializedImpl<M, O>: the specialised model M (Sequential/Parallel of inference modules and the
// modules no pass changed, shared with the original) and what specialize did. Calls run under
// c10::InferenceMode, so outputs are inference tensors (no autograd). Its buffers make one object
// unsafe to call from two threads at once; clone it per thread. Traits: the original model's.
template <class M, SpecializeOptions O>
class SpecializedImpl : public torch::nn::Module {
 public:
  static constexpr Traits traits = traits_of<M>;
  static constexpr bool clones_output = !O.return_buffer && detail::spec::may_return_buffer<M>();

  SpecializedImpl(M model, SpecializeReport report)
      : torch::nn::Module("modify::Specialized"), model(std::move(model)), report(report) {
    register_module("model", this->model.ptr());
  }

  // forward(x): the model's output on x, as a tensor independent of the buffers (unless
  // SpecializeOptions::return_buffer is set: then the next call overwrites it).
  template <class X>
  auto forward(const X& x) {
    c10::InferenceMode inference;
    if constexpr (clones_output) return detail::spec::independent(model->forward(x));
    else return model->forward(x);
  }

  void pretty_print(std::ostream& out) const override { out << "modify::Specialized"; }

  M model;
  SpecializeReport report;
};

template <class M, SpecializeOptions O>
class Specialized : public Holder<SpecializedImpl<M, O>> {
 public:
  using Holder<SpecializedImpl<M, O>>::Holder;
};

MODIFY_ONE_TIME_BEGIN

// specialize<Options>(model, example): see the header comment. `model` must be in eval mode
// (every module of it), since the result computes what eval() computes; `example` fixes the shapes
// the buffers are planned for (a call with other shapes re-plans them and stays correct).
//   auto fast = modify::specialize(model, torch::randn({1, 64}));
//   std::cout << fast->report;  at::Tensor y = fast(x);
template <SpecializeOptions O = SpecializeOptions{}, class M, class X>
auto specialize(const M& model, const X& example) {
  static_assert(Module<M> && std::is_base_of_v<torch::detail::ModuleHolderIndicator, M>,
                "modify: specialize: the model is not a modify model (a module handle with declared traits, such "
                "as a modify::Sequential)");
  if constexpr (!Module<M> || !std::is_base_of_v<torch::detail::ModuleHolderIndicator, M> ||
                !detail::spec::check_example<M, X>()) {
    return;
  } else {
    for (const auto& item : model->named_modules("", /*include_self=*/true))
      if (item.value()->is_training())
        throw std::invalid_argument("modify: specialize: the module '" + (item.key().empty() ? "<model>" : item.key()) +
                                    "' is in training mode; call model->eval() first (the specialised model computes "
                                    "what eval() computes)");
    SpecializeReport report;
    auto folded = detail::spec::walk<O>(model, "", report);
    using Result = Specialized<decltype(folded), O>;
    Result result(detail::make_module<typename Result::ContainedType>(folded, report));
    result(example);  // plans the buffers for the example's shapes
    detail::spec::add_plans(result->model, result->report);
    return result;
  }
}

MODIFY_ONE_TIME_END

}  // namespace modify
