// Reductions over dims (dim and keepdim as in torch): Mean, Sum (linear); Prod, Max (amax), Min (amin),
// ArgMax, ArgMin, Std, Var, LogSumExp.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include <ATen/ATen.h>

#include <modify/detail/op_handle.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits linear_reduction = unary(Linearity::linear, Kind::reduction);
inline constexpr Traits nonlinear_reduction = unary(Linearity::nonlinear, Kind::reduction);
}  // namespace detail::op

// The dims of a reduction are given as torch takes them: none (every dim), one dim, or a braced
// list: Sum(), Sum(1), Sum({1, 2}, true).

// Mean(dim = all, keepdim = false): x -> x.mean(dim, keepdim). Unary, ParamFree, Linear, Reduction.
struct MeanImpl : Leaf<MeanImpl> {
  static constexpr Traits traits = detail::op::linear_reduction;
  explicit MeanImpl(detail::op::Dims dim = {}, bool keepdim = false) : dim(std::move(dim)), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.mean(dim.of(x), keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Mean")("dim", dim)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Mean);

// Sum(dim = all, keepdim = false): x -> x.sum(dim, keepdim). Unary, ParamFree, Linear, Reduction.
struct SumImpl : Leaf<SumImpl> {
  static constexpr Traits traits = detail::op::linear_reduction;
  explicit SumImpl(detail::op::Dims dim = {}, bool keepdim = false) : dim(std::move(dim)), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.sum(dim.of(x), keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Sum")("dim", dim)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Sum);

// Prod(dim = all, keepdim = false): x -> x.prod() or x.prod(dim, keepdim) (one dim, as torch).
// Unary, ParamFree, NonLinear, Reduction.
struct ProdImpl : Leaf<ProdImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit ProdImpl(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) : dim(dim), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) {
    if (dim) return x.prod(*dim, keepdim);
    at::Tensor all = x.prod();
    if (!keepdim) return all;
    return all.view(std::vector<int64_t>(static_cast<std::size_t>(x.dim()), 1));
  }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Prod")("dim", dim)("keepdim", keepdim);
  }
  std::optional<int64_t> dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Prod);

// Max(dim = all, keepdim = false): x -> x.amax(dim, keepdim), the maximum values (torch.max with a dim
// also returns indices; use ArgMax for those). Unary, ParamFree, NonLinear, Reduction.
struct MaxImpl : Leaf<MaxImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit MaxImpl(detail::op::Dims dim = {}, bool keepdim = false) : dim(std::move(dim)), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.amax(dim.of(x), keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Max")("dim", dim)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Max);

// Min(dim = all, keepdim = false): x -> x.amin(dim, keepdim). Unary, ParamFree, NonLinear, Reduction.
struct MinImpl : Leaf<MinImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit MinImpl(detail::op::Dims dim = {}, bool keepdim = false) : dim(std::move(dim)), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.amin(dim.of(x), keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Min")("dim", dim)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Min);

// ArgMax(dim = all, keepdim = false): x -> x.argmax(dim, keepdim), int64 indices (into the flattened
// tensor when there is no dim). Unary, ParamFree, NonLinear, Reduction.
struct ArgMaxImpl : Leaf<ArgMaxImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit ArgMaxImpl(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) : dim(dim), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return dim ? x.argmax(*dim, keepdim) : x.argmax(c10::nullopt, keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::ArgMax")("dim", dim)("keepdim", keepdim);
  }
  std::optional<int64_t> dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(ArgMax);

// ArgMin(dim = all, keepdim = false): x -> x.argmin(dim, keepdim). Unary, ParamFree, NonLinear,
// Reduction.
struct ArgMinImpl : Leaf<ArgMinImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit ArgMinImpl(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) : dim(dim), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return dim ? x.argmin(*dim, keepdim) : x.argmin(c10::nullopt, keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::ArgMin")("dim", dim)("keepdim", keepdim);
  }
  std::optional<int64_t> dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(ArgMin);

// Std(dim = all, unbiased = true, keepdim = false): x -> x.std(dim, unbiased, keepdim). Unary,
// ParamFree, NonLinear, Reduction.
struct StdImpl : Leaf<StdImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit StdImpl(detail::op::Dims dim = {}, bool unbiased = true, bool keepdim = false)
      : dim(std::move(dim)), unbiased(unbiased), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.std(at::OptionalIntArrayRef(dim.of(x)), unbiased, keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Std")("dim", dim)("unbiased", unbiased)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool unbiased, keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Std);

// Var(dim = all, unbiased = true, keepdim = false): x -> x.var(dim, unbiased, keepdim). Unary,
// ParamFree, NonLinear, Reduction.
struct VarImpl : Leaf<VarImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit VarImpl(detail::op::Dims dim = {}, bool unbiased = true, bool keepdim = false)
      : dim(std::move(dim)), unbiased(unbiased), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.var(at::OptionalIntArrayRef(dim.of(x)), unbiased, keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::Var")("dim", dim)("unbiased", unbiased)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool unbiased, keepdim;
};
MODIFY_DETAIL_OP_HANDLE(Var);

// LogSumExp(dim, keepdim = false): x -> x.logsumexp(dim, keepdim) (dim is required, as in torch).
// Unary, ParamFree, NonLinear, Reduction.
struct LogSumExpImpl : Leaf<LogSumExpImpl> {
  static constexpr Traits traits = detail::op::nonlinear_reduction;
  explicit LogSumExpImpl(detail::op::Dims dim, bool keepdim = false) : dim(std::move(dim)), keepdim(keepdim) {}
  at::Tensor forward(const at::Tensor& x) { return x.logsumexp(dim.of(x), keepdim); }
  void pretty_print(std::ostream& out) const override {
    detail::op::Args(out, "modify::LogSumExp")("dim", dim)("keepdim", keepdim);
  }
  detail::op::Dims dim;
  bool keepdim;
};
MODIFY_DETAIL_OP_HANDLE(LogSumExp);

}  // namespace modify
