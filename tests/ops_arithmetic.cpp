// Tests for modify/ops/arithmetic.hpp: Add, Sub, Mul, Div, Maximum, Minimum, MatMul on pairs and Where on
// triples, with broadcasting, parity with PyTorch and traits.
#include "op_testing.hpp"

// The handles are aliases of Holder (no class per op to instantiate in units that do not use it).
static_assert(std::is_same_v<modify::Add, modify::Holder<modify::AddImpl>>);

TEST_CASE("binary arithmetic matches ATen, with broadcasting") {
  auto a = torch::randn({3, 4}), b = torch::randn({4}).abs() + 0.5;
  auto pair = std::tuple{a, b};
  CHECK(torch::equal(modify::Add()(pair), a + b));
  CHECK(torch::equal(modify::Sub()(pair), a - b));
  CHECK(torch::equal(modify::Mul()(pair), a * b));
  CHECK(torch::equal(modify::Div()(pair), a / b));
}

TEST_CASE("traits: Add and Sub are linear, Mul and Div are not; all are binary, elementwise, param-free") {
  using namespace modify;
  static_assert(trait::Binary<Add> && trait::Linear<Add> && trait::Elementwise<Add> && trait::ParamFree<Add>);
  static_assert(trait::Binary<Sub> && trait::Linear<Sub> && trait::Elementwise<Sub> && trait::ParamFree<Sub>);
  static_assert(trait::Binary<Mul> && trait::NonLinear<Mul> && trait::Elementwise<Mul> && trait::ParamFree<Mul>);
  static_assert(trait::Binary<Div> && trait::NonLinear<Div> && trait::Elementwise<Div> && trait::ParamFree<Div>);
  // The claims hold: Add and Sub are linear in the pair, Mul is not.
  auto x = std::tuple{torch::randn({5}), torch::randn({5})};
  auto y = std::tuple{torch::randn({5}), torch::randn({5})};
  auto combine = [](const auto& p, const auto& q, double a, double b) {
    return std::tuple{a * std::get<0>(p) + b * std::get<0>(q), a * std::get<1>(p) + b * std::get<1>(q)};
  };
  for (auto f : {+[](const std::tuple<torch::Tensor, torch::Tensor>& v) { return modify::Add()(v); },
                 +[](const std::tuple<torch::Tensor, torch::Tensor>& v) { return modify::Sub()(v); }})
    CHECK(torch::allclose(f(combine(x, y, 2.0, -3.0)), 2.0 * f(x) - 3.0 * f(y), 1e-5, 1e-5));
  auto mul = modify::Mul();
  CHECK_FALSE(torch::allclose(mul(combine(x, y, 2.0, -3.0)), 2.0 * mul(x) - 3.0 * mul(y)));
}

TEST_CASE("a gated unit: Copy, Parallel of two maps, Mul") {
  auto gate = modify::Sequential(modify::Copy<2>(),
                                 modify::Parallel(torch::nn::Linear(4, 4), modify::Sequential(torch::nn::Linear(4, 4), torch::nn::Sigmoid())),
                                 modify::Mul());
  auto x = torch::randn({2, 4});
  auto& [copy, branches, mul] = gate->child_modules;
  auto expected = modify::get<0>(branches)(x) * modify::get<1>(branches)(x);
  CHECK(torch::allclose(gate(x), expected));
}

TEST_CASE("arithmetic ops match PyTorch: values and gradients") {
  using namespace op_testing;
  Parity p("arithmetic");
  p.check("Add", modify::Add(), "x", "y");
  p.check("Sub", modify::Sub(), "x", "y");
  p.check("Mul", modify::Mul(), "x", "y");
  p.check("Div", modify::Div(), "x", "pos");
  p.check("Maximum", modify::Maximum(), "x", "y");
  p.check("Minimum", modify::Minimum(), "x", "y");
  p.check("MatMul", modify::MatMul(), "x", "w45");
  p.check("MatMul_batched", modify::MatMul(), "x3", "w42");
  p.check("Where", modify::Where(), "cond", "x", "y");
  p.all_checked();
}

TEST_CASE("arithmetic ops: the declared traits hold on random inputs") {
  using namespace op_testing;
  using modify::Arity, modify::Params, modify::Linearity, modify::Kind;
  torch::manual_seed(7);
  auto a = torch::randn({3, 4}), b = torch::randn({3, 4});
  const modify::Traits binary_linear{Arity::binary, Params::none, Linearity::linear, Kind::elementwise};
  const modify::Traits binary_nonlinear{Arity::binary, Params::none, Linearity::nonlinear, Kind::elementwise};
  check_claims(modify::Add(), std::tuple{a, b}, binary_linear);
  check_claims(modify::Sub(), std::tuple{a, b}, binary_linear);
  check_claims(modify::Mul(), std::tuple{a, b}, binary_nonlinear);
  check_claims(modify::Div(), std::tuple{a, b.abs() + 0.5}, binary_nonlinear);
  check_claims(modify::Maximum(), std::tuple{a, b}, binary_nonlinear);
  check_claims(modify::Minimum(), std::tuple{a, b}, binary_nonlinear);
  check_claims(modify::MatMul(), std::tuple{a, torch::randn({4, 2})},
               {Arity::binary, Params::none, Linearity::nonlinear, Kind::matrix});
  // Where: the condition is boolean, so the affine identity cannot be posed; it is elementwise.
  check_claims(modify::Where(), std::tuple{a > 0, a, b}, {Arity::ternary, Params::none, Linearity::nonlinear, Kind::elementwise});
}

TEST_CASE("Where takes (condition, a, b) with broadcasting; MatMul batches; Maximum with zero is a ReLU") {
  auto cond = torch::tensor({true, false, true});
  auto a = torch::randn({2, 3}), zero = torch::zeros({1});
  CHECK(torch::equal(modify::Where()(std::tuple{cond, a, zero}), torch::where(cond, a, zero)));
  auto model = modify::Sequential(modify::Parallel(modify::Identity(), torch::nn::Tanh(), modify::Negative()), modify::Where());
  CHECK(torch::equal(model(std::tuple{cond, a, a}), torch::where(cond, a.tanh(), -a)));
  static_assert(modify::trait::Ternary<modify::Where> && modify::trait::Ternary<decltype(model)>);
  auto x = torch::randn({5, 2, 3}), w = torch::randn({3, 4});
  CHECK((modify::MatMul()(std::tuple{x, w}).sizes() == torch::IntArrayRef{5, 2, 4}));
  CHECK(torch::equal(modify::Maximum()(std::tuple{a, zero}), torch::relu(a)));
  CHECK(torch::equal(modify::Minimum()(std::tuple{a, zero}), -torch::relu(-a)));
}
