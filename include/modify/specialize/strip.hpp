// Specialisation pass 1, strip: what inference does not run, which the walk (walk.hpp) leaves out:
// Dropout (every LibTorch variant), Identity, and the debug modules unless asked to keep them.
#pragma once

#include <type_traits>

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>

#include <modify/detail/one_time.hpp>
#include <modify/ops/debug.hpp>
#include <modify/ops/structure.hpp>
#include <modify/specialize/report.hpp>  // SpecializeOptions
#include <modify/traits.hpp>

MODIFY_ONE_TIME_BEGIN

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

}  // namespace modify::detail::spec

MODIFY_ONE_TIME_END
