// The function of a learned LibTorch leaf computed with given weight and bias tensors, so that
// transforms can run a shared module with its parameters detached (freeze, LoRA) or merged.
#pragma once

#include <concepts>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/functional/padding.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

namespace modify::detail {

// runs_with_weights<Impl>: a module of modify's own (e.g. ElementwiseAffine) that says how to run
// itself with other parameters: `forward_with(x, weight, bias)`, with a member `weight` and, if it
// has one, `bias` (a module without a bias, e.g. PositionEmbedding, ignores that argument).
template <class Impl>
concept runs_with_weights = requires(const Impl& m, const at::Tensor& t) {
  { m.forward_with(t, m.weight, t) } -> std::same_as<at::Tensor>;
};

// takes_weights<Impl>: apply_with knows how to run Impl with other parameters.
template <class Impl>
inline constexpr bool takes_weights =
    std::is_same_v<Impl, torch::nn::LinearImpl> || std::is_same_v<Impl, torch::nn::Conv1dImpl> ||
    std::is_same_v<Impl, torch::nn::Conv2dImpl> || std::is_same_v<Impl, torch::nn::Conv3dImpl> ||
    std::is_same_v<Impl, torch::nn::EmbeddingImpl> || std::is_same_v<Impl, torch::nn::PReLUImpl> ||
    std::is_same_v<Impl, torch::nn::BilinearImpl> || runs_with_weights<Impl>;

template <std::size_t D, class Options>
at::Tensor conv_with(const Options& o, at::Tensor x, const at::Tensor& weight, const at::Tensor& bias) {
  namespace F = torch::nn::functional;
  typename Options::padding_t padding = o.padding();
  if (!c10::get_if<torch::enumtype::kZeros>(&o.padding_mode())) {
    // As ConvNdImpl does: pad explicitly with the padding mode, then convolve without padding.
    const auto* explicit_padding = c10::get_if<torch::ExpandingArray<D>>(&o.padding());
    if (!explicit_padding)
      throw std::invalid_argument("modify: a convolution with padding_mode other than zeros needs explicit padding");
    std::vector<int64_t> reversed(2 * D);
    for (std::size_t i = 0; i < D; ++i) reversed[2 * (D - 1 - i)] = reversed[2 * (D - 1 - i) + 1] = (**explicit_padding)[i];
    F::PadFuncOptions pad(reversed);
    c10::visit(
        [&](const auto& mode) {
          using M = std::decay_t<decltype(mode)>;
          if constexpr (std::is_same_v<M, torch::enumtype::kReflect>) pad.mode(torch::kReflect);
          else if constexpr (std::is_same_v<M, torch::enumtype::kReplicate>) pad.mode(torch::kReplicate);
          else if constexpr (std::is_same_v<M, torch::enumtype::kCircular>) pad.mode(torch::kCircular);
        },
        o.padding_mode());
    x = F::pad(x, pad);
    padding = torch::ExpandingArray<D>(0);
  }
  if constexpr (D == 1) return F::detail::conv1d(x, weight, bias, o.stride(), padding, o.dilation(), o.groups());
  else if constexpr (D == 2) return F::detail::conv2d(x, weight, bias, o.stride(), padding, o.dilation(), o.groups());
  else return F::detail::conv3d(x, weight, bias, o.stride(), padding, o.dilation(), o.groups());
}

// apply_with(module, x, weight, bias): what module->forward(x) computes, with these parameters.
inline at::Tensor apply_with(const torch::nn::LinearImpl&, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  return at::linear(x, weight, bias);
}
inline at::Tensor apply_with(const torch::nn::Conv1dImpl& m, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  return conv_with<1>(m.options, x, weight, bias);
}
inline at::Tensor apply_with(const torch::nn::Conv2dImpl& m, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  return conv_with<2>(m.options, x, weight, bias);
}
inline at::Tensor apply_with(const torch::nn::Conv3dImpl& m, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor& bias) {
  return conv_with<3>(m.options, x, weight, bias);
}
inline at::Tensor apply_with(const torch::nn::EmbeddingImpl& m, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor&) {
  // max_norm renormalises rows of the weight in place, which would write a shared tensor.
  if (m.options.max_norm())
    throw std::invalid_argument("modify: an Embedding with max_norm rewrites its weight in place on every forward; "
                                "it cannot be shared by a frozen or adapted model");
  const int64_t padding_idx = m.options.padding_idx() ? *m.options.padding_idx() : -1;
  return at::embedding(weight, x, padding_idx, m.options.scale_grad_by_freq(), m.options.sparse());
}
inline at::Tensor apply_with(const torch::nn::PReLUImpl&, const at::Tensor& x, const at::Tensor& weight,
                             const at::Tensor&) {
  return at::prelu(x, weight);
}
inline at::Tensor apply_with(const torch::nn::BilinearImpl&, const std::tuple<at::Tensor, at::Tensor>& x,
                             const at::Tensor& weight, const at::Tensor& bias) {
  return at::bilinear(std::get<0>(x), std::get<1>(x), weight, bias);
}

template <runs_with_weights Impl>
at::Tensor apply_with(const Impl& m, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return m.forward_with(x, weight, bias);
}

// bias_of(module): the module's bias, or an undefined tensor for modules without one.
template <class Impl>
const at::Tensor& bias_of(const Impl& m) {
  static const at::Tensor none;
  if constexpr (requires { m.bias; }) return m.bias;
  else return none;
}

// apply_detached(module, x): module's function of x that gives no gradient to its parameters.
template <class Impl, class X>
at::Tensor apply_detached(const Impl& m, const X& x) {
  const at::Tensor& bias = bias_of(m);
  return apply_with(m, x, m.weight.detach(), bias.defined() ? bias.detach() : bias);
}

}  // namespace modify::detail
