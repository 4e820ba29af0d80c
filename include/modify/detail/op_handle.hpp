// What the function modules (modify/ops/*.hpp) share: a handle taking braced lists, argument
// printing, optional dims, and the typed-count helpers (a vector of tensors to an N-tuple).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <tuple>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include <modify/holder.hpp>
#include <modify/traits.hpp>
#include <modify/ops/structure.hpp>  // detail::tuple_of_n

namespace modify::detail::op {

// OpHandle<Impl>: the handle of a function module. Besides LibTorch's forwarding constructor
// (which cannot deduce a braced list), it accepts braced lists of integers where torch takes dims,
// sizes or shifts: Permute({0, 2, 1}), Sum({1, 2}, true), Roll({1, -1}, {0, 1}), Rot90(1, {1, 2}).
// Its call operator also reaches a template forward (see Holder).
template <class Impl>
class OpHandle : public Holder<Impl> {
 public:
  using Holder<Impl>::Holder;
  using Impl_t = Impl;

  template <class... Rest>
  OpHandle(std::initializer_list<int64_t> list, Rest&&... rest)
      : Holder<Impl>(detail::make_module<Impl>(std::vector<int64_t>(list), std::forward<Rest>(rest)...)) {}
  template <class... Rest>
  OpHandle(std::initializer_list<int64_t> first, std::initializer_list<int64_t> second, Rest&&... rest)
      : Holder<Impl>(detail::make_module<Impl>(std::vector<int64_t>(first), std::vector<int64_t>(second),
                                            std::forward<Rest>(rest)...)) {}
  template <class... Rest>
  OpHandle(int64_t first, std::initializer_list<int64_t> second, Rest&&... rest)
      : Holder<Impl>(detail::make_module<Impl>(first, std::vector<int64_t>(second), std::forward<Rest>(rest)...)) {}
};

// Dims: the `dim` argument of a reduction: none (all dims), one dim, or a list of dims.
struct Dims {
  std::optional<std::vector<int64_t>> dims;
  bool single = false;  // given as one integer (printed without brackets)

  Dims() = default;
  Dims(std::nullopt_t) {}
  Dims(int64_t dim) : dims(std::vector<int64_t>{dim}), single(true) {}
  Dims(int dim) : Dims(int64_t{dim}) {}
  Dims(std::vector<int64_t> list) {
    if (!list.empty()) dims = std::move(list);  // torch 1.13 reads dim=[] as "all dims"
  }
  Dims(std::initializer_list<int64_t> list) : Dims(std::vector<int64_t>(list)) {}

  bool all() const { return !dims.has_value(); }
  // The dims to pass to ATen: every dim of x when none were given.
  std::vector<int64_t> of(const at::Tensor& x) const {
    if (dims) return *dims;
    std::vector<int64_t> every(static_cast<std::size_t>(x.dim()));
    for (std::size_t i = 0; i < every.size(); ++i) every[i] = static_cast<int64_t>(i);
    return every;
  }
};

// IntList: an argument torch takes as one integer or a list (sizes, shifts, source dims...).
struct IntList {
  std::vector<int64_t> values;
  bool single = false;  // given as one integer (printed without brackets)

  IntList() = default;
  IntList(int64_t value) : values{value}, single(true) {}
  IntList(int value) : IntList(int64_t{value}) {}
  IntList(std::vector<int64_t> list) : values(std::move(list)) {}
  IntList(std::initializer_list<int64_t> list) : values(list) {}
  operator at::IntArrayRef() const { return values; }
};

// Argument printing: Args(out, "modify::Transpose")("dim0", 1)("dim1", 2) prints
// "modify::Transpose(dim0=1, dim1=2)" when it goes out of scope. Optional arguments that are not
// set are left out.
inline void print_arg(std::ostream& out, int64_t v) { out << v; }
inline void print_arg(std::ostream& out, int v) { out << v; }
inline void print_arg(std::ostream& out, std::size_t v) { out << v; }
inline void print_arg(std::ostream& out, bool v) { out << (v ? "true" : "false"); }
inline void print_arg(std::ostream& out, double v) { out << v; }
inline void print_arg(std::ostream& out, const std::string& v) { out << '"' << v << '"'; }
inline void print_arg(std::ostream& out, const char* v) { out << '"' << v << '"'; }
inline void print_arg(std::ostream& out, const at::Scalar& v) {
  if (v.isIntegral(false)) out << v.toLong();
  else if (v.isBoolean()) out << (v.toBool() ? "true" : "false");
  else out << v.toDouble();
}
inline void print_arg(std::ostream& out, const at::Tensor& v) {
  if (v.dim() == 0) out << v.item().toDouble();
  else out << "Tensor" << v.sizes();
}
template <class T>
void print_arg(std::ostream& out, const std::vector<T>& v) {
  out << '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out << ", ";
    print_arg(out, v[i]);
  }
  out << ']';
}
inline void print_arg(std::ostream& out, const IntList& l) {
  if (l.single) print_arg(out, l.values.front());
  else print_arg(out, l.values);
}
inline void print_arg(std::ostream& out, const Dims& d) {
  if (d.single) print_arg(out, d.dims->front());
  else print_arg(out, *d.dims);
}

class Args {
 public:
  Args(std::ostream& out, std::string_view name) : out_(out) { out_ << name << '('; }
  Args(const Args&) = delete;
  ~Args() { out_ << ')'; }

  template <class T>
  Args& operator()(const char* name, const T& value) {
    if constexpr (requires { value.has_value(); }) {
      if (value.has_value()) (*this)(name, *value);
    } else if constexpr (std::is_same_v<T, Dims>) {
      if (!value.all()) put(name, value);
    } else {
      put(name, value);
    }
    return *this;
  }

 private:
  template <class T>
  void put(const char* name, const T& value) {
    out_ << (first_ ? "" : ", ") << name << '=';
    print_arg(out_, value);
    first_ = false;
  }
  std::ostream& out_;
  bool first_ = true;
};

// printed(module): what a module prints as, for error messages ("modify::Chunk<3>(dim=0)").
template <class Impl>
std::string printed(const Impl& module) {
  std::ostringstream out;
  module.pretty_print(out);
  return out.str();
}

// to_tuple<N>(module, pieces, what): the N pieces as a std::tuple, or an exception naming the
// module when the op made a different number of pieces from the tensor it was given.
template <std::size_t N, class Impl>
auto to_tuple(const Impl& module, const std::vector<at::Tensor>& pieces, const at::Tensor& x,
              const std::string& how) {
  if (pieces.size() != N) {
    std::ostringstream message;
    message << printed(module) << " must make " << N << " tensors, but " << how << " of a tensor of shape "
            << x.sizes() << " makes " << pieces.size();
    throw std::invalid_argument(message.str());
  }
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return typename detail::tuple_of_n<at::Tensor, std::make_index_sequence<N>>::type{pieces[I]...};
  }(std::make_index_sequence<N>{});
}

// wrap_dim(x, dim): dim as a non-negative index, or an exception if it is out of range for x.
inline int64_t wrap_dim(const at::Tensor& x, int64_t dim) {
  const int64_t n = std::max<int64_t>(x.dim(), 1);
  if (dim < -n || dim >= n) {
    std::ostringstream message;
    message << "dim " << dim << " is out of range for a tensor of shape " << x.sizes();
    throw std::out_of_range(message.str());
  }
  return dim < 0 ? dim + n : dim;
}

// MODIFY_DETAIL_OP_HANDLE(Name): `Name`, the handle of `NameImpl`, an OpHandle. An alias, not a
// class deriving from one: a class instantiates OpHandle, Holder and ModuleHolder for every op a
// unit includes, used or not (~0.6 MB of GCC's memory each; bench/README.md, "Compile cost"),
// where an alias costs nothing until the op is used. modify's other ops alias Holder likewise.
#define MODIFY_DETAIL_OP_HANDLE(Name) using Name = ::modify::detail::op::OpHandle<Name##Impl>

// The traits shared by each family of ops.
inline constexpr Traits unary(Linearity linearity, Kind kind) {
  return {Arity::unary, Params::none, linearity, kind};
}

}  // namespace modify::detail::op
