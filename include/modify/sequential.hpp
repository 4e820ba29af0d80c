// Sequential: passes its input through its children in order; a model's main way to compose.
#pragma once

#include <memory>
#include <utility>

#include <torch/nn/pimpl.h>

#include <modify/detail/container.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail {
// Chain<V> | Step<I, C>: applies child I of C to the value in the chain. Sequential's forward is a
// fold over these, so the instantiations stay flat (no recursion through the children) and a
// compile error inside one child shows a short "required from" trail.
template <class V>
struct Chain {
  V value;
};
template <std::size_t I, class C>
struct Step {
  C& container;
};
template <class V, std::size_t I, class C>
auto operator|(Chain<V>&& in, Step<I, C> step) {
  return Chain<decltype(call_child<I>(step.container, in.value))>{call_child<I>(step.container, in.value)};
}

template <std::size_t N>
constexpr Traits sequential_traits(const std::array<Traits, N>& children) {
  if constexpr (N == 0) return Traits{};
  else return {children[0].arity, any_params(children), all_linear(children), common_kind(children)};
}
}  // namespace detail

template <class... Cs>
class Sequential;

// SequentialImpl<Cs...>: the module behind Sequential. Its input is its first child's input.
// Traits: the first child's arity; Param if any child is; Linear if all are; the kind all share.
MODIFY_ONE_TIME_BEGIN
template <class... Cs>
class SequentialImpl : public detail::ContainerModule, public detail::Container<SequentialImpl<Cs...>, Cs...> {
  static_assert(sizeof...(Cs) > 0,
                "modify: an empty Sequential has no children; use modify::Identity for a model that returns its input");
  using Base = detail::Container<SequentialImpl<Cs...>, Cs...>;

 public:
  static constexpr Traits traits = detail::sequential_traits(std::array<Traits, sizeof...(Cs)>{traits_of<Cs>...});

  explicit SequentialImpl(Cs... children) : SequentialImpl(detail::from_children, detail::unwrap_children(children...)) {}
  SequentialImpl(detail::from_children_t, typename Base::children_type&& children, bool training = true)
      : ContainerModule("modify::Sequential", training), Base(*this, std::move(children)) {}

  // clone(): a deep copy; the copy's parameters are new tensors with the same values.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override {
    return this->clone_container(device, this->is_training());
  }

  // rebind<Ns...>: the handle of a Sequential of other children (used by transforms).
  template <class... Ns>
  using rebind = Sequential<Ns...>;

  MODIFY_ONE_TIME_END
  // forward(x): the last child's output; its type follows from x's type at compile time.
  template <class X>
  auto forward(const X& x) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::Chain<const X&>{x} | ... | detail::Step<I, SequentialImpl>{*this}).value;
    }(std::index_sequence_for<Cs...>{});
  }
};

MODIFY_ONE_TIME_BEGIN

// Sequential<Cs...>: a shared handle to a SequentialImpl (copies share the module and its
// parameters; modify::clone makes a deep copy). Built by class template argument deduction:
//   modify::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU(), modify::named<"out">(torch::nn::Linear(8, 1)))
// Note: Sequential(s) with s a Sequential copies the handle, as with std::tuple; nest one
// Sequential alone in another by naming the type: Sequential<decltype(s)>(s).
template <class... Cs>
class Sequential : public Holder<SequentialImpl<Cs...>> {
  using Base = Holder<SequentialImpl<Cs...>>;

 public:
  // Naming the traits instantiates the Impl, and with it the checks of the children.
  static constexpr Traits traits = SequentialImpl<Cs...>::traits;

  explicit Sequential(Cs... children)
      : Base(SequentialImpl<Cs...>::assemble(detail::unwrap_children(children...), /*training=*/true)) {}
  /* implicit */ Sequential(std::shared_ptr<SequentialImpl<Cs...>> impl) : Base(std::move(impl)) {}
  /* implicit */ Sequential(std::nullptr_t) : Base(nullptr) {}
};

MODIFY_ONE_TIME_END

}  // namespace modify
