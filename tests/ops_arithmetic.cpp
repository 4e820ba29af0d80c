// Tests for modify/ops/arithmetic.hpp: Add, Sub, Mul, Div on pairs, with broadcasting and traits.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

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
