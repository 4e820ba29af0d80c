// Calling one child's forward: checking its input against its arity at compile time, statically.
#pragma once

#include <tuple>
#include <type_traits>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/errors.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>
#include <modify/value.hpp>

namespace modify::detail {

// Invalid: what a call yields after a compile-time error has been reported, so that one mistake
// gives one error and not a cascade through every later module.
struct Invalid {};

template <class X>
inline constexpr bool poisoned = std::is_same_v<X, Invalid>;
template <class... Xs>
inline constexpr bool poisoned<std::tuple<Xs...>> = (poisoned<Xs> || ...);

template <class Impl>
concept container = requires { Impl::is_container; };

// check_input<Impl, X>(): whether a module of type Impl can take an X; if not, the static_assert
// below is the first error the user sees (the "required from" lines above it name the module).
template <class Impl, class X>
constexpr bool check_input() {
  constexpr Arity arity = traits_of<Impl>.arity;
  if constexpr (!Value<X>) {
    static_assert(Value<X>, "modify: a module receives something that is not a value; values are torch::Tensor "
                            "or std::tuple of values");
    return false;
  } else if constexpr (arity == Arity::unary) {
    static_assert(!TupleValue<X>, "modify: a Unary module receives a tuple; it takes a single tensor");
    return !TupleValue<X>;
  } else if constexpr (TensorValue<X>) {
    static_assert(!TensorValue<X>, "modify: a module that takes a tuple (Binary, Ternary or TupleArg) receives "
                                   "a single tensor");
    return false;
  } else if constexpr (arity == Arity::binary) {
    static_assert(tuple_arity_v<X> == 2, "modify: a Binary module receives a tuple whose size is not 2");
    return tuple_arity_v<X> == 2;
  } else if constexpr (arity == Arity::ternary) {
    static_assert(tuple_arity_v<X> == 3, "modify: a Ternary module receives a tuple whose size is not 3");
    return tuple_arity_v<X> == 3;
  } else {
    return true;
  }
}

// takes_spread<H, X>: the module's forward takes the elements of tuple X as separate arguments.
template <class H, class X>
inline constexpr bool takes_spread = false;
template <class H, class... Xs>
inline constexpr bool takes_spread<H, std::tuple<Xs...>> =
    requires(H& module, const Xs&... xs) { module->forward(xs...); };

// invoke_module(module, x): module's forward on x (a tuple is spread over forward's parameters when the
// module takes them one by one, as torch::nn::Bilinear does).
template <class H, class X>
auto invoke_module(H& module, const X& x) {
  using Impl = impl_t<H>;
  if constexpr (!Module<H> || !std::is_base_of_v<torch::detail::ModuleHolderIndicator, H>) {
    return Invalid{};  // already reported where the container was declared
  } else if constexpr (poisoned<X> || !check_input<Impl, X>()) {
    return Invalid{};
  } else if constexpr (requires { module->forward(x); }) {
    return module->forward(x);
  } else if constexpr (takes_spread<H, X>) {
    return std::apply([&](const auto&... xs) { return module->forward(xs...); }, x);
  } else {
    static_assert(dependent_false<H>, "modify: this module's forward cannot take the elements of the tuple it "
                                      "receives");
    return Invalid{};
  }
}

// call_child<I>(container, x): invoke the container's I-th child, adding the child's name and the
// input's shapes to any exception it throws. The try block costs nothing unless something throws.
template <std::size_t I, class Container, class X>
auto call_child(Container& container, const X& x) {
  auto& child = detail::get<I>(container.child_modules);
  if constexpr (poisoned<X>) {
    return Invalid{};
  } else {
    using Result = decltype(detail::invoke_module(child, x));
    static_assert(Value<Result> || poisoned<Result>,
                  "modify: a module's forward returns something that is not a value (a tensor or a tuple of values)");
    try {
      return detail::invoke_module(child, x);
    } catch (...) {
      rethrow_in(Container::names[I], child->name(), x);
    }
  }
}

}  // namespace modify::detail
