// Arithmetic on a pair or triple of tensors (with broadcasting): Add, Sub, Mul, Div, Maximum, Minimum,
// MatMul, Where.
#pragma once

#include <tuple>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <modify/holder.hpp>  // Holder
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
using Add = Holder<AddImpl>;

// Sub: (a, b) -> a - b. Binary, ParamFree, Linear, Elementwise.
struct SubImpl : Leaf<SubImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::linear);
  at::Tensor forward(const detail::Pair& x) { return at::sub(std::get<0>(x), std::get<1>(x)); }
};
using Sub = Holder<SubImpl>;

// Mul: (a, b) -> a * b. Binary, ParamFree, NonLinear (bilinear in the pair), Elementwise.
struct MulImpl : Leaf<MulImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::mul(std::get<0>(x), std::get<1>(x)); }
};
using Mul = Holder<MulImpl>;

// Div: (a, b) -> a / b. Binary, ParamFree, NonLinear, Elementwise.
struct DivImpl : Leaf<DivImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::div(std::get<0>(x), std::get<1>(x)); }
};
using Div = Holder<DivImpl>;

// Maximum: (a, b) -> at::maximum(a, b). Binary, ParamFree, NonLinear, Elementwise.
struct MaximumImpl : Leaf<MaximumImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::maximum(std::get<0>(x), std::get<1>(x)); }
};
using Maximum = Holder<MaximumImpl>;

// Minimum: (a, b) -> at::minimum(a, b). Binary, ParamFree, NonLinear, Elementwise.
struct MinimumImpl : Leaf<MinimumImpl> {
  static constexpr Traits traits = detail::binary_elementwise(Linearity::nonlinear);
  at::Tensor forward(const detail::Pair& x) { return at::minimum(std::get<0>(x), std::get<1>(x)); }
};
using Minimum = Holder<MinimumImpl>;

// MatMul: (a, b) -> at::matmul(a, b), with torch's batching and broadcasting rules. Binary,
// ParamFree, NonLinear (bilinear in the pair), Matrix.
struct MatMulImpl : Leaf<MatMulImpl> {
  static constexpr Traits traits{Arity::binary, Params::none, Linearity::nonlinear, Kind::matrix};
  at::Tensor forward(const detail::Pair& x) { return at::matmul(std::get<0>(x), std::get<1>(x)); }
};
using MatMul = Holder<MatMulImpl>;

// Where: (condition, a, b) -> at::where(condition, a, b), a where condition is true, else b.
// Ternary, ParamFree, NonLinear (the condition selects), Elementwise.
struct WhereImpl : Leaf<WhereImpl> {
  static constexpr Traits traits{Arity::ternary, Params::none, Linearity::nonlinear, Kind::elementwise};
  at::Tensor forward(const std::tuple<at::Tensor, at::Tensor, at::Tensor>& x) {
    return at::where(std::get<0>(x), std::get<1>(x), std::get<2>(x));
  }
};
using Where = Holder<WhereImpl>;

}  // namespace modify
