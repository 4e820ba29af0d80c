// transform(model, selector, replace): a new model in which the selected modules are replaced and
// every other module is shared, not copied. The generic rewrite under every ready-made transform.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/detail/container.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/fixed_string.hpp>
#include <modify/named.hpp>
#include <modify/select.hpp>

MODIFY_ONE_TIME_BEGIN

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

// scope_of<S>: what selector S looks at (a selector type that does not say is given the path).
template <class S>
inline constexpr select::Scope scope_of = [] {
  if constexpr (requires { S::scope; }) return S::scope;
  else return select::Scope::path;
}();

// child_key<Mode, Impl, Key, I>() and child_index<Mode, I>: what a walk of scope Mode tells a
// selector of child I's place: its dotted path, its own name alone (local), or nothing (type; the
// index is then npos too), so that children of the same type at different places share one
// instantiation when the selector cannot tell them apart.
template <select::Scope Mode, class Impl, FixedString Key, std::size_t I>
constexpr auto child_key() {
  if constexpr (Mode == select::Scope::path) return child_path<Impl, Key, I>;
  else if constexpr (Mode == select::Scope::local) return child_info<child_type_t<Impl, I>>::template fixed_name<I>;
  else return FixedString{""};
}
template <select::Scope Mode, std::size_t I>
inline constexpr std::size_t child_index = Mode == select::Scope::type ? root_index : I;

// below_key<Mode, Key>: what the walk below a module needs of the module's own key: its path in
// path scope; nothing otherwise (a child's key is then its own name or nothing). So a subtree is
// searched and rebuilt by one instantiation wherever it sits, not one per place (a model's twelve
// identical layers at keys "0" ... "11" share one) when the selector does not look at paths.
template <select::Scope Mode, FixedString Key>
inline constexpr auto below_key = [] {
  if constexpr (Mode == select::Scope::path) return Key;
  else return FixedString{""};
}();

// count_matches<S, H, Key, Index>(): how many modules the selector S picks in the tree under H
// (a selected module's own subtree is not searched: it is replaced whole). Key and Index tell at
// least what S's scope needs of H's place.
template <class S, class H, FixedString Key, std::size_t Index>
constexpr std::size_t count_matches();

// count_below<S, H, Key>(): count_matches over H's children. Key is at least what S's scope needs
// of H's key (below_key of it: what rebuild_below passes, under a walk's scope no narrower than S's).
template <class S, class H, FixedString Key>
constexpr std::size_t count_below() {
  using Impl = impl_t<H>;
  if constexpr (container<Impl>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (std::size_t{0} + ... +
              count_matches<S, typename child_info<child_type_t<Impl, I>>::module_type,
                            child_key<scope_of<S>, Impl, Key, I>(), child_index<scope_of<S>, I>>());
    }(std::make_index_sequence<Impl::size>{});
  } else {
    return 0;
  }
}

template <class S, class H, FixedString Key, std::size_t Index>
constexpr std::size_t count_matches() {
  if constexpr (S::template matches<H, Key, Index>()) return 1;
  else return count_below<S, H, below_key<scope_of<S>, Key>>();
}

// selected_in<S, M>: how many modules S picks in the model M (count_matches from its root); what
// every transform checks before it rebuilds, so that a selection that picks nothing is an error.
template <class S, class M>
inline constexpr std::size_t selected_in = count_matches<S, M, "", root_index>();

template <FixedString Path, std::size_t Index, class F, class H>
auto call_replace(F& replace, const H& module) {
  if constexpr (std::is_invocable_v<F&, const H&, PathOf<Path, Index>>) return replace(module, PathOf<Path, Index>{});
  else return replace(module);
}

template <class S, select::Scope Mode, FixedString Key, std::size_t Index, class H, class F>
auto rebuild(const H& module, F& replace, std::string_view path);

// rebuild_below<S, Mode, Key>(module, replace, path): module with the selected modules under it
// replaced, Key being below_key of its key; the very same module object if none is.
template <class S, select::Scope Mode, FixedString Key, class H, class F>
auto rebuild_below(const H& module, F& replace, std::string_view path) {
  using Impl = impl_t<H>;
  if constexpr (!container<Impl> || count_below<S, H, Key>() == 0) {
    return module;
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      using NewTypes = std::tuple<decltype(rebuild<S, Mode, child_key<Mode, Impl, Key, I>(), child_index<Mode, I>>(
          detail::get<I>(module->child_modules), replace, path))...>;
      using Rebuilt = typename Impl::template rebind<
          typename child_info<child_type_t<Impl, I>>::template rebind<std::tuple_element_t<I, NewTypes>>...>;
      // Braced initialisation: replacements are made in the order of the children.
      using Children = typename Rebuilt::ContainedType::children_type;
      Children children{rebuild<S, Mode, child_key<Mode, Impl, Key, I>(), child_index<Mode, I>>(
          detail::get<I>(module->child_modules), replace, dotted(path, Impl::names[I]))...};
      return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), module->is_training()));
    }(std::make_index_sequence<Impl::size>{});
  }
}

// rebuild<S, Mode, Key, Index>(module, replace, path): module with the selected modules replaced
// by replace(module, PathOf<Key, Index>{}, path), path being the dotted path at run time; the walk
// tells S of each place what scope Mode says. A subtree without a selected module is returned as
// it is: the very same module object.
template <class S, select::Scope Mode, FixedString Key, std::size_t Index, class H, class F>
auto rebuild(const H& module, F& replace, std::string_view path) {
  if constexpr (S::template matches<H, Key, Index>()) {
    using R = decltype(replace(module, PathOf<Key, Index>{}, path));
    static_assert(Module<R> && std::is_base_of_v<torch::detail::ModuleHolderIndicator, R>,
                  "modify: a transform's replacement must return a module handle with declared traits");
    return replace(module, PathOf<Key, Index>{}, path);
  } else {
    return rebuild_below<S, Mode, below_key<Mode, Key>>(module, replace, path);
  }
}

// rebuild_selected<S, Mode>(model, replace): rebuild from the root, after checking at compile time
// that S picks something (a selector that picks nothing is an error, never a silent no-op).
template <class S, select::Scope Mode, class M, class F>
auto rebuild_selected(const M& model, F&& replace) {
  constexpr std::size_t matches = selected_in<S, M>;
  static_assert(matches > 0, "modify: transform: the selector matches no module of the model");
  if constexpr (matches == 0) return model;
  else return rebuild<S, Mode, "", root_index>(model, replace, "");
}

// replace_each(model, selector, replace): transform() for a replace(module) that does not ask
// where the module is, so the walk tells the selector only what its scope needs.
template <class M, class S, class F>
auto replace_each(const M& model, S, F&& replace) {
  return rebuild_selected<S, scope_of<S>>(
      model, [&]<class H>(const H& module, auto, std::string_view) { return replace(module); });
}

}  // namespace detail

// count(model, selector): how many modules the selector picks (a compile-time constant).
template <class M, class S>
consteval std::size_t count(const M&, S) {
  return detail::selected_in<S, M>;
}

// transform(model, selector, replace): replace(module) — or replace(module, path) with path a
// PathOf<"dotted.path"> — for every module the selector picks, top-down (a picked module's
// children are not visited). Everything else is shared with `model`, which is left untouched.
// A selector that picks nothing is a compile-time error, never a silent no-op.
template <class M, class S, class F>
auto transform(const M& model, S, F&& replace) {
  // The replacement may ask for its module's PathOf, so the walk keeps whole paths.
  return detail::rebuild_selected<S, select::Scope::path>(
      model, [&]<class H, FixedString Path, std::size_t Index>(const H& module, PathOf<Path, Index>, std::string_view) {
        return detail::call_replace<Path, Index>(replace, module);
      });
}

}  // namespace modify

MODIFY_ONE_TIME_END
