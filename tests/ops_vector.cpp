// Tests for modify/ops/vector.hpp: CumSum, Diff, CumProd, CumMax, CumMin, LogCumSumExp, Softmax,
// LogSoftmax.
#include "op_testing.hpp"

using namespace op_testing;

namespace {
constexpr modify::Traits linear{modify::Arity::unary, modify::Params::none, modify::Linearity::linear,
                                modify::Kind::vector};
constexpr modify::Traits nonlinear{modify::Arity::unary, modify::Params::none, modify::Linearity::nonlinear,
                                   modify::Kind::vector};
}  // namespace

TEST_CASE("vector ops match PyTorch: values and gradients") {
  Parity p("vector");
  p.check("CumSum", modify::CumSum(1), "x");
  p.check("CumSum_0", modify::CumSum(0), "x3");
  p.check("Diff", modify::Diff(), "x");
  p.check("Diff_2", modify::Diff(2, 0), "x6");
  p.check("Diff_prepend_append", modify::Diff(1, 1, input("pre"), input("app")), "x");
  p.check("CumProd", modify::CumProd(1), "x");
  p.check("CumMax", modify::CumMax(1), "x");
  p.check("CumMin", modify::CumMin(0), "x");
  p.check("LogCumSumExp", modify::LogCumSumExp(1), "x");
  p.check("Softmax", modify::Softmax(1), "x");
  p.check("Softmax_0", modify::Softmax(0), "x3");
  p.check("LogSoftmax", modify::LogSoftmax(1), "x");
  p.all_checked();
}

TEST_CASE("vector ops: the declared traits hold on random inputs") {
  torch::manual_seed(4);
  auto x = torch::randn({3, 4}), x3 = torch::randn({2, 3, 4});
  check_claims(modify::CumSum(1), x, linear);
  check_claims(modify::CumSum(0), x3, linear);
  check_claims(modify::Diff(), x, linear);
  check_claims(modify::Diff(2, 0, torch::randn({1, 4}), torch::randn({2, 4})), x, linear);  // affine
  check_claims(modify::CumProd(1), x, nonlinear);
  check_claims(modify::CumMax(1), x, nonlinear);
  check_claims(modify::CumMin(2), x3, nonlinear);
  check_claims(modify::LogCumSumExp(0), x, nonlinear);
  check_claims(modify::Softmax(1), x, nonlinear);
  check_claims(modify::LogSoftmax(-1), x3, nonlinear);
}

TEST_CASE("Diff is a vector op, not a restructure: its outputs are not elements of its input") {
  // The Python table lists Diff among the restructure ops. The differences of 1, 2, 4, 10 are 1, 2, 6,
  // and 6 is not an element of the input (nor a constant), so Diff computes, it does not rearrange.
  auto x = torch::tensor({1.0, 2.0, 4.0, 10.0});
  auto d = modify::Diff()(x);
  CHECK(torch::equal(d, torch::tensor({1.0, 2.0, 6.0})));
  CHECK_FALSE(torch::isin(d, x).all().item<bool>());
}

TEST_CASE("CumMax and CumMin return (values, indices); Diff keeps prepend and append as buffers") {
  auto x = torch::tensor({{1.0, 3.0, 2.0, 5.0}});
  auto [values, indices] = modify::CumMax(1)(x);
  CHECK(torch::equal(values, torch::tensor({{1.0, 3.0, 3.0, 5.0}})));
  CHECK(torch::equal(indices, torch::tensor({{0, 1, 1, 3}})));
  static_assert(std::is_same_v<decltype(modify::CumMin(0)(x)), std::tuple<torch::Tensor, torch::Tensor>>);

  auto diff = modify::Diff(1, 0, torch::zeros({1, 2}));
  CHECK(diff->parameters().empty());
  CHECK(diff->buffers().size() == 1);
  auto copy = modify::clone(modify::Sequential(diff));
  modify::get<0>(copy)->prepend.fill_(1.0);  // the clone's buffer is its own
  CHECK(torch::equal(diff->prepend, torch::zeros({1, 2})));
  auto y = torch::randn({3, 2});
  CHECK(torch::equal(diff(y), torch::cat({torch::zeros({1, 2}), y}).diff(1, 0)));
  CHECK(text_of(diff) == "modify::Diff(n=1, dim=0, prepend=Tensor[1, 2])");
  CHECK(text_of(modify::CumSum(-1)) == "modify::CumSum(dim=-1)");
  CHECK(text_of(modify::CumMax(0)) == "modify::CumMax(dim=0)");
  CHECK(text_of(modify::Softmax(1)) == "torch::nn::Softmax(dim=1)");
}
