// Tests for modify/ops/structure.hpp: Identity, Copy<N>, ViewMerge, ViewUnMerge, ElementwiseNonlin.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_CASE("Identity returns its input itself") {
  auto x = torch::randn({3});
  CHECK(modify::Identity()(x).is_same(x));
  static_assert(modify::trait::Unary<modify::Identity> && modify::trait::ParamFree<modify::Identity> &&
                modify::trait::Linear<modify::Identity> && modify::trait::Identity<modify::Identity> &&
                modify::trait::Elementwise<modify::Identity> && modify::trait::Restructure<modify::Identity>);
  CHECK(modify::Identity()->parameters().empty());
}

TEST_CASE("Copy<N> makes an N-tuple of handles to its input, without copying data") {
  auto x = torch::randn({2, 2});
  auto [a, b, c, d] = modify::Copy<4>()(x);
  CHECK((a.is_same(x) && b.is_same(x) && c.is_same(x) && d.is_same(x)));
  auto [single] = modify::Copy<1>()(x);
  CHECK(single.is_same(x));
  using C = modify::Copy<3>;
  static_assert(modify::trait::Unary<C> && modify::trait::ParamFree<C> && modify::trait::Linear<C> &&
                modify::trait::Restructure<C> && !modify::trait::Elementwise<C>);
  static_assert(modify::CopyImpl<5>::copies == 5);
  std::ostringstream out;
  out << modify::Copy<3>();
  CHECK(out.str() == "modify::Copy<3>()");
}

TEST_CASE("gradients flow through both copies") {
  auto x = torch::randn({3}, torch::requires_grad());
  auto model = modify::Sequential(modify::Copy<2>(), modify::Add());
  model(x).sum().backward();
  CHECK(torch::allclose(x.grad(), torch::full({3}, 2.0)));
}

TEST_CASE("ViewMerge merges two adjacent dims, as a view when the strides allow") {
  auto x = torch::randn({2, 3, 4, 5});
  auto merged = modify::ViewMerge(1, 2)(x);
  CHECK((merged.sizes() == torch::IntArrayRef{2, 12, 5}));
  CHECK(torch::equal(merged, x.reshape({2, 12, 5})));
  CHECK(merged.data_ptr() == x.data_ptr());  // a view of x
  CHECK(torch::equal(modify::ViewMerge(-2, -1)(x), x.reshape({2, 3, 20})));
  // After a transpose no view exists: the result is a copy with the same values (as reshape).
  auto transposed = x.transpose(1, 2);
  CHECK(torch::equal(modify::ViewMerge(2, 3)(transposed), transposed.reshape({2, 4, 15})));
  CHECK_THROWS_WITH_AS(modify::ViewMerge(1, 3), "modify: ViewMerge(1, 3) needs two adjacent dims, dim1 = dim0 + 1",
                       std::invalid_argument);
  auto model = modify::Sequential(modify::named<"merge">(modify::ViewMerge(2, 3)));
  try {
    model(torch::randn({2, 3}));
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "merge");
    CHECK(e.reason() == "modify: ViewMerge(2, 3) needs two adjacent dims of its input, got an input [2, 3]");
  }
}

TEST_CASE("ViewUnMerge splits one dim in two (one size may be -1), always as a view") {
  auto x = torch::randn({2, 12, 5});
  auto split = modify::ViewUnMerge(1, 3, 4)(x);
  CHECK((split.sizes() == torch::IntArrayRef{2, 3, 4, 5}));
  CHECK(torch::equal(split, x.view({2, 3, 4, 5})));
  CHECK(split.data_ptr() == x.data_ptr());
  CHECK((modify::ViewUnMerge(-1, -1, 1)(x).sizes() == torch::IntArrayRef{2, 12, 5, 1}));
  CHECK((modify::ViewUnMerge(1, 2, -1)(x).sizes() == torch::IntArrayRef{2, 2, 6, 5}));
  // ViewUnMerge and ViewMerge undo each other.
  CHECK(torch::equal(modify::Sequential(modify::ViewUnMerge(1, 4, 3), modify::ViewMerge(1, 2))(x), x));
  // Splitting a transposed (non-contiguous) tensor is still a view.
  auto t = x.transpose(0, 1);
  CHECK(modify::ViewUnMerge(0, 6, 2)(t).data_ptr() == x.data_ptr());
  CHECK_THROWS_WITH(modify::ViewUnMerge(1, 5, 2)(x),
                    "modify: ViewUnMerge(1, 5, 2) cannot split dim 1 (size 12) of an input [2, 12, 5]");
  CHECK_THROWS_WITH(modify::ViewUnMerge(1, -1, 5)(x),
                    "modify: ViewUnMerge(1, -1, 5) cannot split dim 1 (size 12) of an input [2, 12, 5]");
  CHECK_THROWS_WITH(modify::ViewUnMerge(4, 2, 2)(x),
                    "modify: ViewUnMerge(4, 2, 2) cannot split a dim it does not have of an input [2, 12, 5]");
  CHECK_THROWS_AS(modify::ViewUnMerge(0, -1, -1), std::invalid_argument);
  CHECK_THROWS_AS(modify::ViewUnMerge(0, 0, 3), std::invalid_argument);
}

TEST_CASE("ViewMerge and ViewUnMerge are Restructure, Linear, ParamFree, and linear indeed") {
  using namespace modify::trait;
  static_assert(Unary<modify::ViewMerge> && Restructure<modify::ViewMerge> && Linear<modify::ViewMerge> &&
                ParamFree<modify::ViewMerge> && !Elementwise<modify::ViewMerge>);
  static_assert(Unary<modify::ViewUnMerge> && Restructure<modify::ViewUnMerge> && Linear<modify::ViewUnMerge> &&
                ParamFree<modify::ViewUnMerge>);
  CHECK(modify::ViewMerge(0, 1)->parameters().empty());
  CHECK(modify::ViewUnMerge(0, 2, 2)->parameters().empty());
  auto f = modify::Sequential(modify::ViewUnMerge(1, 2, 3), modify::ViewMerge(0, 1));
  auto x = torch::randn({4, 6}), y = torch::randn({4, 6});
  const double a = 0.7, b = -1.3;
  CHECK(torch::allclose(f(a * x + b * y), a * f(x) + b * f(y) - (a + b - 1) * f(torch::zeros_like(x))));
  std::ostringstream out;
  out << modify::ViewMerge(2, 3) << ' ' << modify::ViewUnMerge(2, 3, -1);
  CHECK(out.str() == "modify::ViewMerge(2, 3) modify::ViewUnMerge(2, 3, -1)");
}

TEST_CASE("ElementwiseNonlin wraps an activation, records its feature count, and is Elementwise and NonLinear") {
  using namespace modify::trait;
  auto gelu = modify::ElementwiseNonlin(torch::nn::GELU(), 8);
  static_assert(std::is_same_v<decltype(gelu), modify::ElementwiseNonlin<torch::nn::GELU>>);
  static_assert(Unary<decltype(gelu)> && ParamFree<decltype(gelu)> && NonLinear<decltype(gelu)> &&
                Elementwise<decltype(gelu)>);
  CHECK(gelu->features == 8);
  CHECK(gelu->parameters().empty());
  CHECK(gelu->children().empty());  // held, not registered: a leaf
  auto x = torch::randn({3, 8});
  CHECK(torch::equal(gelu(x), torch::gelu(x)));
  // Elementwise: permuting the input's elements permutes the output's the same way.
  auto permutation = torch::randperm(x.numel());
  CHECK(torch::equal(gelu(x.flatten().index({permutation}).view(x.sizes())).flatten(), gelu(x).flatten().index({permutation})));

  auto square = modify::ElementwiseNonlin([](const torch::Tensor& t) { return t * t; }, 8);
  CHECK(torch::equal(square(x), x * x));
  static_assert(Elementwise<decltype(square)> && NonLinear<decltype(square)>);

  // A training-dependent activation follows the wrapper's mode.
  auto rrelu = modify::ElementwiseNonlin(torch::nn::RReLU(), 8);
  auto model = modify::Sequential(rrelu);
  model->eval();
  auto negative = -torch::rand({2, 8}) - 0.5;
  CHECK(torch::allclose(model(negative), torch::nn::functional::rrelu(negative)));  // eval: the mean slope
  model->train();
  CHECK_FALSE(torch::allclose(model(negative), torch::nn::functional::rrelu(negative)));  // train: random slopes

  std::ostringstream out;
  out << gelu << ' ' << square;
  CHECK(out.str() == "modify::ElementwiseNonlin(torch::nn::GELU(), features=8) "
                     "modify::ElementwiseNonlin(<function>, features=8)");
  CHECK_THROWS_AS(modify::ElementwiseNonlin(torch::nn::ReLU(), 0), std::invalid_argument);
}
