// Structural modules: Identity (returns its input) and Copy<N> (one tensor to an N-tuple).
#pragma once

#include <cstddef>
#include <ostream>
#include <tuple>
#include <utility>

#include <ATen/ATen.h>
#include <torch/nn/pimpl.h>

#include <modify/leaf.hpp>
#include <modify/traits.hpp>

namespace modify {

// Identity: x -> x. Unary, ParamFree, Linear, Identity.
struct IdentityImpl : Leaf<IdentityImpl> {
  static constexpr Traits traits{Arity::unary, Params::none, Linearity::linear, Kind::identity};
  at::Tensor forward(const at::Tensor& x) { return x; }
};
TORCH_MODULE(Identity);

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
class Copy : public torch::nn::ModuleHolder<CopyImpl<N>> {  // CopyImpl<N> checks N
 public:
  using torch::nn::ModuleHolder<CopyImpl<N>>::ModuleHolder;
};

}  // namespace modify
