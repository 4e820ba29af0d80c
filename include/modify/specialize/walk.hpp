// walk<Options>(model, path, report): the three passes in one walk over the model. Each Sequential's
// children are stripped (strip.hpp), lowered (lower.hpp) and pushed one by one into the folded list
// (fold.hpp), so every container is rebuilt once: each rebuilt container is a new class, and fewer
// of them compile faster than three successive rebuilds of the whole tree (bench/README.md).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
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

// walked_t<O, H>: what walk<O> makes of a module of handle type H.
template <SpecializeOptions O, class H>
using walked_t = decltype(walk<O>(std::declval<const H&>(), std::string_view{}, std::declval<SpecializeReport&>()));

template <class Impl, std::size_t I>
using child_module_t = typename child_info<child_type_t<Impl, I>>::module_type;

// as_walked<Impl>(slots, training): what a Sequential like Impl becomes once its children are
// folded into `slots`: an Identity if none is left; the one left, if the Sequential had more;
// else a Sequential of them.
template <class Impl, class Slots>
auto as_walked(Slots&& slots, bool training) {
  constexpr std::size_t kept = std::tuple_size_v<std::remove_cvref_t<Slots>>;
  if constexpr (kept == 0) return Identity();
  else if constexpr (kept == 1 && Impl::size > 1) return detail::get<0>(slots).module;
  else return rebuild_as<Impl>(std::move(slots), training);
}

// next_kept<O, Impl, I>(): the first of children I... of Impl that the strip keeps (size if none).
template <SpecializeOptions O, class Impl, std::size_t I>
constexpr std::size_t next_kept() {
  if constexpr (I == Impl::size) return I;
  else if constexpr (droppable<O, child_module_t<Impl, I>>) return next_kept<O, Impl, I + 1>();
  else return I;
}

// residual_at<O, Impl, I, Slots>(): child I of Impl is a Parallel that push() would fold, with the
// Copy<2> ending `slots` and the next child kept, an Add, into a Residual: walked, its first
// branch is an Identity. (A Parallel combines with no neighbour, so push() would append it.)
template <SpecializeOptions O, class Impl, std::size_t I, class Slots>
constexpr bool residual_at() {
  using P = impl_t<child_module_t<Impl, I>>;
  constexpr std::size_t n = std::tuple_size_v<Slots>;
  if constexpr (!is_parallel<P> || n == 0) {
    return false;
  } else if constexpr (P::size != 2 ||
                       !is_copy2<impl_t<typename std::tuple_element_t<n - 1, Slots>::named_module_type>>) {
    return false;
  } else {
    constexpr std::size_t add = next_kept<O, Impl, I + 1>();
    if constexpr (add == Impl::size || !std::is_same_v<impl_t<child_module_t<Impl, add>>, AddImpl>) return false;
    else return std::is_same_v<impl_t<walked_t<O, child_module_t<Impl, add>>>, AddImpl> &&
                is_identity<impl_t<walked_t<O, child_module_t<P, 0>>>>;
  }
}

// with_first(first, slots): the slots with the first one replaced.
template <class First, class Slots, std::size_t... I>
auto with_first(First&& first, Slots&& slots, std::index_sequence<I...>) {
  using S = std::remove_cvref_t<Slots>;
  return Children<std::remove_cvref_t<First>, std::tuple_element_t<I + 1, S>...>{
      std::forward<First>(first), detail::get<I + 1>(std::move(slots))...};
}

// push_sequential<Name>(slots, seq, inner, report): push() of the walked Sequential seq, whose own
// children were folded into `inner`. When push() would combine the last slot into its first child,
// that child is combined before the Sequential is built, so that it is built once (each container
// built is a class of its own; bench/README.md, "Compile cost").
template <FixedString Name, class Slots, class H, class Inner>
auto push_sequential(Slots&& slots, const H& seq, Inner&& inner, SpecializeReport& report) {
  using Impl = impl_t<H>;
  using S = std::remove_cvref_t<Slots>;
  using In = std::remove_cvref_t<Inner>;
  constexpr std::size_t n = std::tuple_size_v<S>, kept = std::tuple_size_v<In>;
  // Whether push() would combine the last slot into seq's first child: seq stays a Sequential
  // (as_walked) and combines() says so.
  constexpr bool into_first = [] {
    if constexpr (n == 0 || kept == 0 || (kept == 1 && Impl::size > 1)) return false;
    else return combines<typename std::tuple_element_t<n - 1, S>::named_module_type,
                         typename std::tuple_element_t<0, In>::named_module_type>();
  }();
  if constexpr (into_first) {
    using Last = std::tuple_element_t<n - 1, S>;
    using First = std::tuple_element_t<0, In>;
    auto combined = combine(detail::get<n - 1>(slots).module, detail::get<0>(inner).module, report);
    auto rebuilt = rebuild_as<Impl>(with_first(Named<First::name, decltype(combined)>{combined}, std::move(inner),
                                               std::make_index_sequence<kept - 1>{}),
                                    seq->is_training());
    return take_then(std::move(slots), std::make_index_sequence<n - 1>{},
                     Named<Last::name, decltype(rebuilt)>{rebuilt});
  } else {
    auto walked = as_walked<Impl>(std::move(inner), seq->is_training());
    return push(std::move(slots), Named<Name, decltype(walked)>{walked}, report);
  }
}

// walk_from<O, Impl, I, SkipAdd>(seq, path, slots, report): children I.. of a Sequential, each
// left out (strip) or walked and pushed onto the folded slots before it. Two cases are folded here
// rather than by push(), so that no container is built only to be taken apart: a Sequential child
// (see push_sequential) and a residual Parallel (then the Add it absorbs, the next child kept, is
// skipped: SkipAdd).
template <SpecializeOptions O, class Impl, std::size_t I, bool SkipAdd = false, class H, class Slots>
auto walk_from(const H& seq, std::string_view path, Slots&& slots, SpecializeReport& report) {
  if constexpr (I == Impl::size) {
    return std::move(slots);
  } else {
    auto s = slot<Impl, I>(seq);
    using M = typename decltype(s)::named_module_type;
    using S = std::remove_cvref_t<Slots>;
    if constexpr (droppable<O, M>) {
      ++report.dropped;
      return walk_from<O, Impl, I + 1, SkipAdd>(seq, path, std::move(slots), report);
    } else if constexpr (SkipAdd) {
      return walk_from<O, Impl, I + 1>(seq, path, std::move(slots), report);
    } else if constexpr (residual_at<O, Impl, I, S>()) {
      using P = impl_t<M>;
      const std::string at = dotted(path, Impl::names[I]);
      // The first branch walks to an Identity (residual_at); walked for the report (a Dropout is dropped).
      walk<O>(detail::get<0>(s.module->child_modules), dotted(at, P::names[0]), report);
      auto branch = walk<O>(detail::get<1>(s.module->child_modules), dotted(at, P::names[1]), report);
      constexpr std::size_t n = std::tuple_size_v<S>;
      using Copy = std::tuple_element_t<n - 1, S>;
      auto residual = make_residual(branch, report);
      auto folded = take_then(std::move(slots), std::make_index_sequence<n - 1>{},
                              Named<Copy::name, decltype(residual)>{residual});
      return walk_from<O, Impl, I + 1, true>(seq, path, std::move(folded), report);
    } else if constexpr (is_sequential<impl_t<M>>) {
      auto inner = walk_from<O, impl_t<M>, 0>(s.module, dotted(path, Impl::names[I]), Children<>{}, report);
      return walk_from<O, Impl, I + 1>(
          seq, path, push_sequential<decltype(s)::name>(std::move(slots), s.module, std::move(inner), report), report);
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
    return as_walked<Impl>(walk_from<O, Impl, 0>(module, path, Children<>{}, report), module->is_training());
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
