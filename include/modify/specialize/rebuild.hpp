// What the specialisation passes share: children as named slots, and rebuilding a container of
// other children (each keeps the name it had, so error messages still give the model's own paths).
#pragma once

#include <cstddef>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/detail/container.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/named.hpp>
#include <modify/parallel.hpp>
#include <modify/sequential.hpp>
#include <modify/transform/transform.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::detail::spec {

template <class Impl>
inline constexpr bool is_sequential = false;
template <class... Cs>
inline constexpr bool is_sequential<SequentialImpl<Cs...>> = true;
template <class Impl>
inline constexpr bool is_parallel = false;
template <class... Cs>
inline constexpr bool is_parallel<ParallelImpl<Cs...>> = true;

// slot<Impl, I>(module): child I of a container as Named<its name, its handle>; unnamed children
// are named by their position, so that a rebuilt container keeps the original paths.
template <class Impl, std::size_t I, class H>
auto slot(const H& module) {
  using Child = child_type_t<Impl, I>;
  using M = typename child_info<Child>::module_type;
  return Named<child_info<Child>::template fixed_name<I>, M>{detail::get<I>(module->child_modules)};
}

// Unbuilt<Impl, Slots>: a Sequential like Impl that the walk has folded but not built: its folded
// slots and its training mode. A neighbour in the enclosing Sequential may still fold into its
// first or last child; it is built with the enclosing one, so each Sequential is built once.
template <class Impl, class Slots>
struct Unbuilt {
  using sequential_type = Impl;
  Slots slots;
  bool training;
};

template <class H>
inline constexpr bool is_unbuilt = false;
template <class Impl, class Slots>
inline constexpr bool is_unbuilt<Unbuilt<Impl, Slots>> = true;

template <class Impl, std::size_t... I, class... Slots>
auto rebuild_as(ChildrenOf<std::index_sequence<I...>, Slots...> slots, bool training);

// built(module): the module, with an Unbuilt Sequential built (and the Unbuilt ones in it).
template <class H>
auto built(H module) {
  if constexpr (is_unbuilt<H>)
    return rebuild_as<typename H::sequential_type>(std::move(module.slots), module.training);
  else
    return module;
}

// rebuild_as<Impl>(slots, training): a container like Impl (Sequential or Parallel) of the slots.
template <class Impl, std::size_t... I, class... Slots>
auto rebuild_as(ChildrenOf<std::index_sequence<I...>, Slots...> slots, bool training) {
  using Rebuilt = typename Impl::template rebind<
      Named<Slots::name, decltype(built(std::declval<typename Slots::named_module_type>()))>...>;
  typename Rebuilt::ContainedType::children_type children{built(std::move(detail::get<I>(slots).module))...};
  return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), training));
}

// replace_slot<K>(slots, module): the slots with slot K's module replaced (its name kept).
template <std::size_t K, std::size_t... I, class... Slots, class M>
auto replace_slot(const ChildrenOf<std::index_sequence<I...>, Slots...>& slots, M module) {
  auto pick = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
    using S = std::tuple_element_t<J, std::tuple<Slots...>>;
    if constexpr (J == K) return Named<S::name, M>{module};
    else return detail::get<J>(slots);
  };
  return Children<decltype(pick(std::integral_constant<std::size_t, I>{}))...>{
      pick(std::integral_constant<std::size_t, I>{})...};
}

// map_children(module, f): a container like module's with child I replaced by f(child I, its
// name, std::integral_constant<std::size_t, I>): the shape a pass takes when it does not change
// the number of children.
template <class H, class F>
auto map_children(const H& module, F&& f) {
  using Impl = impl_t<H>;
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto mapped = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
      auto s = slot<Impl, J>(module);
      using Index = std::integral_constant<std::size_t, J>;
      return Named<decltype(s)::name, decltype(f(s.module, Impl::names[J], Index{}))>{
          f(s.module, Impl::names[J], Index{})};
    };
    using Slots = Children<decltype(mapped(std::integral_constant<std::size_t, I>{}))...>;
    // Braced initialisation: f is called on the children in order.
    return rebuild_as<Impl>(Slots{mapped(std::integral_constant<std::size_t, I>{})...}, module->is_training());
  }(std::make_index_sequence<Impl::size>{});
}

}  // namespace modify::detail::spec

MODIFY_ONE_TIME_END
