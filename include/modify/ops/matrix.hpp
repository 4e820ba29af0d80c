// Matrix ops on the last two dims (batched over the others): Inverse, Det, LogDet, SLogDet (sign,
// logabsdet), MatrixExp, MatrixPower, QR (Q, R). All Unary, ParamFree, NonLinear, Matrix.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>

#include <modify/detail/op_handle.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits matrix = unary(Linearity::nonlinear, Kind::matrix);
}  // namespace detail::op

// Inverse: A -> A^-1 (torch.inverse, i.e. torch.linalg.inv).
struct InverseImpl : Leaf<InverseImpl> {
  static constexpr Traits traits = detail::op::matrix;
  at::Tensor forward(const at::Tensor& x) { return at::linalg_inv(x); }
};
MODIFY_DETAIL_OP_HANDLE(Inverse);

// Det: A -> det A (torch.det).
struct DetImpl : Leaf<DetImpl> {
  static constexpr Traits traits = detail::op::matrix;
  at::Tensor forward(const at::Tensor& x) { return at::linalg_det(x); }
};
MODIFY_DETAIL_OP_HANDLE(Det);

// LogDet: A -> log det A (torch.logdet: nan for a negative determinant, -inf for a zero one).
struct LogDetImpl : Leaf<LogDetImpl> {
  static constexpr Traits traits = detail::op::matrix;
  at::Tensor forward(const at::Tensor& x) { return at::logdet(x); }
};
MODIFY_DETAIL_OP_HANDLE(LogDet);

// SLogDet: A -> (sign, logabsdet) with det A = sign * exp(logabsdet) (torch.slogdet).
struct SLogDetImpl : Leaf<SLogDetImpl> {
  static constexpr Traits traits = detail::op::matrix;
  std::tuple<at::Tensor, at::Tensor> forward(const at::Tensor& x) { return at::linalg_slogdet(x); }
};
MODIFY_DETAIL_OP_HANDLE(SLogDet);

// MatrixExp: A -> exp(A), the matrix exponential (torch.matrix_exp).
struct MatrixExpImpl : Leaf<MatrixExpImpl> {
  static constexpr Traits traits = detail::op::matrix;
  at::Tensor forward(const at::Tensor& x) { return at::linalg_matrix_exp(x); }
};
MODIFY_DETAIL_OP_HANDLE(MatrixExp);

// MatrixPower(n): A -> A^n (torch.matrix_power; a negative n uses the inverse).
struct MatrixPowerImpl : Leaf<MatrixPowerImpl> {
  static constexpr Traits traits = detail::op::matrix;
  explicit MatrixPowerImpl(int64_t n) : n(n) {}
  at::Tensor forward(const at::Tensor& x) { return at::linalg_matrix_power(x, n); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::MatrixPower")("n", n); }
  int64_t n;
};
MODIFY_DETAIL_OP_HANDLE(MatrixPower);

// QR(mode = "reduced"): A -> (Q, R) with A = QR (torch.linalg.qr; "complete" makes Q square, "r"
// computes R only and returns an empty Q, as torch does).
struct QRImpl : Leaf<QRImpl> {
  static constexpr Traits traits = detail::op::matrix;
  explicit QRImpl(std::string mode = "reduced") : mode(std::move(mode)) {}
  std::tuple<at::Tensor, at::Tensor> forward(const at::Tensor& x) { return at::linalg_qr(x, mode); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::QR")("mode", mode); }
  std::string mode;
};
MODIFY_DETAIL_OP_HANDLE(QR);

}  // namespace modify
