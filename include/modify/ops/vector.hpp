// Vector ops, acting on each vector along a dim: CumSum, Diff (linear); CumProd, CumMax, CumMin
// (values and indices), LogCumSumExp, Softmax, LogSoftmax.
#pragma once

#include <cstdint>
#include <utility>
#include <ostream>
#include <tuple>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include <modify/detail/op_handle.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits linear_vector = unary(Linearity::linear, Kind::vector);
inline constexpr Traits nonlinear_vector = unary(Linearity::nonlinear, Kind::vector);
}  // namespace detail::op

// CumSum(dim): x -> x.cumsum(dim). Unary, ParamFree, Linear, Vector.
struct CumSumImpl : Leaf<CumSumImpl> {
  static constexpr Traits traits = detail::op::linear_vector;
  explicit CumSumImpl(int64_t dim) : dim(dim) {}
  at::Tensor forward(const at::Tensor& x) { return x.cumsum(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::CumSum")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(CumSum);

// Diff(n = 1, dim = -1, prepend = none, append = none): x -> x.diff(n, dim, prepend, append), the
// n-th forward difference along dim (prepend / append are constant tensors, kept as buffers).
// Unary, ParamFree, Linear (affine with prepend / append), Vector. (The Python table lists it as a
// restructure; it subtracts neighbours, so its outputs are not elements of its input.)
struct DiffImpl : Leaf<DiffImpl> {
  static constexpr Traits traits = detail::op::linear_vector;
  // An undefined tensor (the default) means none.
  explicit DiffImpl(int64_t n = 1, int64_t dim = -1, at::Tensor prepend = {}, at::Tensor append = {})
      : n(n), dim(dim), prepend(std::move(prepend)), append(std::move(append)) {
    reset();
  }
  void reset() override {
    // Fresh tensors, so that a clone's buffers are its own.
    if (prepend.defined()) prepend = register_buffer("prepend", prepend.detach().clone());
    if (append.defined()) append = register_buffer("append", append.detach().clone());
  }
  at::Tensor forward(const at::Tensor& x) {
    return x.diff(n, dim, prepend.defined() ? c10::optional<at::Tensor>(prepend) : c10::nullopt,
                  append.defined() ? c10::optional<at::Tensor>(append) : c10::nullopt);
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args args(out, "modify::Diff");
    args("n", n)("dim", dim);
    if (prepend.defined()) args("prepend", prepend);
    if (append.defined()) args("append", append);
  }
  int64_t n, dim;
  at::Tensor prepend, append;
};
MODIFY_DETAIL_OP_HANDLE(Diff);

// CumProd(dim): x -> x.cumprod(dim). Unary, ParamFree, NonLinear, Vector.
struct CumProdImpl : Leaf<CumProdImpl> {
  static constexpr Traits traits = detail::op::nonlinear_vector;
  explicit CumProdImpl(int64_t dim) : dim(dim) {}
  at::Tensor forward(const at::Tensor& x) { return x.cumprod(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::CumProd")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(CumProd);

// CumMax(dim): x -> (values, indices) = x.cummax(dim), the running maximum and where it was found
// (int64). Unary, ParamFree, NonLinear, Vector.
struct CumMaxImpl : Leaf<CumMaxImpl> {
  static constexpr Traits traits = detail::op::nonlinear_vector;
  explicit CumMaxImpl(int64_t dim) : dim(dim) {}
  std::tuple<at::Tensor, at::Tensor> forward(const at::Tensor& x) { return x.cummax(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::CumMax")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(CumMax);

// CumMin(dim): x -> (values, indices) = x.cummin(dim). Unary, ParamFree, NonLinear, Vector.
struct CumMinImpl : Leaf<CumMinImpl> {
  static constexpr Traits traits = detail::op::nonlinear_vector;
  explicit CumMinImpl(int64_t dim) : dim(dim) {}
  std::tuple<at::Tensor, at::Tensor> forward(const at::Tensor& x) { return x.cummin(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::CumMin")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(CumMin);

// LogCumSumExp(dim): x -> x.logcumsumexp(dim). Unary, ParamFree, NonLinear, Vector.
struct LogCumSumExpImpl : Leaf<LogCumSumExpImpl> {
  static constexpr Traits traits = detail::op::nonlinear_vector;
  explicit LogCumSumExpImpl(int64_t dim) : dim(dim) {}
  at::Tensor forward(const at::Tensor& x) { return x.logcumsumexp(dim); }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::LogCumSumExp")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(LogCumSumExp);

// Softmax(dim) / LogSoftmax(dim): LibTorch's own modules (torch::nn::Softmax, torch::nn::LogSoftmax),
// whose traits modify declares once (Unary, ParamFree, NonLinear, Vector); the table's function
// modules of the same name would duplicate them. modify::Softmax(1) is torch::nn::Softmax(1).
using Softmax = torch::nn::Softmax;
using LogSoftmax = torch::nn::LogSoftmax;

}  // namespace modify
