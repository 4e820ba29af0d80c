// freeze(model [, selector]): a model whose selected parameters get no gradient, sharing them with
// the original, whose requires_grad flags are left exactly as they were.
#pragma once

#include <cstddef>
#include <memory>
#include <ostream>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <modify/detail/functional.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/holder.hpp>
#include <modify/select.hpp>
#include <modify/traits.hpp>
#include <modify/transform/transform.hpp>

namespace modify {

namespace detail {
// Registers the module's own parameters and buffers (the same tensors, flags untouched) on
// `owner`, so the wrapper's parameter names are the wrapped module's ("0.weight", not "0.module.weight").
inline void share_tensors(torch::nn::Module& owner, const torch::nn::Module& module) {
  for (const auto& p : module.named_parameters(/*recurse=*/false))
    owner.register_parameter(p.key(), p.value(), p.value().requires_grad());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) owner.register_buffer(b.key(), b.value());
}
}  // namespace detail

// FrozenImpl<H>: runs the module H with its parameters read detached. Its parameters are H's very
// tensors, registered under the same names; only this model's forward stops their gradients.
// Traits: H's.
template <class H>
class FrozenImpl : public torch::nn::Module {
  static_assert(detail::takes_weights<detail::impl_t<H>>,
                "modify: freeze: this module type cannot be run with detached parameters (supported: Linear, "
                "Conv1d/2d/3d, Embedding, PReLU, Bilinear, ElementwiseAffine and leaves with forward_with)");

 public:
  static constexpr Traits traits = traits_of<H>;
  using frozen_type = H;
  using wrapped_type = H;

  explicit FrozenImpl(H module) : torch::nn::Module("modify::Frozen"), module(std::move(module)) {
    detail::share_tensors(*this, *this->module);
  }

  template <class X>
  at::Tensor forward(const X& x) {
    return detail::apply_detached(*module, x);
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::Frozen(";
    module->pretty_print(out);
    out << ")";
  }

  H module;  // shared with the model freeze was given
};

// Frozen<H>: the handle of FrozenImpl<H>; Frozen(module) wraps a module.
template <class H>
class Frozen : public Holder<FrozenImpl<H>> {
 public:
  using Holder<FrozenImpl<H>>::Holder;
  explicit Frozen(H module) : Holder<FrozenImpl<H>>(detail::make_module<FrozenImpl<H>>(std::move(module))) {}
};

namespace detail {
template <class H>
inline constexpr bool is_frozen = requires { typename impl_t<H>::frozen_type; };
}  // namespace detail

namespace select {
// frozen: modules wrapped by freeze.
inline constexpr auto frozen = where<[]<class M>() { return detail::is_frozen<M>; }>;
}  // namespace select

// freeze(model, selector = select::param && !select::frozen): each selected leaf becomes a
// Frozen module sharing it; everything else is shared as it is.
// A selection that picks nothing does not compile (a model without parameters has nothing to freeze).
template <class M, class S = std::remove_cvref_t<decltype(select::param && !select::frozen)>>
auto freeze(const M& model, S selector = {}) {
  constexpr std::size_t selected = detail::selected_in<S, M>;
  static_assert(selected > 0, "modify: freeze: the selection matches no module of the model");
  if constexpr (selected == 0) return model;
  else return detail::replace_each(model, selector, []<class H>(const H& module) { return Frozen<H>(module); });
}

// unfreeze(model): the model with every Frozen module replaced by the module it wraps. A model
// with no Frozen module does not compile.
template <class M>
auto unfreeze(const M& model) {
  constexpr std::size_t frozen = detail::selected_in<decltype(select::frozen), M>;
  static_assert(frozen > 0, "modify: unfreeze: the model has no Frozen module");
  if constexpr (frozen == 0) return model;
  else return detail::replace_each(model, select::frozen, [](const auto& module) { return module->module; });
}

}  // namespace modify
