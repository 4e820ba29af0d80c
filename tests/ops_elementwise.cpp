// Tests for modify/ops/elementwise.hpp: the elementwise unary ops.
#include "op_testing.hpp"

using namespace op_testing;

namespace {
constexpr modify::Traits linear{modify::Arity::unary, modify::Params::none, modify::Linearity::linear,
                                modify::Kind::elementwise};
constexpr modify::Traits nonlinear{modify::Arity::unary, modify::Params::none, modify::Linearity::nonlinear,
                                   modify::Kind::elementwise};

// An op's handle is an alias of its OpHandle, not a class of its own, so that a unit including the
// header instantiates no handle class for the ops it does not use (detail/op_handle.hpp).
static_assert(std::is_same_v<modify::Sin, modify::detail::op::OpHandle<modify::SinImpl>>);
static_assert(std::is_same_v<modify::Scale, modify::detail::op::OpHandle<modify::ScaleImpl>>);
}  // namespace

TEST_CASE("elementwise ops match PyTorch: values and gradients") {
  Parity p("elementwise");
  p.check("Negative", modify::Negative(), "x");
  p.check("Conj", modify::Conj(), "cplx");
  p.check("Scale", modify::Scale(2.5), "x");
  p.check("Shift", modify::Shift(-1.5), "x");
  p.check("Abs", modify::Abs(), "x");
  p.check("Absolute", modify::Absolute(), "x");
  p.check("Angle", modify::Angle(), "x");
  p.check("Angle_complex", modify::Angle(), "cplx");
  p.check("Sin", modify::Sin(), "x");
  p.check("Cos", modify::Cos(), "x");
  p.check("Tan", modify::Tan(), "unit");
  p.check("ASin", modify::ASin(), "unit");
  p.check("ACos", modify::ACos(), "unit");
  p.check("ATan", modify::ATan(), "x");
  p.check("Sinh", modify::Sinh(), "x");
  p.check("Cosh", modify::Cosh(), "x");
  p.check("Tanh", modify::Tanh(), "x");
  p.check("ASinh", modify::ASinh(), "x");
  p.check("ACosh", modify::ACosh(), "gt1");
  p.check("ATanh", modify::ATanh(), "unit");
  p.check("Sinc", modify::Sinc(), "x");
  p.check("Exp", modify::Exp(), "x");
  p.check("Exp2", modify::Exp2(), "x");
  p.check("Expm1", modify::Expm1(), "x");
  p.check("Log", modify::Log(), "pos");
  p.check("Log2", modify::Log2(), "pos");
  p.check("Log10", modify::Log10(), "pos");
  p.check("Log1p", modify::Log1p(), "pos");
  p.check("Reciprocal", modify::Reciprocal(), "pos");
  p.check("RSqrt", modify::RSqrt(), "pos");
  p.check("Erf", modify::Erf(), "x");
  p.check("Erfc", modify::Erfc(), "x");
  p.check("ErfInv", modify::ErfInv(), "unit");
  p.check("LGamma", modify::LGamma(), "pos");
  p.check("DiGamma", modify::DiGamma(), "pos");
  p.check("Clamp", modify::Clamp(-0.5, 0.7), "x");
  p.check("Clamp_min", modify::Clamp(0.0), "x");
  p.check("Pow", modify::Pow(2.5), "pos");
  p.check("Pow_integer", modify::Pow(3), "x");
  p.check("Heaviside", modify::Heaviside(0.5), "xz");  // PyTorch has no gradient here: checked too
  p.check("IGamma", modify::IGamma(1.5), "pos");
  p.check("IGammaC", modify::IGammaC(1.5), "pos");
  p.all_checked();
}

TEST_CASE("elementwise ops: the declared traits hold on random inputs") {
  torch::manual_seed(6);
  auto x = torch::randn({3, 5}), c = torch::randn({3, 4}, torch::kComplexFloat);
  auto pos = torch::rand({3, 5}) * 2 + 0.5, unit = torch::rand({3, 5}) * 1.6 - 0.8, gt1 = torch::rand({3, 5}) * 2 + 1.1;
  check_claims(modify::Negative(), x, linear);
  check_claims(modify::Conj(), c, linear);
  check_claims(modify::Scale(-0.25), x, linear);
  check_claims(modify::Shift(3.0), x, linear);  // affine
  check_claims(modify::Abs(), x, nonlinear);
  check_claims(modify::Absolute(), x, nonlinear);
  check_claims(modify::Angle(), x, nonlinear);
  check_claims(modify::Angle(), c, nonlinear);
  check_claims(modify::Sin(), x, nonlinear);
  check_claims(modify::Cos(), x, nonlinear);
  check_claims(modify::Tan(), unit, nonlinear);
  check_claims(modify::ASin(), unit, nonlinear);
  check_claims(modify::ACos(), unit, nonlinear);
  check_claims(modify::ATan(), x, nonlinear);
  check_claims(modify::Sinh(), x, nonlinear);
  check_claims(modify::Cosh(), x, nonlinear);
  check_claims(modify::Tanh(), x, nonlinear);
  check_claims(modify::ASinh(), x, nonlinear);
  check_claims(modify::ACosh(), gt1, nonlinear);
  check_claims(modify::ATanh(), unit, nonlinear);
  check_claims(modify::Sinc(), x, nonlinear);
  check_claims(modify::Exp(), x, nonlinear);
  check_claims(modify::Exp2(), x, nonlinear);
  check_claims(modify::Expm1(), x, nonlinear);
  check_claims(modify::Log(), pos, nonlinear);
  check_claims(modify::Log2(), pos, nonlinear);
  check_claims(modify::Log10(), pos, nonlinear);
  check_claims(modify::Log1p(), pos, nonlinear);
  check_claims(modify::Reciprocal(), pos, nonlinear);
  check_claims(modify::RSqrt(), pos, nonlinear);
  check_claims(modify::Erf(), x, nonlinear);
  check_claims(modify::Erfc(), x, nonlinear);
  check_claims(modify::ErfInv(), unit, nonlinear);
  check_claims(modify::LGamma(), pos, nonlinear);
  check_claims(modify::DiGamma(), pos, nonlinear);
  check_claims(modify::Clamp(-0.5, 0.5), x, nonlinear);
  check_claims(modify::Pow(2.0), x, nonlinear);
  check_claims(modify::Heaviside(0.5), x, nonlinear);
  check_claims(modify::IGamma(2.0), pos, nonlinear);
  check_claims(modify::IGammaC(0.5), pos, nonlinear);
}

TEST_CASE("Conj is elementwise, not a restructure: it negates imaginary parts") {
  auto z = torch::complex(torch::tensor({1.0f, 2.0f}), torch::tensor({3.0f, 5.0f}));
  auto components = torch::view_as_real(modify::Conj()(z).resolve_conj()).flatten();
  CHECK(torch::equal(components, torch::tensor({1.0f, -3.0f, 2.0f, -5.0f})));
  CHECK_FALSE(torch::isin(components, torch::view_as_real(z).flatten()).all().item<bool>());
  auto real = torch::randn({4});
  CHECK(torch::equal(modify::Conj()(real), real));  // the identity on real tensors
}

TEST_CASE("ops with a constant second argument: Heaviside, IGamma, IGammaC, Clamp, Pow; printing") {
  auto x = torch::tensor({-1.0f, 0.0f, 2.0f});
  CHECK(torch::equal(modify::Heaviside(0.25)(x), torch::tensor({0.0f, 0.25f, 1.0f})));
  auto t = torch::tensor({0.5f, 1.0f, 3.0f});
  // igamma(1, x) = 1 - exp(-x): the CDF of an exponential variable.
  CHECK(torch::allclose(modify::IGamma(1.0)(t), 1 - torch::exp(-t)));
  CHECK(torch::allclose(modify::IGamma(2.5)(t) + modify::IGammaC(2.5)(t), torch::ones({3})));
  // Trainable through: the input is the integration limit, the one argument torch differentiates.
  auto limit = t.clone().requires_grad_(true);
  modify::IGamma(1.0)(limit).sum().backward();
  CHECK(torch::allclose(limit.grad(), torch::exp(-t)));
  CHECK(torch::equal(modify::Clamp(std::nullopt, 0.5)(x), torch::tensor({-1.0f, 0.0f, 0.5f})));
  CHECK(torch::allclose(modify::Pow(-1)(t), 1 / t));
  CHECK(text_of(modify::Clamp(-1, 1)) == "modify::Clamp(min=-1, max=1)");
  CHECK(text_of(modify::Clamp(std::nullopt, 2.5)) == "modify::Clamp(max=2.5)");
  CHECK(text_of(modify::Pow(2)) == "modify::Pow(exponent=2)");
  CHECK(text_of(modify::Scale(0.5)) == "modify::Scale(factor=0.5)");
  CHECK(text_of(modify::Shift(-1)) == "modify::Shift(offset=-1)");
  CHECK(text_of(modify::Heaviside(0.5)) == "modify::Heaviside(value_at_zero=0.5)");
  CHECK(text_of(modify::IGamma(1.5)) == "modify::IGamma(a=1.5)");
  CHECK(text_of(modify::Exp()) == "modify::Exp()");
  CHECK(text_of(modify::RSqrt()) == "modify::RSqrt()");
  static_assert(std::is_same_v<modify::Tanh, torch::nn::Tanh>);
}

TEST_CASE("Scale and Shift compose into an affine, elementwise, parameter-free model") {
  auto model = modify::Sequential(modify::Scale(2.0), modify::Shift(1.0), modify::Negative());
  using M = decltype(model);
  static_assert(modify::trait::Linear<M> && modify::trait::Elementwise<M> && modify::trait::ParamFree<M>);
  auto x = torch::randn({4});
  CHECK(torch::allclose(model(x), -(2.0 * x + 1.0)));
  auto with_exp = modify::Sequential(modify::Scale(2.0), modify::Exp());
  static_assert(modify::trait::NonLinear<decltype(with_exp)> && modify::trait::Elementwise<decltype(with_exp)>);
}
