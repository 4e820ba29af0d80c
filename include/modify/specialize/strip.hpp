// Specialisation pass 1, strip<Options>(model, report): a model without what inference does not
// run: Dropout (every LibTorch variant), Identity, and the debug modules unless asked to keep them.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <modify/ops/debug.hpp>
#include <modify/ops/structure.hpp>
#include <modify/specialize/rebuild.hpp>
#include <modify/specialize/report.hpp>

namespace modify::detail::spec {

template <class Impl>
inline constexpr bool is_dropout =
    std::is_same_v<Impl, torch::nn::DropoutImpl> || std::is_same_v<Impl, torch::nn::Dropout2dImpl> ||
    std::is_same_v<Impl, torch::nn::Dropout3dImpl> || std::is_same_v<Impl, torch::nn::AlphaDropoutImpl> ||
    std::is_same_v<Impl, torch::nn::FeatureAlphaDropoutImpl>;

template <class Impl>
inline constexpr bool is_debug = std::is_same_v<Impl, AssertShapeImpl>;
template <Arity A>
inline constexpr bool is_debug<PrintImpl<A>> = true;
template <Arity A>
inline constexpr bool is_debug<PrintShapeImpl<A>> = true;
template <Arity A>
inline constexpr bool is_debug<BreakpointImpl<A>> = true;

template <class Impl>
inline constexpr bool is_identity = std::is_same_v<Impl, IdentityImpl> || std::is_same_v<Impl, torch::nn::IdentityImpl>;

// droppable<O, H>: a leaf the strip pass removes (all of them return their input in eval mode).
template <SpecializeOptions O, class H>
inline constexpr bool droppable = is_dropout<impl_t<H>> || is_identity<impl_t<H>> || (!O.keep_debug && is_debug<impl_t<H>>);

// count_droppable<O, H>(): how many droppable leaves lie under H.
template <SpecializeOptions O, class H>
constexpr std::size_t count_droppable() {
  using Impl = impl_t<H>;
  if constexpr (container<Impl>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... + count_droppable<O, typename child_info<child_type_t<Impl, I>>::module_type>());
    }(std::make_index_sequence<Impl::size>{});
  } else {
    return droppable<O, H> ? 1 : 0;
  }
}

template <SpecializeOptions O, class H>
auto strip(const H& module, SpecializeReport& report);

// kept<O, Impl, I>(module): child I of a Sequential, stripped, as a one-slot tuple; or no slot.
template <SpecializeOptions O, class Impl, std::size_t I, class H>
auto kept(const H& module, SpecializeReport& report) {
  auto s = slot<Impl, I>(module);
  if constexpr (droppable<O, typename decltype(s)::named_module_type>) {
    ++report.dropped;
    return std::tuple<>{};
  } else {
    auto stripped = strip<O>(s.module, report);
    return std::tuple<Named<decltype(s)::name, decltype(stripped)>>{{stripped}};
  }
}

// strip<O>(module, report): see the header comment. In a Sequential the dropped children are
// removed (a Sequential left empty becomes an Identity); in a Parallel, and at the root, a unary
// dropped module becomes an Identity (other arities are kept: an Identity takes one tensor).
// A subtree with nothing to drop is returned as it is: the same module object.
template <SpecializeOptions O, class H>
auto strip(const H& module, SpecializeReport& report) {
  using Impl = impl_t<H>;
  if constexpr (count_droppable<O, H>() == 0) {
    return module;
  } else if constexpr (is_sequential<Impl>) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto slots = std::tuple_cat(kept<O, Impl, I>(module, report)...);
      if constexpr (std::tuple_size_v<decltype(slots)> == 0) return Identity();
      else return rebuild_as<Impl>(std::move(slots), module->is_training());
    }(std::make_index_sequence<Impl::size>{});
  } else if constexpr (is_parallel<Impl>) {
    return map_children(module, [&](const auto& child) { return strip<O>(child, report); });
  } else if constexpr (traits_of<H>.arity == Arity::unary && !is_identity<Impl>) {
    ++report.dropped;
    return Identity();
  } else {
    return module;
  }
}

}  // namespace modify::detail::spec
