// walk<Options>(model, path, report): the three passes in one walk over the model. Each Sequential's
// children are stripped (strip.hpp), lowered (lower.hpp) and pushed one by one into the folded list
// (fold.hpp), so every container is rebuilt once: each rebuilt container is a new class, and fewer
// of them compile faster than three successive rebuilds of the whole tree (bench/README.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/fixed_string.hpp>  // dotted
#include <modify/ops/structure.hpp>
#include <modify/specialize/fold.hpp>
#include <modify/specialize/lower.hpp>
#include <modify/specialize/rebuild.hpp>
#include <modify/specialize/report.hpp>
#include <modify/specialize/strip.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::detail::spec {

template <SpecializeOptions O, class H>
auto walk(const H& module, std::string_view path, SpecializeReport& report);

// walk_from<O, Impl, I>(seq, path, slots, report): children I.. of a Sequential, each left out
// (strip) or walked and pushed onto the folded slots before it.
template <SpecializeOptions O, class Impl, std::size_t I, class H, class Slots>
auto walk_from(const H& seq, std::string_view path, Slots&& slots, SpecializeReport& report) {
  if constexpr (I == Impl::size) {
    return std::move(slots);
  } else {
    auto s = slot<Impl, I>(seq);
    if constexpr (droppable<O, typename decltype(s)::named_module_type>) {
      ++report.dropped;
      return walk_from<O, Impl, I + 1>(seq, path, std::move(slots), report);
    } else {
      auto walked = walk<O>(s.module, dotted(path, Impl::names[I]), report);
      return walk_from<O, Impl, I + 1>(
          seq, path, push(std::move(slots), Named<decltype(s)::name, decltype(walked)>{walked}, report), report);
    }
  }
}

// walk<O>(module, path, report): see the header comment. A Sequential left with no children is an
// Identity; one whose children fold into one is that child. Outside a Sequential (in a Parallel, or
// the model itself) a dropped unary module becomes an Identity (other arities are kept: an Identity
// takes one tensor). Leaves no pass knows are returned as they are: the same module objects.
template <SpecializeOptions O, class H>
auto walk(const H& module, std::string_view path, SpecializeReport& report) {
  using Impl = impl_t<H>;
  if constexpr (is_sequential<Impl>) {
    auto slots = walk_from<O, Impl, 0>(module, path, Children<>{}, report);
    constexpr std::size_t kept = std::tuple_size_v<decltype(slots)>;
    if constexpr (kept == 0) return Identity();
    else if constexpr (kept == 1 && Impl::size > 1) return detail::get<0>(slots).module;
    else return rebuild_as<Impl>(std::move(slots), module->is_training());
  } else if constexpr (is_parallel<Impl>) {
    return map_children(module, [&](const auto& child, std::string_view name, auto /*index*/) {
      return walk<O>(child, dotted(path, name), report);
    });
  } else if constexpr (droppable<O, H> && traits_of<H>.arity == Arity::unary && !is_identity<Impl>) {
    ++report.dropped;
    return Identity();
  } else if constexpr (lowerable<H>()) {
    return lower_leaf(module, path, report);
  } else {
    return module;
  }
}

}  // namespace modify::detail::spec

MODIFY_ONE_TIME_END
