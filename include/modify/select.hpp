// Selectors: which modules of a model a transform acts on, decided at compile time from each
// module's type, traits, dotted path and position.
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include <modify/detail/invoke.hpp>
#include <modify/fixed_string.hpp>
#include <modify/traits.hpp>

namespace modify::select {

// Scope: what of a module's place a selector looks at: its type only; also its own name and
// position in its parent (`local`); or its whole dotted path. Transforms tell a selector no more
// than its scope, so identical subtrees (the layers of a model) share one instantiation of the
// walk instead of one per path (compile time, see bench/README.md).
enum class Scope { type, local, path };

// Where<Pred, Scope>: selects the modules M (at dotted path Path, position Index in their parent)
// for which Pred.template operator()<M, Path, Index>() is true. Every selector below is one, and
// they combine with &&, || and !. The root has the empty path and Index npos. A Where whose scope
// is `local` may be given only the module's own name as Path; one of scope `type` neither name
// nor position (Path empty, Index npos).
template <auto Pred, Scope S = Scope::path>
struct Where {
  static constexpr Scope scope = S;
  template <class M, FixedString Path, std::size_t Index>
  static constexpr bool matches() {
    return Pred.template operator()<M, Path, Index>();
  }
};

constexpr Scope wider(Scope a, Scope b) { return a < b ? b : a; }

template <auto A, Scope SA, auto B, Scope SB>
constexpr auto operator&&(Where<A, SA>, Where<B, SB>) {
  return Where<[]<class M, FixedString P, std::size_t I>() { return A.template operator()<M, P, I>() && B.template operator()<M, P, I>(); },
               wider(SA, SB)>{};
}
template <auto A, Scope SA, auto B, Scope SB>
constexpr auto operator||(Where<A, SA>, Where<B, SB>) {
  return Where<[]<class M, FixedString P, std::size_t I>() { return A.template operator()<M, P, I>() || B.template operator()<M, P, I>(); },
               wider(SA, SB)>{};
}
template <auto A, Scope SA>
constexpr auto operator!(Where<A, SA>) {
  return Where<[]<class M, FixedString P, std::size_t I>() { return !A.template operator()<M, P, I>(); }, SA>{};
}

// where<[]<class M>() { return ...; }>: a selector from a predicate on the module type alone.
template <auto Pred>
inline constexpr Where<[]<class M, FixedString, std::size_t>() { return Pred.template operator()<M>(); }, Scope::type> where{};

}  // namespace modify::select

namespace modify::detail {
// underlying_t<M>: the module type inside transform wrappers (Frozen, LoRA), which declare
// `using wrapped_type = H`; M's Impl for any other module.
template <class M>
struct underlying {
  using type = impl_t<M>;
};
template <class M>
  requires requires { typename impl_t<M>::wrapped_type; }
struct underlying<M> : underlying<typename impl_t<M>::wrapped_type> {};
template <class M>
using underlying_t = typename underlying<M>::type;
}  // namespace modify::detail

namespace modify::select {

// type<T>: modules of type T (a handle or its Impl), e.g. select::type<torch::nn::GELU>; also T
// inside a Frozen or LoRA wrapper, so a selection still finds the layers of an adapted model.
template <class T>
inline constexpr auto type = where<[]<class M>() { return std::is_same_v<detail::underlying_t<M>, detail::impl_t<T>>; }>;

// leaf / container: leaves, or Sequential/Parallel.
inline constexpr auto leaf = where<[]<class M>() { return !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto container = where<[]<class M>() { return detail::container<detail::impl_t<M>>; }>;
inline constexpr auto all = leaf || container;

// Trait selectors pick leaves only: a container of Linear modules is Linear too, but replacing it
// whole is rarely what "every Linear module" means. Combine with `container` to say otherwise.
inline constexpr auto param = where<[]<class M>() { return trait::Param<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto param_free = where<[]<class M>() { return trait::ParamFree<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto linear = where<[]<class M>() { return trait::Linear<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto nonlinear = where<[]<class M>() { return trait::NonLinear<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto elementwise = where<[]<class M>() { return trait::Elementwise<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto restructure = where<[]<class M>() { return trait::Restructure<M> && !detail::container<detail::impl_t<M>>; }>;
inline constexpr auto identity = where<[]<class M>() { return trait::Identity<M> && !detail::container<detail::impl_t<M>>; }>;

// path<"1.mlp.c_fc">: the module at exactly that dotted path.
template <FixedString P>
inline constexpr Where<[]<class, FixedString Path, std::size_t>() { return Path.view() == P.view(); }> path{};

// under<"transformer.h">: the module at that path and everything below it.
template <FixedString P>
inline constexpr Where<[]<class, FixedString Path, std::size_t>() {
  return Path.view() == P.view() ||
         (Path.size() > P.size() && Path.view().starts_with(P.view()) && Path.view()[P.size()] == '.');
}> under{};

// glob<"*.c_attn">: paths matching a pattern; '*' matches any characters (dots too), '?' one.
template <FixedString Pattern>
inline constexpr Where<[]<class, FixedString Path, std::size_t>() { return detail::glob_match(Pattern.view(), Path.view()); }> glob{};

// name<"c_fc">: modules whose own name (the last path component) is exactly that.
template <FixedString N>
inline constexpr Where<[]<class, FixedString Path, std::size_t>() {
  const std::string_view p = Path.view();
  const std::size_t dot = detail::rfind_char(p, '.');
  return (dot == std::string_view::npos ? p : p.substr(dot + 1)) == N.view();
}, Scope::local> name{};

// index<I>: modules at position I within their parent (named or not).
template <std::size_t I>
inline constexpr Where<[]<class, FixedString, std::size_t Index>() { return Index == I; }, Scope::local> index{};

}  // namespace modify::select
