// Ready-made edits on the generic transform: replace every module of a type, insert a module
// after selected ones, and take a prefix of a Sequential as a model of its own.
#pragma once

#include <cstddef>
#include <memory>
#include <tuple>
#include <utility>

#include <modify/detail/children.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/named.hpp>
#include <modify/select.hpp>
#include <modify/sequential.hpp>
#include <modify/transform/transform.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

// replace<From>(model, make): every module of type From replaced by make(module), e.g.
//   replace<torch::nn::GELU>(model, [](const auto&) { return torch::nn::ReLU(); })
template <class From, class M, class F>
auto replace(const M& model, F&& make) {
  return transform(model, select::type<From>, std::forward<F>(make));
}

namespace detail {

template <FixedString Name>
constexpr auto after_name() {
  FixedString<Name.size() + 7> out;  // Name + "_after" + '\0'
  std::copy_n(Name.chars, Name.size(), out.chars);
  std::copy_n("_after", 6, out.chars + Name.size());
  return out;
}

template <class Impl>
inline constexpr bool is_sequential = false;
template <class... Cs>
inline constexpr bool is_sequential<SequentialImpl<Cs...>> = true;

template <class S, FixedString Path, std::size_t Index, class H, class F>
auto insert_after_rebuild(const H& module, F& make);

// One child of a Sequential being rebuilt, as a tuple of Named children: the child under its own
// name (so names stay put when a module is inserted before it), then, when it is selected, the
// inserted module as "<name>_after".
template <class S, FixedString Path, class Impl, std::size_t I, class H, class F>
auto sequential_part(const H& child, F& make) {
  constexpr auto name = child_info<child_type_t<Impl, I>>::template fixed_name<I>;
  constexpr auto path = child_path<Impl, Path, I>;
  if constexpr (S::template matches<H, path, I>()) {
    auto extra = call_replace<path, I>(make, child);
    return std::tuple<Named<name, H>, Named<after_name<name>(), decltype(extra)>>{{child}, {extra}};
  } else {
    auto rebuilt = insert_after_rebuild<S, path, I>(child, make);
    return std::tuple<Named<name, decltype(rebuilt)>>{{rebuilt}};
  }
}

// A selected module outside a Sequential parent becomes Sequential(module, inserted).
template <FixedString Path, std::size_t Index, class H, class F>
auto wrap_with_next(const H& module, F& make) {
  auto extra = call_replace<Path, Index>(make, module);
  return Sequential<H, decltype(extra)>(module, extra);
}

template <class S, FixedString Path, std::size_t Index, class H, class F>
auto insert_after_rebuild(const H& module, F& make) {
  using Impl = impl_t<H>;
  if constexpr (!container<Impl> || count_matches<S, H, Path, Index>() == 0) {
    return module;
  } else if constexpr (is_sequential<Impl>) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto named = std::tuple_cat(sequential_part<S, Path, Impl, I>(detail::get<I>(module->child_modules), make)...);
      return std::apply(
          [&]<class... Cs>(Cs&... children) {
            using Rebuilt = Sequential<Cs...>;
            typename Rebuilt::ContainedType::children_type handles{children.module...};
            return Rebuilt(Rebuilt::ContainedType::assemble(std::move(handles), module->is_training()));
          },
          named);
    }(std::make_index_sequence<Impl::size>{});
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto branch = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
        using C = typename child_info<child_type_t<Impl, J>>::module_type;
        constexpr auto path = child_path<Impl, Path, J>;
        const C& child = detail::get<J>(module->child_modules);
        if constexpr (S::template matches<C, path, J>()) return wrap_with_next<path, J>(child, make);
        else return insert_after_rebuild<S, path, J>(child, make);
      };
      using NewTypes = std::tuple<decltype(branch(std::integral_constant<std::size_t, I>{}))...>;
      using Rebuilt = typename Impl::template rebind<
          typename child_info<child_type_t<Impl, I>>::template rebind<std::tuple_element_t<I, NewTypes>>...>;
      typename Rebuilt::ContainedType::children_type children{branch(std::integral_constant<std::size_t, I>{})...};
      return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), module->is_training()));
    }(std::make_index_sequence<Impl::size>{});
  }
}

}  // namespace detail

// insert_after(model, selector, make): make(module) (or make(module, path)) inserted after every
// selected module, e.g. a PrintShape after every block. Inside a Sequential the new module is a
// sibling named "<name>_after" and every existing name, so every parameter name, is kept. A
// selected Parallel branch, or the model itself, becomes Sequential(module, inserted), so its
// parameters gain a "0." in their names.
template <class M, class S, class F>
auto insert_after(const M& model, S, F&& make) {
  constexpr std::size_t selected = detail::selected_in<S, M>;
  static_assert(selected > 0, "modify: insert_after: the selector matches no module of the model");
  if constexpr (selected == 0) return model;
  else if constexpr (S::template matches<M, "", root_index>()) return detail::wrap_with_next<"", root_index>(model, make);
  else return detail::insert_after_rebuild<S, "", root_index>(model, make);
}

// prefix<N>(model): the Sequential of model's first N children, the same module objects under the
// same names.
template <std::size_t N, class... Cs>
auto prefix(const Sequential<Cs...>& model) {
  static_assert(N > 0 && N <= sizeof...(Cs), "modify: prefix<N>: N must be between 1 and the number of children");
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    using Rebuilt = Sequential<std::tuple_element_t<I, std::tuple<Cs...>>...>;
    typename Rebuilt::ContainedType::children_type children{detail::get<I>(model->child_modules)...};
    return Rebuilt(Rebuilt::ContainedType::assemble(std::move(children), model->is_training()));
  }(std::make_index_sequence<N>{});
}

}  // namespace modify

MODIFY_ONE_TIME_END
