// Tests for modify/fixed_string.hpp: compile-time strings for names and paths.
#include <modify/fixed_string.hpp>

#include <doctest/doctest.h>

namespace {
template <modify::FixedString S>
constexpr std::string_view as_view() {
  return S.view();
}
}  // namespace

TEST_CASE("FixedString holds a literal usable as a template argument") {
  static_assert(as_view<"c_fc">() == "c_fc");
  static_assert(modify::FixedString("abc").size() == 3);
  static_assert(modify::detail::fixed_substring<"h.attn.c_proj", 2, 4>().view() == "attn");
  static_assert(modify::detail::index_name<0>.view() == "0");
  static_assert(modify::detail::index_name<7>.view() == "7");
  static_assert(modify::detail::index_name<42>.view() == "42");
  static_assert(modify::detail::index_name<1000>.view() == "1000");
  CHECK(std::string(modify::detail::index_name<123>.view()) == "123");
}
