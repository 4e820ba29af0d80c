// Tuple restructure ops: a flat tuple of tensors to one tensor (Cat, Concatenate, Stack, VStack, HStack).
#pragma once

#include <cstdint>
#include <ostream>
#include <tuple>
#include <type_traits>
#include <vector>

#include <ATen/ATen.h>

#include <modify/detail/op_handle.hpp>
#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

namespace detail::op {
inline constexpr Traits tuple_restructure{Arity::tuple, Params::none, Linearity::linear, Kind::restructure};

// flat_tensors<Ts...>: whether a tuple op can take a std::tuple<Ts...>. The static_asserts are the
// first error a wrong tuple gives; forward then returns an undefined tensor instead of calling ATen,
// so that nothing else is reported.
template <class... Ts>
constexpr bool flat_tensors() {
  static_assert(sizeof...(Ts) > 0, "modify: a tuple op (Cat, Stack, ...) receives an empty tuple");
  // std::is_same_v, not the TensorValue concept: a failed concept adds a page of notes. (Ts are
  // deduced from std::tuple<Ts...>, so they carry no cv-ref.)
  static_assert((std::is_same_v<Ts, at::Tensor> && ...),
                "modify: a tuple op (Cat, Stack, ...) receives a tuple with a nested tuple in it; it takes a flat "
                "tuple of tensors");
  return sizeof...(Ts) > 0 && (std::is_same_v<Ts, at::Tensor> && ...);
}

template <class... Ts>
std::vector<at::Tensor> tensors_of(const std::tuple<Ts...>& xs) {
  return std::apply([](const auto&... x) { return std::vector<at::Tensor>{x...}; }, xs);
}
}  // namespace detail::op

// Cat(dim = 0): (x0, ..., xn) -> at::cat({x0, ..., xn}, dim). TupleArg, ParamFree, Linear, Restructure.
struct CatImpl : Leaf<CatImpl> {
  static constexpr Traits traits = detail::op::tuple_restructure;
  explicit CatImpl(int64_t dim = 0) : dim(dim) {}
  template <class... Ts>
  at::Tensor forward(const std::tuple<Ts...>& xs) {
    if constexpr (detail::op::flat_tensors<Ts...>()) return at::cat(detail::op::tensors_of(xs), dim);
    else return {};
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Cat")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(Cat);

// Concatenate(dim = 0): torch.concatenate, an alias of Cat (its own module so that it prints as
// written). TupleArg, ParamFree, Linear, Restructure.
struct ConcatenateImpl : Leaf<ConcatenateImpl> {
  static constexpr Traits traits = detail::op::tuple_restructure;
  explicit ConcatenateImpl(int64_t dim = 0) : dim(dim) {}
  template <class... Ts>
  at::Tensor forward(const std::tuple<Ts...>& xs) {
    if constexpr (detail::op::flat_tensors<Ts...>()) return at::concatenate(detail::op::tensors_of(xs), dim);
    else return {};
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Concatenate")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(Concatenate);

// Stack(dim = 0): (x0, ..., xn) -> at::stack({x0, ..., xn}, dim), along a new dim. TupleArg, ParamFree,
// Linear, Restructure.
struct StackImpl : Leaf<StackImpl> {
  static constexpr Traits traits = detail::op::tuple_restructure;
  explicit StackImpl(int64_t dim = 0) : dim(dim) {}
  template <class... Ts>
  at::Tensor forward(const std::tuple<Ts...>& xs) {
    if constexpr (detail::op::flat_tensors<Ts...>()) return at::stack(detail::op::tensors_of(xs), dim);
    else return {};
  }
  void pretty_print(std::ostream& out) const override { detail::op::Args(out, "modify::Stack")("dim", dim); }
  int64_t dim;
};
MODIFY_DETAIL_OP_HANDLE(Stack);

// VStack: (x0, ..., xn) -> at::vstack (row-wise: 1-D tensors become rows). TupleArg, ParamFree,
// Linear, Restructure.
struct VStackImpl : Leaf<VStackImpl> {
  static constexpr Traits traits = detail::op::tuple_restructure;
  template <class... Ts>
  at::Tensor forward(const std::tuple<Ts...>& xs) {
    if constexpr (detail::op::flat_tensors<Ts...>()) return at::vstack(detail::op::tensors_of(xs));
    else return {};
  }
};
MODIFY_DETAIL_OP_HANDLE(VStack);

// HStack: (x0, ..., xn) -> at::hstack (column-wise: along dim 1, or dim 0 for 1-D tensors). TupleArg,
// ParamFree, Linear, Restructure.
struct HStackImpl : Leaf<HStackImpl> {
  static constexpr Traits traits = detail::op::tuple_restructure;
  template <class... Ts>
  at::Tensor forward(const std::tuple<Ts...>& xs) {
    if constexpr (detail::op::flat_tensors<Ts...>()) return at::hstack(detail::op::tensors_of(xs));
    else return {};
  }
};
MODIFY_DETAIL_OP_HANDLE(HStack);

}  // namespace modify
