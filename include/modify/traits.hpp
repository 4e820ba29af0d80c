// The trait taxonomy (arity, parameters, linearity, kind), how modules declare it, and its concepts.
#pragma once

#include <array>
#include <cstddef>
#include <ostream>
#include <string>
#include <type_traits>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace modify {

// What a module takes: one tensor, a pair, a triple, or a tuple of any length.
enum class Arity { unary, binary, ternary, tuple };
// Whether a module owns parameters.
enum class Params { none, some };
// Whether a module is affine in its input (x -> A x + b), the sense later folding passes rely on.
enum class Linearity { linear, nonlinear };
// What a module does to its input's elements. `none` means none of the specific kinds applies.
enum class Kind { none, identity, restructure, elementwise, vector, matrix, reduction };

// Traits: the four facts every module declares, usable at compile time.
struct Traits {
  Arity arity = Arity::unary;
  Params params = Params::none;
  Linearity linearity = Linearity::nonlinear;
  Kind kind = Kind::none;
  constexpr bool operator==(const Traits&) const = default;
};

// module_traits<Impl>: specialise with `static constexpr Traits value` to declare the traits of a
// module type you cannot change (the library does this once for LibTorch's modules). A module
// type of your own declares `static constexpr modify::Traits traits` instead.
template <class Impl>
struct module_traits;

namespace detail {

// impl_of<H>: the torch::nn::Module class behind a handle (ModuleHolder), a Named child, or itself.
template <class H>
struct impl_of {
  using type = H;
};
template <class H>
  requires std::is_base_of_v<torch::detail::ModuleHolderIndicator, H>
struct impl_of<H> {
  using type = typename H::ContainedType;
};
template <class H>
  requires requires { typename H::named_module_type; }
struct impl_of<H> : impl_of<typename H::named_module_type> {};

template <class T>
using impl_t = typename impl_of<std::remove_cvref_t<T>>::type;

template <class Impl>
constexpr bool has_declared_traits() {
  if constexpr (requires { Impl::traits; }) return std::is_same_v<std::remove_cvref_t<decltype(Impl::traits)>, Traits>;
  else if constexpr (requires { module_traits<Impl>::value; }) return true;
  else return false;
}

}  // namespace detail

// Module<T>: T is a module type (handle, Impl or Named child) whose traits are known.
template <class T>
concept Module = std::is_base_of_v<torch::nn::Module, detail::impl_t<T>> &&
                 detail::has_declared_traits<detail::impl_t<T>>();

// traits_of<T>: the traits of a module type; a default (unary, param-free, nonlinear, no kind) for
// anything else, so one error about an unknown type does not cascade into more.
template <class T>
inline constexpr Traits traits_of = [] {
  using Impl = detail::impl_t<T>;
  if constexpr (!Module<T>) return Traits{};
  else if constexpr (requires { Impl::traits; }) return Impl::traits;
  else return module_traits<Impl>::value;
}();

// The trait concepts. Kinds are disjoint except that an identity also counts as a restructure and
// as an elementwise map (it is both, trivially).
namespace trait {
template <class M> concept Unary = Module<M> && traits_of<M>.arity == Arity::unary;
template <class M> concept Binary = Module<M> && traits_of<M>.arity == Arity::binary;
template <class M> concept Ternary = Module<M> && traits_of<M>.arity == Arity::ternary;
// TupleArg: takes a tuple of any length (Cat, Stack, a Parallel of four branches...).
template <class M> concept TupleArg = Module<M> && traits_of<M>.arity == Arity::tuple;

template <class M> concept Param = Module<M> && traits_of<M>.params == Params::some;
template <class M> concept ParamFree = Module<M> && traits_of<M>.params == Params::none;

template <class M> concept Linear = Module<M> && traits_of<M>.linearity == Linearity::linear;
template <class M> concept NonLinear = Module<M> && traits_of<M>.linearity == Linearity::nonlinear;

template <class M> concept Identity = Module<M> && traits_of<M>.kind == Kind::identity;
template <class M> concept Restructure =
    Module<M> && (traits_of<M>.kind == Kind::restructure || traits_of<M>.kind == Kind::identity);
template <class M> concept Elementwise =
    Module<M> && (traits_of<M>.kind == Kind::elementwise || traits_of<M>.kind == Kind::identity);
template <class M> concept Vector = Module<M> && traits_of<M>.kind == Kind::vector;
template <class M> concept Matrix = Module<M> && traits_of<M>.kind == Kind::matrix;
template <class M> concept Reduction = Module<M> && traits_of<M>.kind == Kind::reduction;
}  // namespace trait

namespace detail {

// Container traits are derived from the children's; see sequential.hpp and parallel.hpp.
template <std::size_t N>
constexpr Params any_params(const std::array<Traits, N>& children) {
  for (const Traits& t : children)
    if (t.params == Params::some) return Params::some;
  return Params::none;
}
template <std::size_t N>
constexpr Linearity all_linear(const std::array<Traits, N>& children) {
  for (const Traits& t : children)
    if (t.linearity == Linearity::nonlinear) return Linearity::nonlinear;
  return Linearity::linear;
}
// The kind a composition keeps: identity if every child is one, else the one kind shared by
// every non-identity child if it is elementwise or restructure, else none.
template <std::size_t N>
constexpr Kind common_kind(const std::array<Traits, N>& children) {
  Kind kept = Kind::identity;
  for (const Traits& t : children) {
    if (t.kind == Kind::identity) continue;
    if (kept == Kind::identity) kept = t.kind;
    else if (kept != t.kind) return Kind::none;
  }
  if (N > 1 && kept != Kind::identity && kept != Kind::elementwise && kept != Kind::restructure)
    return Kind::none;  // e.g. two softmaxes over unknown dims are not a vector op in general
  return kept;
}
constexpr Arity arity_of_tuple(std::size_t n) {
  return n == 2 ? Arity::binary : n == 3 ? Arity::ternary : Arity::tuple;
}

}  // namespace detail

constexpr const char* to_string(Arity a) {
  constexpr const char* names[] = {"Unary", "Binary", "Ternary", "TupleArg"};
  return names[static_cast<int>(a)];
}
constexpr const char* to_string(Kind k) {
  constexpr const char* names[] = {"",       "Identity", "Restructure", "Elementwise",
                                   "Vector", "Matrix",   "Reduction"};
  return names[static_cast<int>(k)];
}
// to_string(traits): e.g. "Unary Param Linear Vector".
inline std::string to_string(const Traits& t) {
  std::string out = to_string(t.arity);
  out += t.params == Params::some ? " Param" : " ParamFree";
  out += t.linearity == Linearity::linear ? " Linear" : " NonLinear";
  if (t.kind != Kind::none) (out += ' ') += to_string(t.kind);
  return out;
}
inline std::ostream& operator<<(std::ostream& out, const Traits& t) { return out << to_string(t); }

}  // namespace modify
