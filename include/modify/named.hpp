// Children with compile-time names: named<"c_fc">(torch::nn::Linear(4, 8)) inside a container.
#pragma once

#include <utility>

#include <modify/fixed_string.hpp>

namespace modify {

namespace detail {
constexpr bool valid_child_name(std::string_view name) {
  return !name.empty() && find_char(name, '.') == std::string_view::npos;
}
}  // namespace detail

// Named<Name, M>: the module M, to be registered under Name instead of its position. The name
// appears in named_parameters() ("c_fc.weight") and selects the child in get<"c_fc">.
template <FixedString Name, class M>
struct Named {
  static_assert(detail::valid_child_name(Name.view()),
                "modify: a child's name must be non-empty and contain no '.', which separates path components");
  using named_module_type = M;
  static constexpr FixedString name = Name;
  M module;
};

// named<"name">(module): give a child a name.
template <FixedString Name, class M>
Named<Name, std::remove_cvref_t<M>> named(M&& module) {
  return {std::forward<M>(module)};
}

namespace detail {
// child_info<C>: how a container sees its child type C: the module handle, its name at position
// I, and the child type that keeps the name for another module R (used by transforms).
template <class C>
struct child_info {  // an unnamed child: named by its position
  using module_type = C;
  template <std::size_t I>
  static constexpr auto fixed_name = index_name<I>;
  template <std::size_t I>
  static constexpr std::string_view name = fixed_name<I>.view();
  template <class R>
  using rebind = R;
  static C& module(C& c) { return c; }
};
template <FixedString Name, class M>
struct child_info<Named<Name, M>> {
  using module_type = M;
  template <std::size_t I>
  static constexpr auto fixed_name = Name;
  template <std::size_t I>
  static constexpr std::string_view name = Name.view();
  template <class R>
  using rebind = Named<Name, R>;
  static M& module(Named<Name, M>& c) { return c.module; }
};
}  // namespace detail

}  // namespace modify
