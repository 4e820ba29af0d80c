// Reaching into a model: get<I>, get<"name">, get<"a.b.c">, and visits over modules with their paths.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/fixed_string.hpp>
#include <modify/traits.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

namespace detail {
template <class Impl>
constexpr bool check_has_children() {
  static_assert(container<Impl>, "modify: get<...> on a leaf module, which has no children");
  return container<Impl>;
}

template <class Impl, std::size_t Index>
constexpr bool check_index() {
  if constexpr (!check_has_children<Impl>()) {
    return false;
  } else {
    constexpr std::size_t children = Impl::size;
    static_assert(Index < children, "modify: get<I>: I is past the last child of the container");
    return Index < children;
  }
}

template <std::size_t N>
constexpr std::size_t find_name(const std::array<std::string_view, N>& names, std::string_view name) {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i] == name) return i;
  return N;
}
}  // namespace detail

// get<I>(model): the I-th child's handle (a reference into the model: assigning to it is not
// supported; use a transform to change a model).
template <std::size_t I, class M>
decltype(auto) get(M&& model) {
  using Impl = detail::impl_t<M>;
  if constexpr (!detail::check_index<Impl, I>()) return detail::Invalid{};
  else return (detail::get<I>(model->child_modules));
}

// get<"path">(model): the descendant at a dotted path of child names, e.g. get<"1.c_fc">(model).
// Unnamed children are named by their position, as in named_parameters().
template <FixedString Path, class M>
decltype(auto) get(M&& model) {
  using Impl = detail::impl_t<M>;
  constexpr std::string_view path = Path.view();
  constexpr std::size_t dot = detail::find_char(path, '.');
  if constexpr (!detail::check_has_children<Impl>()) {
    return detail::Invalid{};
  } else {
    constexpr std::size_t index = detail::find_name(Impl::names, path.substr(0, dot));
    static_assert(index < Impl::size, "modify: get<\"path\">: a container on the path has no child of that name");
    if constexpr (index == Impl::size) return detail::Invalid{};
    else if constexpr (dot == std::string_view::npos) return (detail::get<index>(model->child_modules));
    else
      return modify::get<detail::fixed_substring<Path, dot + 1, path.size() - dot - 1>()>(
          detail::get<index>(model->child_modules));
  }
}

namespace detail {
template <class H, class F>
void visit(H& module, const std::string& path, F& f, bool leaves_only) {
  using Impl = impl_t<H>;
  if constexpr (container<Impl>) {
    if (!leaves_only) f(std::string_view(path), module);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (detail::visit(detail::get<I>(module->child_modules),
             dotted(path, Impl::names[I]), f, leaves_only),
       ...);
    }(std::make_index_sequence<Impl::size>{});
  } else {
    f(std::string_view(path), module);
  }
}
}  // namespace detail

// for_each_leaf(model, f): f(path, leaf) for every leaf in order; path is dotted ("1.c_fc") and
// leaf is its handle with its static type, so f is usually a generic lambda.
template <class M, class F>
void for_each_leaf(M& model, F&& f) {
  detail::visit(model, std::string(), f, true);
}

// for_each_module(model, f): like for_each_leaf, but containers are visited too, each before its
// children; the model itself comes first, with the empty path.
template <class M, class F>
void for_each_module(M& model, F&& f) {
  detail::visit(model, std::string(), f, false);
}

}  // namespace modify

MODIFY_ONE_TIME_END
