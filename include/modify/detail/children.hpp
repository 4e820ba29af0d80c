// Children<Cs...>: a flat list of module handles: a container's children, and specialize's folded slots.
#pragma once

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <modify/detail/one_time.hpp>

namespace modify::detail {

// Why not std::tuple: its recursive _Tuple_impl gives every container type a constructor,
// destructor, accessor and get helper per child and per level, about a third of the functions a
// model's unit compiled (bench/README.md, "Compile cost"). Here a list type adds only its
// constructor and its implicit destructor and copies; ChildSlot<I, C> and get<I> are shared by every
// list with C at I.

template <std::size_t I, class C>
struct ChildSlot {
  C handle;
};

// get<I>(children): child I, found through its slot (the deduction picks the one base class).
template <std::size_t I, class C>
constexpr C& get(ChildSlot<I, C>& slot) noexcept {
  return slot.handle;
}
template <std::size_t I, class C>
constexpr const C& get(const ChildSlot<I, C>& slot) noexcept {
  return slot.handle;
}
template <std::size_t I, class C>
constexpr C&& get(ChildSlot<I, C>&& slot) noexcept {
  return std::move(slot.handle);
}

// A list is built, copied and destroyed only by one-time code (forward paths reach a child through
// get<I> above), so it is compiled with that code and can be inlined into it.
MODIFY_ONE_TIME_BEGIN
template <class Indices, class... Cs>
struct ChildrenOf;

template <std::size_t... I, class... Cs>
struct ChildrenOf<std::index_sequence<I...>, Cs...> : ChildSlot<I, Cs>... {
  // Braced calls, ChildrenOf{a, b, c}, construct the children in order.
  explicit ChildrenOf(Cs... handles) : ChildSlot<I, Cs>{std::move(handles)}... {}

  // For structured bindings, auto& [first, second] = model->child_modules: a member get, since
  // argument-dependent lookup would also find modify::get<I>(model).
  template <std::size_t K>
  auto& get() & noexcept {
    return detail::get<K>(*this);
  }
  template <std::size_t K>
  const auto& get() const& noexcept {
    return detail::get<K>(*this);
  }
  template <std::size_t K>
  auto&& get() && noexcept {
    return detail::get<K>(std::move(*this));
  }
};

MODIFY_ONE_TIME_END

template <class... Cs>
using Children = ChildrenOf<std::index_sequence_for<Cs...>, Cs...>;

// unpack(children, f): f(child 0, child 1, ...).
template <std::size_t... I, class... Cs, class F>
decltype(auto) unpack(ChildrenOf<std::index_sequence<I...>, Cs...>& children, F&& f) {
  return std::forward<F>(f)(static_cast<ChildSlot<I, Cs>&>(children).handle...);
}
template <std::size_t... I, class... Cs, class F>
decltype(auto) unpack(const ChildrenOf<std::index_sequence<I...>, Cs...>& children, F&& f) {
  return std::forward<F>(f)(static_cast<const ChildSlot<I, Cs>&>(children).handle...);
}

}  // namespace modify::detail

template <std::size_t... I, class... Cs>
struct std::tuple_size<modify::detail::ChildrenOf<std::index_sequence<I...>, Cs...>>
    : std::integral_constant<std::size_t, sizeof...(Cs)> {};

template <std::size_t K, std::size_t... I, class... Cs>
struct std::tuple_element<K, modify::detail::ChildrenOf<std::index_sequence<I...>, Cs...>>
    : std::tuple_element<K, std::tuple<Cs...>> {};
