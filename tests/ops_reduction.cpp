// Tests for modify/ops/reduction.hpp: Mean, Sum, Prod, Max, Min, ArgMax, ArgMin, Std, Var, LogSumExp.
#include "op_testing.hpp"

using namespace op_testing;

namespace {
constexpr modify::Traits linear{modify::Arity::unary, modify::Params::none, modify::Linearity::linear,
                                modify::Kind::reduction};
constexpr modify::Traits nonlinear{modify::Arity::unary, modify::Params::none, modify::Linearity::nonlinear,
                                   modify::Kind::reduction};
}  // namespace

TEST_CASE("reductions match PyTorch: values and gradients") {
  Parity p("reduction");
  p.check("Mean", modify::Mean(), "x");
  p.check("Mean_1", modify::Mean(1), "x");
  p.check("Mean_dims", modify::Mean({0, 2}, true), "x3");
  p.check("Sum", modify::Sum(), "x");
  p.check("Sum_0", modify::Sum(0, true), "x");
  p.check("Sum_dims", modify::Sum({1, 2}), "x3");
  p.check("Prod", modify::Prod(), "pos");
  p.check("Prod_1", modify::Prod(1), "x");
  p.check("Prod_0", modify::Prod(0, true), "x");
  p.check("Max", modify::Max(), "x");
  p.check("Max_1", modify::Max(1), "x");
  p.check("Max_dims", modify::Max({0, 2}, true), "x3");
  p.check("Min", modify::Min(), "x");
  p.check("Min_1", modify::Min(1), "x");
  p.check("ArgMax", modify::ArgMax(), "x");
  p.check("ArgMax_1", modify::ArgMax(1), "x");
  p.check("ArgMax_0", modify::ArgMax(0, true), "x");
  p.check("ArgMin", modify::ArgMin(), "x");
  p.check("ArgMin_1", modify::ArgMin(1), "x");
  p.check("Std", modify::Std(), "x");
  p.check("Std_1", modify::Std(1), "x");
  p.check("Std_dims", modify::Std({0, 2}, false, true), "x3");
  p.check("Var", modify::Var(), "x");
  p.check("Var_1", modify::Var(1), "x");
  p.check("Var_biased", modify::Var(0, false), "x");
  p.check("LogSumExp", modify::LogSumExp(1), "x");
  p.check("LogSumExp_dims", modify::LogSumExp({0, 1}, true), "x3");
  p.all_checked();
}

TEST_CASE("reductions: the declared traits hold on random inputs") {
  torch::manual_seed(3);
  auto x = torch::randn({3, 4}), x3 = torch::randn({2, 3, 4});
  check_claims(modify::Mean(), x, linear);
  check_claims(modify::Mean({0, 2}, true), x3, linear);
  check_claims(modify::Sum(1), x, linear);
  check_claims(modify::Sum({0, 1}), x3, linear);
  check_claims(modify::Prod(1), x, nonlinear);
  check_claims(modify::Prod(), x, nonlinear);
  check_claims(modify::Max(1), x, nonlinear);
  check_claims(modify::Max(), x3, nonlinear);
  check_claims(modify::Min({0, 2}), x3, nonlinear);
  check_claims(modify::ArgMax(1), x, nonlinear);
  check_claims(modify::ArgMax(), x3, nonlinear);
  check_claims(modify::ArgMin(0), x, nonlinear);
  check_claims(modify::Std(1), x, nonlinear);
  check_claims(modify::Var(), x3, nonlinear);
  check_claims(modify::LogSumExp(1), x, nonlinear);
}

TEST_CASE("reductions: dims as torch takes them, keepdim, and printing") {
  auto x = torch::randn({2, 3, 4});
  CHECK((modify::Sum()(x).sizes() == torch::IntArrayRef{}));
  CHECK((modify::Sum({}, true)(x).sizes() == torch::IntArrayRef{1, 1, 1}));
  CHECK((modify::Prod(std::nullopt, true)(x).sizes() == torch::IntArrayRef{1, 1, 1}));
  CHECK(torch::allclose(modify::Prod(std::nullopt, true)(x).flatten(), x.prod().flatten()));
  CHECK((modify::Max(-1, true)(x).sizes() == torch::IntArrayRef{2, 3, 1}));
  CHECK((modify::ArgMin(1, true)(x).sizes() == torch::IntArrayRef{2, 1, 4}));
  CHECK((modify::ArgMax(2)(x).scalar_type() == torch::kLong));
  CHECK(torch::allclose(modify::Mean(std::vector<int64_t>{0, 1})(x), x.mean(torch::IntArrayRef{0, 1})));
  CHECK(text_of(modify::Mean()) == "modify::Mean(keepdim=false)");
  CHECK(text_of(modify::Sum(1)) == "modify::Sum(dim=1, keepdim=false)");
  CHECK(text_of(modify::Max({0, 2}, true)) == "modify::Max(dim=[0, 2], keepdim=true)");
  CHECK(text_of(modify::ArgMin(1)) == "modify::ArgMin(dim=1, keepdim=false)");
  CHECK(text_of(modify::Std({1}, false)) == "modify::Std(dim=[1], unbiased=false, keepdim=false)");
  CHECK(text_of(modify::LogSumExp(-1)) == "modify::LogSumExp(dim=-1, keepdim=false)");
  // A reduction over a dim the tensor lacks fails with the module's path.
  auto model = modify::Sequential(torch::nn::Linear(4, 2), modify::named<"pool">(modify::Mean(3)));
  CHECK_THROWS_WITH_AS(model(torch::randn({5, 4})), doctest::Contains("module 'pool'"), modify::ForwardError);
}
