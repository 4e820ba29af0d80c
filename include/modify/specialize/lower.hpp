// Specialisation pass 2, lower: each leaf that has a faster inference form gets it (lower_leaf, which
// the walk in walk.hpp calls on every leaf that lowerable() accepts).
// Linear (and LoRA-adapted Linear, adapters merged) becomes an addmm into a planned buffer on a
// pre-transposed contiguous copy of its weight; ConvNd
// (merged too) a convolution that later folds take; eval-mode BatchNorm and ElementwiseAffine an
// affine map; Scale, Shift and Negative a scalar affine map; ScaledDotProductAttention an
// attention with its causal mask cached. Frozen wrappers are unwrapped.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <ATen/ATen.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <modify/detail/one_time.hpp>
#include <modify/ops/elementwise.hpp>
#include <modify/ops/normalization.hpp>
#include <modify/specialize/ops.hpp>
#include <modify/specialize/report.hpp>
#include <modify/transform/freeze.hpp>
#include <modify/transform/lora.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::detail::spec {

template <class Impl>
inline constexpr std::size_t conv_dims = 0;
template <>
inline constexpr std::size_t conv_dims<torch::nn::Conv1dImpl> = 1;
template <>
inline constexpr std::size_t conv_dims<torch::nn::Conv2dImpl> = 2;
template <>
inline constexpr std::size_t conv_dims<torch::nn::Conv3dImpl> = 3;

template <class Impl>
inline constexpr bool is_batch_norm = false;
template <std::size_t D>
inline constexpr bool is_batch_norm<BatchNormImpl<D>> = true;

// base_of<H>: the module inside a Frozen wrapper, H otherwise; LoRA is handled apart.
template <class H>
struct base_of {
  using type = H;
};
template <class H>
  requires is_frozen<H>
struct base_of<H> {
  using type = typename impl_t<H>::frozen_type;
};

template <class H>
constexpr bool lowerable() {
  if constexpr (container<impl_t<H>>) {
    return false;
  } else if constexpr (is_lora<H>) {
    using Base = impl_t<typename impl_t<H>::base_type>;
    return std::is_same_v<Base, torch::nn::LinearImpl> || conv_dims<Base> > 0;
  } else {
    using Impl = impl_t<typename base_of<H>::type>;
    return std::is_same_v<Impl, torch::nn::LinearImpl> || conv_dims<Impl> > 0 || is_batch_norm<Impl> ||
           std::is_same_v<Impl, ElementwiseAffineImpl> || std::is_same_v<Impl, ScaleImpl> ||
           std::is_same_v<Impl, ShiftImpl> || std::is_same_v<Impl, NegativeImpl> ||
           std::is_same_v<Impl, ScaledDotProductAttentionImpl>;
  }
}

// lower_leaf(module, path, report): the inference form of one leaf that lowerable() accepts.
template <class H>
auto lower_leaf(const H& module, std::string_view path, SpecializeReport& report) {
  using inference::LinearStage;
  if constexpr (is_lora<H>) {
    using Base = impl_t<typename impl_t<H>::base_type>;
    report.lora_merged += impl_t<H>::adapter_count;
    const at::Tensor merged = module->merged_weight();  // a new tensor: the base's is left as it is
    if constexpr (std::is_same_v<Base, torch::nn::LinearImpl>) {
      ++report.lowered_linear;
      return inference::LinearOp(std::vector<LinearStage>{LinearStage(merged, module->base->bias)});
    } else {
      ++report.lowered_conv;
      return inference::ConvOp<conv_dims<Base>>(module->base->options, merged, module->base->bias);
    }
  } else if constexpr (is_frozen<H>) {
    return lower_leaf(module->module, path, report);
  } else {
    using Impl = impl_t<H>;
    if constexpr (std::is_same_v<Impl, torch::nn::LinearImpl>) {
      ++report.lowered_linear;
      return inference::LinearOp(std::vector<LinearStage>{LinearStage(module->weight, module->bias)});
    } else if constexpr (conv_dims<Impl> > 0) {
      ++report.lowered_conv;
      return inference::ConvOp<conv_dims<Impl>>(module->options, module->weight, module->bias);
    } else if constexpr (is_batch_norm<Impl>) {
      if (!module->options.track_running_stats())
        throw std::invalid_argument("modify: specialize: the BatchNorm at '" + std::string(path) +
                                    "' keeps no running statistics, so even in eval mode it normalises with each "
                                    "batch's own; only BatchNorm with running statistics can be specialised");
      at::NoGradGuard no_grad;
      const at::Tensor scale = at::rsqrt(module->running_var + module->options.eps());
      const at::Tensor shift = -module->running_mean * scale;
      return inference::AffineMapOp(scale, shift, int64_t{1}, "BatchNorm");
    } else if constexpr (std::is_same_v<Impl, ElementwiseAffineImpl>) {
      return inference::AffineMapOp(module->weight, module->bias, module->options.dim(), "ElementwiseAffine");
    } else if constexpr (std::is_same_v<Impl, ScaleImpl>) {
      return inference::ScalarAffineOp(module->factor, 0.0);
    } else if constexpr (std::is_same_v<Impl, ShiftImpl>) {
      return inference::ScalarAffineOp(1.0, module->offset);
    } else if constexpr (std::is_same_v<Impl, ScaledDotProductAttentionImpl>) {
      if (module->options.causal()) ++report.cached_causal_masks;
      return inference::AttentionOp(module);
    } else {
      static_assert(std::is_same_v<Impl, NegativeImpl>);
      return inference::ScalarAffineOp(-1.0, 0.0);
    }
  }
}

}  // namespace modify::detail::spec

MODIFY_ONE_TIME_END
