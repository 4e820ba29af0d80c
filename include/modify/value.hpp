// What flows through a network: a torch::Tensor or a (possibly nested) std::tuple of values.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>

#include <ATen/ATen.h>

namespace modify {

namespace detail {
template <class T>
struct is_value : std::false_type {};
template <>
struct is_value<at::Tensor> : std::true_type {};
template <class... Ts>
struct is_value<std::tuple<Ts...>> : std::bool_constant<(is_value<Ts>::value && ...)> {};

template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};
}  // namespace detail

// Value<T>: T (cv-ref ignored) is a tensor or a nested tuple of tensors; its structure is T itself.
template <class T>
concept Value = detail::is_value<std::remove_cvref_t<T>>::value;

// TensorValue<T> / TupleValue<T>: which of the two shapes a value has.
template <class T>
concept TensorValue = std::same_as<std::remove_cvref_t<T>, at::Tensor>;
template <class T>
concept TupleValue = Value<T> && detail::is_tuple<std::remove_cvref_t<T>>::value;

// tuple_arity_v<T>: the number of elements of a tuple value, 0 for a tensor.
template <class T>
inline constexpr std::size_t tuple_arity_v = [] {
  if constexpr (TupleValue<T>) return std::tuple_size_v<std::remove_cvref_t<T>>;
  else return std::size_t{0};
}();

// TupleOfTensors<T, N>: a flat tuple of exactly N tensors (N == 0: any number).
template <class T, std::size_t N = 0>
concept TupleOfTensors = TupleValue<T> && (N == 0 || tuple_arity_v<T> == N) &&
    []<class... Ts>(std::type_identity<std::tuple<Ts...>>) {
      return (TensorValue<Ts> && ...);
    }(std::type_identity<std::remove_cvref_t<T>>{});

namespace detail {
// write_value(out, value, print_tensor): a value with its tuples written "(a, (b, c))" and each
// tensor written by print_tensor(out, tensor).
template <class F>
void write_value(std::ostream& out, const at::Tensor& t, const F& print_tensor) {
  print_tensor(out, t);
}
template <class... Ts, class F>
void write_value(std::ostream& out, const std::tuple<Ts...>& value, const F& print_tensor) {
  out << '(';
  std::apply(
      [&](const auto&... element) {
        std::size_t i = 0;
        ((out << (i++ ? ", " : ""), write_value(out, element, print_tensor)), ...);
      },
      value);
  out << ')';
}
}  // namespace detail

// describe(value): shapes and dtypes of a value, as used in error messages ("[2, 5] Float").
inline void describe(std::ostream& out, const at::Tensor& t) {
  if (!t.defined()) {
    out << "undefined tensor";
    return;
  }
  out << t.sizes() << ' ' << t.scalar_type();
  if (!t.device().is_cpu()) out << ' ' << t.device();
}
template <class... Ts>
void describe(std::ostream& out, const std::tuple<Ts...>& value) {
  detail::write_value(out, value, [](std::ostream& o, const at::Tensor& t) { describe(o, t); });
}
template <Value V>
std::string describe(const V& value) {
  std::ostringstream out;
  describe(out, value);
  return out.str();
}

}  // namespace modify
