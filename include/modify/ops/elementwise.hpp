// Elementwise unary ops: Negative, Scale, Shift, Conj (linear); Abs, Exp, Log, the trigonometric and
// special functions, Clamp, Pow, Heaviside, IGamma, IGammaC (nonlinear). All Unary, ParamFree,
// Elementwise: each output element depends on the input element at the same place only.
#pragma once

#include <optional>
#include <ostream>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <modify/detail/op_handle.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits elementwise(Linearity linearity) { return unary(linearity, Kind::elementwise); }
}  // namespace detail::op

// MODIFY_DETAIL_ELEMENTWISE(Name, function, linearity): NameImpl computes at::function(x).
#define MODIFY_DETAIL_ELEMENTWISE(Name, function, linearity)                                        \
  struct Name##Impl : ::modify::Leaf<Name##Impl> {                                                  \
    static constexpr ::modify::Traits traits = ::modify::detail::op::elementwise(::modify::Linearity::linearity); \
    at::Tensor forward(const at::Tensor& x) { return at::function(x); }                            \
  };                                                                                                \
  MODIFY_DETAIL_OP_HANDLE(Name)

// ---- Linear (affine) ---------------------------------------------------------------------------

// Negative: x -> -x.
MODIFY_DETAIL_ELEMENTWISE(Negative, negative, linear);

// Conj: x -> x.conj() (the identity on real tensors). Linear over the reals. (The Python table lists
// it as a restructure; it negates imaginary parts, so it is elementwise.)
MODIFY_DETAIL_ELEMENTWISE(Conj, conj, linear);

// Scale(factor): x -> factor * x.
struct ScaleImpl : Leaf<ScaleImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::linear);
  explicit ScaleImpl(double factor) : factor(factor) {}
  at::Tensor forward(const at::Tensor& x) { return x * factor; }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Scale")("factor", factor); }
  double factor;
};
MODIFY_DETAIL_OP_HANDLE(Scale);

// Shift(offset): x -> x + offset (affine, hence Linear in modify's sense).
struct ShiftImpl : Leaf<ShiftImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::linear);
  explicit ShiftImpl(double offset) : offset(offset) {}
  at::Tensor forward(const at::Tensor& x) { return x + offset; }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Shift")("offset", offset); }
  double offset;
};
MODIFY_DETAIL_OP_HANDLE(Shift);

// ---- Nonlinear ---------------------------------------------------------------------------------

// Abs / Absolute (its alias in torch): x -> |x|.
MODIFY_DETAIL_ELEMENTWISE(Abs, abs, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Absolute, absolute, nonlinear);
// Angle: x -> the argument of x (0 or pi for real x).
MODIFY_DETAIL_ELEMENTWISE(Angle, angle, nonlinear);
// Trigonometric and hyperbolic functions and their inverses.
MODIFY_DETAIL_ELEMENTWISE(Sin, sin, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Cos, cos, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Tan, tan, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ASin, asin, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ACos, acos, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ATan, atan, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Sinh, sinh, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Cosh, cosh, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ASinh, asinh, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ACosh, acosh, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ATanh, atanh, nonlinear);
// Tanh: LibTorch's torch::nn::Tanh (the table lists Tanh both as an elementwise op and as a torch
// activation; it is one module here).
using Tanh = torch::nn::Tanh;
// Sinc: x -> sin(pi x) / (pi x), 1 at 0.
MODIFY_DETAIL_ELEMENTWISE(Sinc, sinc, nonlinear);
// Exponentials and logarithms.
MODIFY_DETAIL_ELEMENTWISE(Exp, exp, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Exp2, exp2, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Expm1, expm1, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Log, log, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Log2, log2, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Log10, log10, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Log1p, log1p, nonlinear);
// Reciprocal: x -> 1 / x. RSqrt: x -> 1 / sqrt(x).
MODIFY_DETAIL_ELEMENTWISE(Reciprocal, reciprocal, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(RSqrt, rsqrt, nonlinear);
// Special functions: the error function, its complement and inverse; log |Gamma|; digamma.
MODIFY_DETAIL_ELEMENTWISE(Erf, erf, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(Erfc, erfc, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(ErfInv, erfinv, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(LGamma, lgamma, nonlinear);
MODIFY_DETAIL_ELEMENTWISE(DiGamma, digamma, nonlinear);

// Clamp(min = none, max = none): x -> x.clamp(min, max).
struct ClampImpl : Leaf<ClampImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::nonlinear);
  explicit ClampImpl(std::optional<double> min = std::nullopt, std::optional<double> max = std::nullopt)
      : min(min), max(max) {}
  at::Tensor forward(const at::Tensor& x) {
    return x.clamp(min ? c10::optional<at::Scalar>(*min) : c10::nullopt,
                   max ? c10::optional<at::Scalar>(*max) : c10::nullopt);
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Clamp")("min", min)("max", max); }
  std::optional<double> min, max;
};
MODIFY_DETAIL_OP_HANDLE(Clamp);

// Pow(exponent): x -> x ** exponent, for a constant exponent.
struct PowImpl : Leaf<PowImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::nonlinear);
  explicit PowImpl(double exponent) : exponent(exponent) {}
  at::Tensor forward(const at::Tensor& x) { return x.pow(exponent); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Pow")("exponent", exponent); }
  double exponent;
};
MODIFY_DETAIL_OP_HANDLE(Pow);

// The ops below take a second argument in torch. Here it is a constant number, so that the module
// stays Elementwise (a tensor of constants would make each output depend on its position) and
// Unary; for a second argument that flows through the network, compose the ATen call in a custom
// leaf, or use Where / Maximum / Minimum from arithmetic.hpp.

// Heaviside(value_at_zero): x -> torch.heaviside(x, value_at_zero): 0 for x < 0, value_at_zero for
// x == 0, 1 for x > 0. (torch implements no derivative for it: backward through it throws.)
struct HeavisideImpl : Leaf<HeavisideImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::nonlinear);
  explicit HeavisideImpl(double value_at_zero) : value_at_zero(value_at_zero) {}
  at::Tensor forward(const at::Tensor& x) { return x.heaviside(at::scalar_tensor(value_at_zero, x.options())); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Heaviside")("value_at_zero", value_at_zero);
  }
  double value_at_zero;
};
MODIFY_DETAIL_OP_HANDLE(Heaviside);

// IGamma(a): x -> torch.igamma(a, x), the regularized lower incomplete gamma function P(a, x) (the
// CDF of a Gamma(a, 1) variable at x). The module's input is torch's second argument: torch
// differentiates igamma only in that one, so this module can be trained through; with the input as
// `a` it could not.
struct IGammaImpl : Leaf<IGammaImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::nonlinear);
  explicit IGammaImpl(double a) : a(a) {}
  at::Tensor forward(const at::Tensor& x) { return at::igamma(at::scalar_tensor(a, x.options()), x); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::IGamma")("a", a); }
  double a;
};
MODIFY_DETAIL_OP_HANDLE(IGamma);

// IGammaC(a): x -> torch.igammac(a, x) = 1 - P(a, x), the regularized upper incomplete gamma
// function (input as for IGamma).
struct IGammaCImpl : Leaf<IGammaCImpl> {
  static constexpr Traits traits = detail::op::elementwise(Linearity::nonlinear);
  explicit IGammaCImpl(double a) : a(a) {}
  at::Tensor forward(const at::Tensor& x) { return at::igammac(at::scalar_tensor(a, x.options()), x); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::IGammaC")("a", a); }
  double a;
};
MODIFY_DETAIL_OP_HANDLE(IGammaC);

}  // namespace modify
