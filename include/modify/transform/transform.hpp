// transform(model, selector, replace): a new model in which the selected modules are replaced and
// every other module is shared, not copied. The generic rewrite under every ready-made transform.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <modify/detail/container.hpp>
#include <modify/fixed_string.hpp>
#include <modify/named.hpp>
#include <modify/select.hpp>

namespace modify {

inline constexpr std::size_t root_index = static_cast<std::size_t>(-1);

// PathOf<Path, Index>: where the module a replacement is called for sits: its compile-time
// dotted path and its position in its parent (root_index for the model itself).
template <FixedString Path, std::size_t Index = root_index>
struct PathOf {
  static constexpr FixedString path = Path;
  static constexpr std::size_t index = Index;
  constexpr operator std::string_view() const { return Path.view(); }
};

namespace detail {

template <class Impl, std::size_t I>
using child_type_t = std::tuple_element_t<I, typename Impl::child_types>;

template <class Impl, FixedString Path, std::size_t I>
inline constexpr auto child_path = join_path<Path, child_info<child_type_t<Impl, I>>::template fixed_name<I>>();

// count_matches<S, H, Path, Index>(): how many modules the selector S picks in the tree under H
// (a selected module's own subtree is not searched: it is replaced whole).
template <class S, class H, FixedString Path, std::size_t Index>
constexpr std::size_t count_matches() {
  using Impl = impl_t<H>;
  if constexpr (S::template matches<H, Path, Index>()) {
    return 1;
  } else if constexpr (container<Impl>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... +
              count_matches<S, typename child_info<child_type_t<Impl, I>>::module_type, child_path<Impl, Path, I>, I>());
    }(std::make_index_sequence<Impl::size>{});
  } else {
    return 0;
  }
}

template <FixedString Path, std::size_t Index, class F, class H>
auto call_replace(F& replace, const H& module) {
  if constexpr (std::is_invocable_v<F&, const H&, PathOf<Path, Index>>) return replace(module, PathOf<Path, Index>{});
  else return replace(module);
}

// rebuild<S, Path, Index>(module, replace): module with the selected modules replaced. A subtree
// without a selected module is returned as it is: the very same module object.
template <class S, FixedString Path, std::size_t Index, class H, class F>
auto rebuild(const H& module, F& replace) {
  using Impl = impl_t<H>;
  if constexpr (S::template matches<H, Path, Index>()) {
    using R = decltype(call_replace<Path, Index>(replace, module));
    static_assert(Module<R> && std::is_base_of_v<torch::detail::ModuleHolderIndicator, R>,
                  "modify: a transform's replacement must return a module handle with declared traits");
    return call_replace<Path, Index>(replace, module);
  } else if constexpr (!container<Impl> || count_matches<S, H, Path, Index>() == 0) {
    return module;
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      using Children = std::tuple<decltype(rebuild<S, child_path<Impl, Path, I>, I>(std::get<I>(module->child_modules), replace))...>;
      using Rebuilt = typename Impl::template rebind<
          typename child_info<child_type_t<Impl, I>>::template rebind<std::tuple_element_t<I, Children>>...>;
      // Braced initialisation: replacements are made in the order of the children.
      Children children{rebuild<S, child_path<Impl, Path, I>, I>(std::get<I>(module->child_modules), replace)...};
      return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), module->is_training()));
    }(std::make_index_sequence<Impl::size>{});
  }
}

}  // namespace detail

// count(model, selector): how many modules the selector picks (a compile-time constant).
template <class M, class S>
consteval std::size_t count(const M&, S) {
  return detail::count_matches<S, M, "", root_index>();
}

// transform(model, selector, replace): replace(module) — or replace(module, path) with path a
// PathOf<"dotted.path"> — for every module the selector picks, top-down (a picked module's
// children are not visited). Everything else is shared with `model`, which is left untouched.
// A selector that picks nothing is a compile-time error, never a silent no-op.
template <class M, class S, class F>
auto transform(const M& model, S, F&& replace) {
  constexpr std::size_t matches = detail::count_matches<S, M, "", root_index>();
  static_assert(matches > 0, "modify: transform: the selector matches no module of the model");
  if constexpr (matches == 0) return model;
  else return detail::rebuild<S, "", root_index>(model, replace);
}

}  // namespace modify
