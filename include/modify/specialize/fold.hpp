// Specialisation pass 3, fold: push(slots, next, report), which the walk (walk.hpp) uses to append
// each lowered child of a Sequential to the ones before it, combining neighbours:
// affine maps (BatchNorm, ElementwiseAffine, Scale, Shift, Negative) folded into the Linear or
// convolution before them when they act on its output axis; Linear∘Linear multiplied out when the
// product is not larger; scalar maps folded into a Linear after them; activations run in place on
// their producer's own output; Copy<2> -> Parallel(Identity, f) -> Add as an in-place residual.
// Folded weights are new tensors: the tensors of the model given are never written.
#pragma once

#include <cstddef>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include <modify/detail/children.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/ops/arithmetic.hpp>
#include <modify/ops/structure.hpp>
#include <modify/specialize/ops.hpp>
#include <modify/specialize/rebuild.hpp>
#include <modify/specialize/report.hpp>
#include <modify/specialize/strip.hpp>  // is_identity

MODIFY_ONE_TIME_BEGIN

namespace modify::detail::spec {

using inference::AffineMapOp;
using inference::ConvOp;
using inference::LinearOp;
using inference::LinearStage;
using inference::ScalarAffineOp;

template <class Impl>
inline constexpr std::size_t conv_op_dims = 0;
template <std::size_t D>
inline constexpr std::size_t conv_op_dims<inference::ConvOpImpl<D>> = D;

template <class H, class Impl>
concept is = std::is_same_v<impl_t<H>, Impl>;
template <class H>
concept linear_op = is<H, inference::LinearOpImpl>;
template <class H>
concept conv_op = conv_op_dims<impl_t<H>> > 0;
template <class H>
concept scalar_op = is<H, inference::ScalarAffineOpImpl>;
template <class H>
concept affine_map_op = is<H, inference::AffineMapOpImpl>;

// take_then(slots, I..., last): the slots I... followed by last, as one flat list (see
// detail/children.hpp: a tuple's machinery would be instantiated anew for every prefix).
template <class Slots, std::size_t... I, class Last>
auto take_then(Slots&& slots, std::index_sequence<I...>, Last&& last) {
  using S = std::remove_cvref_t<Slots>;
  return Children<std::tuple_element_t<I, S>..., std::remove_cvref_t<Last>>{detail::get<I>(std::move(slots))...,
                                                                           std::forward<Last>(last)};
}

// ---- The arithmetic of the folds (new tensors; computed in double, cast back) ----------------

// scaled(w, b, s, t, view): the parameters of layer-then-(x * s + t) on the output axis: w * s
// (s viewed as `view` to broadcast over w), b * s + t. s and t may be undefined (1 and 0).
inline std::pair<at::Tensor, at::Tensor> scaled(const at::Tensor& w, const at::Tensor& b, const at::Tensor& s,
                                                const at::Tensor& t, std::vector<int64_t> view) {
  at::NoGradGuard no_grad;
  const auto type = w.scalar_type();
  at::Tensor wd = w.to(at::kDouble), bd = b.defined() ? b.to(at::kDouble) : at::Tensor();
  if (s.defined()) {
    const at::Tensor sd = s.to(at::kDouble);
    wd = wd * sd.view(view);
    if (bd.defined()) bd = bd * sd;
  }
  if (t.defined()) bd = bd.defined() ? bd + t.to(at::kDouble) : t.to(at::kDouble).clone();
  return {wd.to(type), bd.defined() ? bd.to(type) : at::Tensor()};
}

inline std::vector<int64_t> channel_view(const at::Tensor& w) {
  std::vector<int64_t> view(static_cast<std::size_t>(w.dim()), 1);
  view[0] = -1;
  return view;
}

inline at::Tensor scalar_tensor(double v, const at::Tensor& like) { return at::full({like.size(0)}, v, like.options()); }

// A Linear or ConvNd handle with new parameters and the same options.
inline LinearOp with_last_stage(const LinearOp& op, std::pair<at::Tensor, at::Tensor> wb) {
  std::vector<LinearStage> stages = op->stages;
  stages.back() = LinearStage(std::move(wb.first), std::move(wb.second));
  return LinearOp(std::move(stages));
}
template <std::size_t D>
ConvOp<D> with_parameters(const ConvOp<D>& op, std::pair<at::Tensor, at::Tensor> wb) {
  return ConvOp<D>(op->options, std::move(wb.first), std::move(wb.second));
}

// scalar_into(weight, bias, op): the parameters of (x * scale + shift) after the layer.
inline std::pair<at::Tensor, at::Tensor> scalar_into(const at::Tensor& w, const at::Tensor& b,
                                                     const inference::ScalarAffineOpImpl& op) {
  return scaled(w, b, scalar_tensor(op.scale, w), op.shift == 0 ? at::Tensor() : scalar_tensor(op.shift, w),
                channel_view(w));
}

// linear_then_linear(a, b, report): b∘a, multiplied out at the seam when the product weight is not
// larger than the two it replaces (else the stages are kept one after the other).
inline LinearOp linear_then_linear(const LinearOp& a, const LinearOp& b, SpecializeReport& report) {
  const LinearStage &first = a->stages.back(), &second = b->stages.front();
  const int64_t in = first.weight.size(1), mid = first.weight.size(0), out = second.weight.size(0);
  std::vector<LinearStage> stages(a->stages.begin(), a->stages.end() - 1);
  if (out * in <= out * mid + mid * in && second.weight.size(1) == mid) {
    ++report.linear_folds;
    at::NoGradGuard no_grad;
    const auto type = first.weight.scalar_type();
    const at::Tensor w2 = second.weight.to(at::kDouble);
    at::Tensor w = w2.matmul(first.weight.to(at::kDouble));
    at::Tensor bias;
    if (first.bias.defined()) bias = w2.matmul(first.bias.to(at::kDouble));
    if (second.bias.defined()) bias = bias.defined() ? bias + second.bias.to(at::kDouble) : second.bias;
    stages.emplace_back(w.to(type), bias.defined() ? bias.to(type) : bias);
  } else {
    ++report.linear_chained;
    stages.push_back(first);
    stages.push_back(second);
  }
  stages.insert(stages.end(), b->stages.begin() + 1, b->stages.end());
  return LinearOp(std::move(stages));
}

// scalar_then_linear(s, l): l(x * scale + shift) = x (scale W)^T + (b + shift * W 1).
inline LinearOp scalar_then_linear(const inference::ScalarAffineOpImpl& s, const LinearOp& l) {
  at::NoGradGuard no_grad;
  std::vector<LinearStage> stages = l->stages;
  const LinearStage& first = stages.front();
  at::Tensor bias = first.bias;
  if (s.shift != 0) {
    const at::Tensor row_sums = first.weight.to(at::kDouble).sum(1) * s.shift;
    bias = (bias.defined() ? bias.to(at::kDouble) + row_sums : row_sums).to(first.weight.scalar_type());
  }
  stages.front() = LinearStage(first.weight * s.scale, bias);
  return LinearOp(std::move(stages));
}

// fold_rank<Layer>(map, features): the input rank for which the affine map acts on the layer's
// feature axis (its output axis, or for a map before a Linear its input axis): -1 for every rank,
// 0 for none. Linear: the last dim; ConvNd: dim 1 of a batched (D + 2)-dim input.
template <class Layer>
int64_t fold_rank(const inference::AffineMapOpImpl& map, int64_t features) {
  if (map.scale.dim() != 1 || map.scale.size(0) != features || (map.shift.defined() && map.shift.dim() != 1)) return 0;
  if constexpr (linear_op<Layer>) {
    if (!map.dim || *map.dim == -1) return -1;  // the trailing dim is the feature axis, whatever the rank
    return *map.dim > 0 ? *map.dim + 1 : 0;      // dim d is the last dim of a (d + 1)-dim input only
  } else {
    constexpr int64_t rank = conv_op_dims<impl_t<Layer>> + 2;
    if (!map.dim) return 0;  // the trailing dim of a conv's output is a spatial one
    return *map.dim == 1 || *map.dim == 1 - rank ? rank : 0;
  }
}

template <class First, class Second, class Layer>
auto make_folded(Layer folded, const First& first, const Second& second, int64_t rank) {
  return inference::Folded<First, Second, Layer>(
      detail::make_module<inference::FoldedImpl<First, Second, Layer>>(std::move(folded), first, second, rank));
}

inline void count_fold(int64_t rank, SpecializeReport& report) {
  if (rank == 0) {
    ++report.affine_kept;
  } else {
    ++report.affine_folds;
    if (rank > 0) ++report.rank_conditional_folds;
  }
}

// map_after(layer, map): the layer followed by the affine map on its output axis.
template <class P>
auto map_after(const P& layer, const AffineMapOp& map, SpecializeReport& report) {
  const at::Tensor& w = [&]() -> const at::Tensor& {
    if constexpr (linear_op<P>) return layer->stages.back().weight;
    else return layer->weight;
  }();
  const int64_t rank = fold_rank<P>(*map, w.size(0));
  count_fold(rank, report);
  if (rank == 0) return make_folded(layer, layer, map, 0);
  const at::Tensor& b = [&]() -> const at::Tensor& {
    if constexpr (linear_op<P>) return layer->stages.back().bias;
    else return layer->bias;
  }();
  auto wb = scaled(w, b, map->scale, map->shift, channel_view(w));
  if constexpr (linear_op<P>) return make_folded(with_last_stage(layer, std::move(wb)), layer, map, rank);
  else return make_folded(with_parameters(layer, std::move(wb)), layer, map, rank);
}

// map_after_folded(folded, map): a second map after a layer that folded one (a split norm's
// BatchNorm then its ElementwiseAffine): folded into the folded layer for the ranks both allow.
template <class F>
auto map_after_folded(const F& folded, const AffineMapOp& map, SpecializeReport& report) {
  using Layer = decltype(folded->folded);
  const at::Tensor& w = [&]() -> const at::Tensor& {
    if constexpr (linear_op<Layer>) return folded->folded->stages.back().weight;
    else return folded->folded->weight;
  }();
  const int64_t inner = folded->fold_rank, outer = fold_rank<Layer>(*map, w.size(0));
  const int64_t rank = inner == 0 || outer == 0 ? 0 : inner < 0 ? outer : outer < 0 || outer == inner ? inner : 0;
  count_fold(rank, report);
  if (rank == 0) return make_folded(folded->folded, folded, map, 0);
  const at::Tensor& b = [&]() -> const at::Tensor& {
    if constexpr (linear_op<Layer>) return folded->folded->stages.back().bias;
    else return folded->folded->bias;
  }();
  auto wb = scaled(w, b, map->scale, map->shift, channel_view(w));
  if constexpr (linear_op<Layer>) return make_folded(with_last_stage(folded->folded, std::move(wb)), folded, map, rank);
  else return make_folded(with_parameters(folded->folded, std::move(wb)), folded, map, rank);
}

// map_before(map, linear): l(x * s + t) = x (W diag(s))^T + (b + W t), on the Linear's input axis
// (what a LayerNorm's affine part before a Linear becomes).
inline auto map_before(const AffineMapOp& map, const LinearOp& layer, SpecializeReport& report) {
  const LinearStage& first = layer->stages.front();
  const int64_t rank = fold_rank<LinearOp>(*map, first.weight.size(1));
  count_fold(rank, report);
  if (rank == 0) return make_folded(layer, map, layer, 0);
  at::NoGradGuard no_grad;
  const auto type = first.weight.scalar_type();
  const at::Tensor w = first.weight.to(at::kDouble);
  at::Tensor bias = first.bias.defined() ? first.bias.to(at::kDouble) : at::Tensor();
  if (map->shift.defined()) {
    const at::Tensor shift = w.matmul(map->shift.to(at::kDouble));
    bias = bias.defined() ? bias + shift : shift;
  }
  std::vector<LinearStage> stages = layer->stages;
  stages.front() = LinearStage((w * map->scale.to(at::kDouble)).to(type), bias.defined() ? bias.to(type) : bias);
  return make_folded(LinearOp(std::move(stages)), map, layer, rank);
}

// with_slot<K>(seq, module): the same Sequential (a new container) with child K replaced.
template <std::size_t K, class H, class M>
auto with_slot(const H& seq, M module) {
  auto replace_k = [&]<class C, std::size_t I>(const C& child, std::string_view,
                                               std::integral_constant<std::size_t, I>) {
    if constexpr (I == K) return module;
    else return child;
  };
  return map_children(seq, replace_k);
}

}  // namespace modify::detail::spec

namespace modify::inference {
// A Sequential's output is its last child's.
template <class... Cs>
struct output_of<SequentialImpl<Cs...>> {
  static constexpr OutputFacts value =
      output_facts<typename detail::child_info<std::tuple_element_t<sizeof...(Cs) - 1, std::tuple<Cs...>>>::module_type>;
};
}  // namespace modify::inference

namespace modify::detail::spec {

template <class H>
using first_child_t = typename child_info<child_type_t<impl_t<H>, 0>>::module_type;
template <class H>
using last_child_t = typename child_info<child_type_t<impl_t<H>, impl_t<H>::size - 1>>::module_type;

// ---- Which neighbours combine, and into what ----------------------------------------------

template <class Impl>
inline constexpr bool is_then = false;
template <class P, class Act>
inline constexpr bool is_then<inference::ThenImpl<P, Act>> = true;

// folded_after<Impl>: a Folded of a layer then a map (not a map then a layer).
template <class Impl>
inline constexpr bool folded_after = false;
template <class First, class Layer>
inline constexpr bool folded_after<inference::FoldedImpl<First, AffineMapOp, Layer>> = std::is_same_v<First, Layer> ||
                                                                                    folded_after<impl_t<First>>;

template <class A, class B>
constexpr bool combines() {
  using inference::output_facts;
  if constexpr ((linear_op<A> || conv_op<A>) && (scalar_op<B> || affine_map_op<B>)) return true;
  else if constexpr (linear_op<A> && linear_op<B>) return true;
  else if constexpr ((scalar_op<A> || affine_map_op<A>) && linear_op<B>) return true;
  else if constexpr (folded_after<impl_t<A>> && affine_map_op<B>) return true;  // BatchNorm then its affine part
  else if constexpr (scalar_op<A> && scalar_op<B>) return true;
  else if constexpr (output_facts<A>.owned && inference::inplace_activation<impl_t<B>>) return true;
  // An affine map before a layer that already took its activation: into the layer.
  else if constexpr ((scalar_op<A> || affine_map_op<A>) && is_then<impl_t<B>>)
    return combines<A, decltype(std::declval<impl_t<B>&>().producer)>();
  // Into a Sequential neighbour: its first child (a LayerNorm's affine part into the attention's
  // first Linear), or its last.
  else if constexpr (is_sequential<impl_t<B>>) return combines<A, first_child_t<B>>();
  else if constexpr (is_sequential<impl_t<A>>) return combines<last_child_t<A>, B>();
  else return false;
}

template <class A, class B>
auto combine(const A& a, const B& b, SpecializeReport& report) {
  if constexpr (linear_op<A> && scalar_op<B>) {
    ++report.affine_folds;
    return with_last_stage(a, scalar_into(a->stages.back().weight, a->stages.back().bias, *b));
  } else if constexpr (conv_op<A> && scalar_op<B>) {
    ++report.affine_folds;
    return with_parameters(a, scalar_into(a->weight, a->bias, *b));
  } else if constexpr ((linear_op<A> || conv_op<A>) && affine_map_op<B>) {
    return map_after(a, b, report);
  } else if constexpr (folded_after<impl_t<A>> && affine_map_op<B>) {
    return map_after_folded(a, b, report);
  } else if constexpr (linear_op<A> && linear_op<B>) {
    return linear_then_linear(a, b, report);
  } else if constexpr (scalar_op<A> && scalar_op<B>) {
    ++report.affine_folds;
    return ScalarAffineOp(a->scale * b->scale, a->shift * b->scale + b->shift);
  } else if constexpr (scalar_op<A> && linear_op<B>) {
    ++report.affine_folds;
    return scalar_then_linear(*a, b);
  } else if constexpr (affine_map_op<A> && linear_op<B>) {
    return map_before(a, b, report);
  } else if constexpr (inference::output_facts<A>.owned && inference::inplace_activation<impl_t<B>>) {
    ++report.inplace_activations;
    return inference::Then<A, B>(detail::make_module<inference::ThenImpl<A, B>>(a, b));
  } else if constexpr ((scalar_op<A> || affine_map_op<A>) && is_then<impl_t<B>>) {
    auto producer = combine(a, b->producer, report);
    using Act = decltype(b->activation);
    return inference::Then<decltype(producer), Act>(
        detail::make_module<inference::ThenImpl<decltype(producer), Act>>(producer, b->activation));
  } else if constexpr (is_sequential<impl_t<B>>) {  // into B's first child, as combines() found
    return with_slot<0>(b, combine(a, detail::get<0>(b->child_modules), report));
  } else {  // into A's last child
    constexpr std::size_t last = impl_t<A>::size - 1;
    return with_slot<last>(a, combine(detail::get<last>(a->child_modules), b, report));
  }
}

// ---- The residual pattern ---------------------------------------------------------------------

template <class Impl>
inline constexpr bool is_copy2 = std::is_same_v<Impl, CopyImpl<2>>;

// residual_branch<P>: for a Parallel(Identity, f), the type of f; void otherwise.
template <class Impl>
struct residual_branch {
  using type = void;
};
template <class C0, class C1>
  requires is_identity<impl_t<typename child_info<C0>::module_type>>
struct residual_branch<ParallelImpl<C0, C1>> {
  using type = typename child_info<C1>::module_type;
};

// make_residual(branch, report): x + branch(x), the addition in the branch's output if it owns it.
template <class F>
inference::Residual<F> make_residual(const F& branch, SpecializeReport& report) {
  if (inference::ResidualImpl<F>::in_place) ++report.inplace_residuals;
  return inference::Residual<F>(detail::make_module<inference::ResidualImpl<F>>(branch));
}

// ---- The left fold over a Sequential's children -------------------------------------------

template <class... Slots>
using last_t = std::tuple_element_t<sizeof...(Slots) - 1, std::tuple<Slots...>>;


// push(slots, next, report): the folded children so far, with `next` appended or combined into the
// last one (or, for Copy<2>, Parallel(Identity, f) and Add, the last two replaced by a Residual).
template <std::size_t... J, class... Slots, class Next>
auto push(ChildrenOf<std::index_sequence<J...>, Slots...>&& slots, Next&& next, SpecializeReport& report) {
  constexpr std::size_t n = sizeof...(Slots);
  using NextH = typename std::remove_cvref_t<Next>::named_module_type;
  if constexpr (n == 0) {
    return Children<std::remove_cvref_t<Next>>{std::forward<Next>(next)};
  } else {
    using Last = last_t<Slots...>;
    using LastH = typename Last::named_module_type;
    if constexpr (combines<LastH, NextH>()) {
      auto combined = combine(detail::get<n - 1>(slots).module, next.module, report);
      return take_then(std::move(slots), std::make_index_sequence<n - 1>{},
                       Named<Last::name, decltype(combined)>{combined});
    } else if constexpr (n >= 2 && std::is_same_v<impl_t<NextH>, AddImpl> &&
                         !std::is_void_v<typename residual_branch<impl_t<LastH>>::type>) {
      using Before = std::tuple_element_t<n - 2, std::tuple<Slots...>>;
      if constexpr (is_copy2<impl_t<typename Before::named_module_type>>) {
        using F = typename residual_branch<impl_t<LastH>>::type;
        return take_then(std::move(slots), std::make_index_sequence<n - 2>{},
                         Named<Before::name, inference::Residual<F>>{make_residual(
                             detail::get<1>(detail::get<n - 1>(slots).module->child_modules), report)});
      } else {
        return take_then(std::move(slots), std::make_index_sequence<n>{}, std::forward<Next>(next));
      }
    } else {
      return take_then(std::move(slots), std::make_index_sequence<n>{}, std::forward<Next>(next));
    }
  }
}

}  // namespace modify::detail::spec

MODIFY_ONE_TIME_END
