// Elementwise binary arithmetic on a pair of tensors: Add, Sub, Mul, Div (with broadcasting).
#pragma once

#include <tuple>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail {
using Pair = std::tuple<at::Tensor, at::Tensor>;
inline constexpr Traits binary_elementwise(Linearity linearity) {
  return {Arity::binary, Params::none, linearity, Kind::elementwise};
}
}  // namespace detail

// Add: (a, b) -> a + b. Binary, ParamFree, Linear, Elementwise.
struct AddImpl : Leaf<AddImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::linear);
  at::Tensor forward(const detail::Pair& x) { return at::add(std::get<0>(x), std::get<1>(x)); }
};
TORCH_MODULE(Add);

// Sub: (a, b) -> a - b. Binary, ParamFree, Linear, Elementwise.
struct SubImpl : Leaf<SubImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::linear);
  at::Tensor forward(const detail::Pair& x) { return at::sub(std::get<0>(x), std::get<1>(x)); }
};
TORCH_MODULE(Sub);

// Mul: (a, b) -> a * b. Binary, ParamFree, NonLinear (bilinear in the pair), Elementwise.
struct MulImpl : Leaf<MulImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::mul(std::get<0>(x), std::get<1>(x)); }
};
TORCH_MODULE(Mul);

// Div: (a, b) -> a / b. Binary, ParamFree, NonLinear, Elementwise.
struct DivImpl : Leaf<DivImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::div(std::get<0>(x), std::get<1>(x)); }
};
TORCH_MODULE(Div);

}  // namespace modify
