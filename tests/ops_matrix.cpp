// Tests for modify/ops/matrix.hpp: Inverse, Det, LogDet, SLogDet, MatrixExp, MatrixPower, QR.
#include "op_testing.hpp"

using namespace op_testing;

namespace {
constexpr modify::Traits matrix{modify::Arity::unary, modify::Params::none, modify::Linearity::nonlinear,
                                modify::Kind::matrix};
}

TEST_CASE("matrix ops match PyTorch: values and gradients") {
  // The inputs are well-conditioned (2 I + 0.4 N(0, 1), condition number < 10, checked by the
  // generator), so the same 1e-5 relative tolerance holds as for the other ops.
  Parity p("matrix");
  p.check("Inverse", modify::Inverse(), "mat");
  p.check("Det", modify::Det(), "mat");
  p.check("LogDet", modify::LogDet(), "mat");
  p.check("SLogDet", modify::SLogDet(), "mat");
  p.check("MatrixExp", modify::MatrixExp(), "mat");
  p.check("MatrixPower", modify::MatrixPower(3), "mat");
  p.check("MatrixPower_negative", modify::MatrixPower(-2), "mat");
  p.check("QR", modify::QR(), "tall");
  p.check("QR_complete", modify::QR("complete"), "tall");  // PyTorch has no gradient here: checked too
  p.check("QR_square", modify::QR(), "mat");
  p.all_checked();
}

TEST_CASE("matrix ops: the declared traits hold on random inputs") {
  torch::manual_seed(5);
  auto a = 2 * torch::eye(3) + 0.3 * torch::randn({2, 3, 3});
  check_claims(modify::Inverse(), a, matrix);
  check_claims(modify::Det(), a, matrix);
  check_claims(modify::LogDet(), a, matrix);
  check_claims(modify::SLogDet(), a, matrix);
  check_claims(modify::MatrixExp(), a, matrix);
  check_claims(modify::MatrixPower(2), a, matrix);
  check_claims(modify::QR(), torch::randn({4, 3}), matrix);
}

TEST_CASE("pairs: SLogDet gives (sign, log|det|), QR gives (Q, R); printing") {
  auto a = torch::tensor({{0.0, 2.0}, {3.0, 0.0}});  // det = -6
  auto [sign, logabsdet] = modify::SLogDet()(a);
  CHECK(sign.item<double>() == -1.0);
  CHECK(logabsdet.item<double>() == doctest::Approx(std::log(6.0)));
  CHECK(std::isnan(modify::LogDet()(a).item<double>()));
  auto x = torch::randn({5, 3});
  auto [q, r] = modify::QR()(x);
  CHECK(torch::allclose(q.matmul(r), x, 1e-5, 1e-5));
  auto [q_complete, r_complete] = modify::QR("complete")(x);
  CHECK((q_complete.sizes() == torch::IntArrayRef{5, 5}));
  CHECK(text_of(modify::QR()) == "modify::QR(mode=\"reduced\")");
  CHECK(text_of(modify::MatrixPower(-1)) == "modify::MatrixPower(n=-1)");
  CHECK(text_of(modify::Inverse()) == "modify::Inverse()");
  // A singular matrix: torch's error, with the module's path.
  auto model = modify::Sequential(modify::named<"inv">(modify::Inverse()));
  CHECK_THROWS_WITH_AS(model(torch::zeros({2, 2})), doctest::Contains("module 'inv'"), modify::ForwardError);
}
