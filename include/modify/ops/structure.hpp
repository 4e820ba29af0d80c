// Structural modules: Identity (returns its input), Copy<N> (one tensor to an N-tuple), ViewMerge and
// ViewUnMerge (two adjacent dims into one and back), ElementwiseNonlin (an activation with its
// feature count).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/torch_traits.hpp>  // the traits of the activations ElementwiseNonlin wraps
#include <modify/traits.hpp>

namespace modify {

// Identity: x -> x. Unary, ParamFree, Linear, Identity.
struct IdentityImpl : Leaf<IdentityImpl> {
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::identity};
  at::Tensor forward(const at::Tensor& x) { return x; }
};
using Identity = Holder<IdentityImpl>;

namespace detail {
template <std::size_t, class T>
using repeat = T;
template <class T, class Indices>
struct tuple_of_n;
template <class T, std::size_t... I>
struct tuple_of_n<T, std::index_sequence<I...>> {
  using type = std::tuple<repeat<I, T>...>;
};
}  // namespace detail

// CopyImpl<N>: x -> (x, ..., x), N handles to the same tensor (no data is copied). Unary,
// ParamFree, Linear, Restructure. (The Python table calls it Elementwise; it builds a tuple, which
// is a restructuring.) Residual connections are Sequential(Copy<2>, Parallel(Identity, f), Add).
template <std::size_t N>
struct CopyImpl : Leaf<CopyImpl<N>> {
  static_assert(N > 0, "modify: Copy<0> makes no copies; Copy<N> needs N >= 1");
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::restructure};
  static constexpr std::size_t copies = N;

  auto forward(const at::Tensor& x) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return typename detail::tuple_of_n<at::Tensor, std::make_index_sequence<N>>::type{(void(I), x)...};
    }(std::make_index_sequence<N>{});
  }
  void pretty_print(std::ostream& out) const override { out << "modify::Copy<" << N << ">()"; }
};

// Copy<N>: the handle of CopyImpl<N>; Copy<2>() makes one.
template <std::size_t N>
class Copy : public Holder<CopyImpl<N>> {  // CopyImpl<N> checks N
 public:
  using Holder<CopyImpl<N>>::Holder;
};

namespace detail {
inline std::string sizes_string(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}
}  // namespace detail

// ViewMergeImpl(dim0, dim1): merges the adjacent dims dim0 and dim1 = dim0 + 1 into one,
// [.., a, b, ..] -> [.., a * b, ..] (x.flatten(dim0, dim1)): a view when the strides allow one, a
// copy otherwise (as reshape does; after a transpose, say). Negative dims count from the end.
// Unary, ParamFree, Linear, Restructure.
struct ViewMergeImpl : Leaf<ViewMergeImpl> {
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::restructure};

  ViewMergeImpl(int64_t dim0, int64_t dim1) : dim0(dim0), dim1(dim1) {
    if ((dim0 < 0) == (dim1 < 0) && dim1 != dim0 + 1)
      throw std::invalid_argument("modify: ViewMerge(" + std::to_string(dim0) + ", " + std::to_string(dim1) +
                                  ") needs two adjacent dims, dim1 = dim0 + 1");
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t n = x.dim();
    const int64_t d0 = dim0 < 0 ? dim0 + n : dim0, d1 = dim1 < 0 ? dim1 + n : dim1;
    if (d0 < 0 || d1 >= n || d1 != d0 + 1)
      throw std::invalid_argument("modify: ViewMerge(" + std::to_string(dim0) + ", " + std::to_string(dim1) +
                                  ") needs two adjacent dims of its input, got an input " +
                                  detail::sizes_string(x.sizes()));
    return x.flatten(d0, d1);
  }
  void pretty_print(std::ostream& out) const override {
    out << "modify::ViewMerge(" << dim0 << ", " << dim1 << ")";
  }

  int64_t dim0, dim1;
};
using ViewMerge = Holder<ViewMergeImpl>;

// ViewUnMergeImpl(dim, n0, n1): splits dim into two, [.., n0 * n1, ..] -> [.., n0, n1, ..]
// (x.unflatten(dim, {n0, n1}), always a view). One of n0, n1 may be -1 (inferred). Negative dims
// count from the end. Unary, ParamFree, Linear, Restructure.
struct ViewUnMergeImpl : Leaf<ViewUnMergeImpl> {
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::restructure};

  ViewUnMergeImpl(int64_t dim, int64_t n0, int64_t n1) : dim(dim), n0(n0), n1(n1) {
    if ((n0 == -1 && n1 == -1) || n0 == 0 || n1 == 0 || n0 < -1 || n1 < -1)
      throw std::invalid_argument("modify: ViewUnMerge(" + std::to_string(dim) + ", " + std::to_string(n0) + ", " +
                                  std::to_string(n1) + "): sizes must be positive, one of them may be -1");
  }

  at::Tensor forward(const at::Tensor& x) {
    const int64_t n = x.dim();
    const int64_t d = dim < 0 ? dim + n : dim;
    const bool in_range = d >= 0 && d < n;
    const int64_t size = in_range ? x.size(d) : 0;
    const bool fits = in_range && (n0 == -1 ? size % n1 == 0 : n1 == -1 ? size % n0 == 0 : size == n0 * n1);
    if (!fits)
      throw std::invalid_argument("modify: ViewUnMerge(" + std::to_string(dim) + ", " + std::to_string(n0) + ", " +
                                  std::to_string(n1) + ") cannot split " +
                                  (in_range ? "dim " + std::to_string(d) + " (size " + std::to_string(size) + ")"
                                            : std::string("a dim it does not have")) +
                                  " of an input " + detail::sizes_string(x.sizes()));
    return x.unflatten(d, {n0, n1});
  }
  void pretty_print(std::ostream& out) const override {
    out << "modify::ViewUnMerge(" << dim << ", " << n0 << ", " << n1 << ")";
  }

  int64_t dim, n0, n1;
};
using ViewUnMerge = Holder<ViewUnMergeImpl>;

namespace detail {
template <class F>
inline constexpr bool is_module_handle = std::is_base_of_v<torch::detail::ModuleHolderIndicator, F>;

template <class F>
constexpr bool check_activation() {
  if constexpr (is_module_handle<F>) {
    static_assert(trait::Unary<F> && trait::ParamFree<F> && trait::Elementwise<F>,
                  "modify: ElementwiseNonlin wraps an activation: a Unary, ParamFree, Elementwise module (such as "
                  "torch::nn::GELU) or a function from tensor to tensor");
    return trait::Unary<F> && trait::ParamFree<F> && trait::Elementwise<F>;
  } else {
    static_assert(std::is_invocable_r_v<at::Tensor, F&, const at::Tensor&>,
                  "modify: ElementwiseNonlin wraps an activation: a Unary, ParamFree, Elementwise module (such as "
                  "torch::nn::GELU) or a function from tensor to tensor");
    return std::is_invocable_r_v<at::Tensor, F&, const at::Tensor&>;
  }
}
}  // namespace detail

// ElementwiseNonlinImpl<F>(f, features): the activation f (a parameter-free elementwise module
// handle, e.g. torch::nn::GELU(), or a function tensor -> tensor), recording its feature count
// (the size of the features dim it is applied to) for passes that need it. The wrapped module is
// held, not registered (it has no parameters or buffers), and follows this module's train/eval
// mode. Unary, ParamFree, NonLinear, Elementwise.
template <class F>
class ElementwiseNonlinImpl : public Leaf<ElementwiseNonlinImpl<F>> {
 public:
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::nonlinear, Kind::elementwise};
  static constexpr bool valid = detail::check_activation<F>();

  ElementwiseNonlinImpl(F f, int64_t features) : f(std::move(f)), features(features) {
    static_cast<void>(valid);  // instantiates the check of F where the module is made
    if (features <= 0)
      throw std::invalid_argument("modify: ElementwiseNonlin: the feature count must be positive, not " +
                                  std::to_string(features));
  }

  at::Tensor forward(const at::Tensor& x) {
    if constexpr (!valid) {
      return x;
    } else if constexpr (detail::is_module_handle<F>) {
      if (f->is_training() != this->is_training()) f->train(this->is_training());
      return f(x);
    } else {
      return std::invoke(f, x);
    }
  }

  void pretty_print(std::ostream& out) const override {
    out << "modify::ElementwiseNonlin(";
    if constexpr (detail::is_module_handle<F>) f->pretty_print(out);
    else out << "<function>";
    out << ", features=" << features << ")";
  }

  F f;
  int64_t features;
};

// ElementwiseNonlin(f, features): the handle; ElementwiseNonlin(torch::nn::GELU(), 256).
template <class F>
class ElementwiseNonlin : public Holder<ElementwiseNonlinImpl<F>> {
 public:
  using Holder<ElementwiseNonlinImpl<F>>::Holder;
  ElementwiseNonlin(F f, int64_t features)
      : Holder<ElementwiseNonlinImpl<F>>(detail::make_module<ElementwiseNonlinImpl<F>>(std::move(f), features)) {}
};

}  // namespace modify
