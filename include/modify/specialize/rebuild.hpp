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

// rebuild_as<Impl>(slots, training): a container like Impl (Sequential or Parallel) of the slots.
template <class Impl, std::size_t... I, class... Slots>
auto rebuild_as(ChildrenOf<std::index_sequence<I...>, Slots...> slots, bool training) {
  using Rebuilt = typename Impl::template rebind<Slots...>;
  typename Rebuilt::ContainedType::children_type children{detail::get<I>(slots).module...};
  return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), training));
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
