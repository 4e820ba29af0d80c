// Parallel: takes a tuple with one value per child and applies child i to element i.
#pragma once

#include <memory>
#include <tuple>
#include <utility>

#include <torch/nn/pimpl.h>

#include <modify/detail/container.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail {
// check_parallel_input<Branches, X>(): a Parallel of `Branches` children can take an X. On a size
// mismatch GCC adds "the comparison reduces to '(values == branches)'" under the message.
template <std::size_t Branches, class X>
constexpr bool check_parallel_input() {
  if constexpr (poisoned<X>) {
    return false;
  } else if constexpr (!Value<X>) {
    static_assert(Value<X>, "modify: a Parallel receives something that is not a value; values are torch::Tensor "
                            "or std::tuple of values");
    return false;
  } else if constexpr (TensorValue<X>) {
    static_assert(!TensorValue<X>, "modify: a Parallel receives a single tensor; it takes a tuple with one value "
                                   "per branch (use modify::Copy<N> to make one)");
    return false;
  } else {
    constexpr std::size_t values_received = tuple_arity_v<X>;
    static_assert(values_received == Branches,
                  "modify: a Parallel receives a tuple whose size differs from its number of branches");
    return values_received == Branches;
  }
}

template <std::size_t N>
constexpr Traits parallel_traits(const std::array<Traits, N>& children) {
  return {arity_of_tuple(N), any_params(children), all_linear(children), common_kind(children)};
}
}  // namespace detail

template <class... Cs>
class Parallel;

// ParallelImpl<Cs...>: the module behind Parallel. Output: the tuple of its children's outputs.
// Traits: Binary for 2 branches, Ternary for 3, TupleArg otherwise; Param if any child is; Linear
// if all are; the kind all share.
MODIFY_ONE_TIME_BEGIN
template <class... Cs>
class ParallelImpl : public detail::ContainerModule, public detail::Container<ParallelImpl<Cs...>, Cs...> {
  static_assert(sizeof...(Cs) > 0, "modify: an empty Parallel has no branches");
  using Base = detail::Container<ParallelImpl<Cs...>, Cs...>;

 public:
  static constexpr Traits traits = detail::parallel_traits(std::array<Traits, sizeof...(Cs)>{traits_of<Cs>...});

  explicit ParallelImpl(Cs... children) : ParallelImpl(detail::from_children, detail::unwrap_children(children...)) {}
  ParallelImpl(detail::from_children_t, typename Base::children_type&& children, bool training = true)
      : ContainerModule("modify::Parallel", training), Base(*this, std::move(children)) {}

  // clone(): a deep copy; the copy's parameters are new tensors with the same values.
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override {
    return this->clone_container(device, this->is_training());
  }

  // rebind<Ns...>: the handle of a Parallel of other children (used by transforms).
  template <class... Ns>
  using rebind = Parallel<Ns...>;

  MODIFY_ONE_TIME_END
  template <class X>
  auto forward(const X& x) {
    if constexpr (!detail::check_parallel_input<sizeof...(Cs), X>()) {
      return detail::Invalid{};
    } else {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        // Braced initialisation runs the branches left to right.
        return std::tuple<decltype(detail::call_child<I>(*this, std::get<I>(x)))...>{
            detail::call_child<I>(*this, std::get<I>(x))...};
      }(std::index_sequence_for<Cs...>{});
    }
  }
};

MODIFY_ONE_TIME_BEGIN

// Parallel<Cs...>: a shared handle to a ParallelImpl, built like Sequential:
//   modify::Parallel(modify::Identity(), block)
template <class... Cs>
class Parallel : public Holder<ParallelImpl<Cs...>> {
  using Base = Holder<ParallelImpl<Cs...>>;

 public:
  // Naming the traits instantiates the Impl, and with it the checks of the children.
  static constexpr Traits traits = ParallelImpl<Cs...>::traits;

  explicit Parallel(Cs... children)
      : Base(ParallelImpl<Cs...>::assemble(detail::unwrap_children(children...), /*training=*/true)) {}
  /* implicit */ Parallel(std::shared_ptr<ParallelImpl<Cs...>> impl) : Base(std::move(impl)) {}
  /* implicit */ Parallel(std::nullptr_t) : Base(nullptr) {}
};

MODIFY_ONE_TIME_END

}  // namespace modify
