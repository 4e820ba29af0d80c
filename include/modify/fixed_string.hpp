// Compile-time strings: the names of children and the dotted paths given to get<"...">.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace modify {

// FixedString<N>: a string literal usable as a template argument (N counts the trailing '\0').
template <std::size_t N>
struct FixedString {
  char chars[N]{};

  constexpr FixedString() = default;
  constexpr FixedString(const char (&text)[N]) { std::copy_n(text, N, chars); }

  constexpr std::size_t size() const { return N - 1; }
  constexpr std::string_view view() const { return {chars, N - 1}; }
  constexpr operator std::string_view() const { return view(); }
};

namespace detail {

// fixed_substring<S, Begin, Length>: the characters [Begin, Begin + Length) of S as a FixedString.
template <FixedString S, std::size_t Begin, std::size_t Length>
constexpr auto fixed_substring() {
  FixedString<Length + 1> out;
  std::copy_n(S.chars + Begin, Length, out.chars);
  return out;
}

// find_char / rfind_char: string_view::find and rfind for constant evaluation. (GCC 12 under
// -fsanitize=undefined cannot constant-evaluate string_view::find on a template argument's chars.)
constexpr std::size_t find_char(std::string_view s, char c) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == c) return i;
  return std::string_view::npos;
}
constexpr std::size_t rfind_char(std::string_view s, char c) {
  for (std::size_t i = s.size(); i-- > 0;)
    if (s[i] == c) return i;
  return std::string_view::npos;
}

// join_path<Prefix, Name>(): "Prefix.Name", or Name when Prefix is empty.
template <FixedString Prefix, FixedString Name>
constexpr auto join_path() {
  if constexpr (Prefix.size() == 0) {
    return Name;
  } else {
    FixedString<Prefix.size() + Name.size() + 2> out;
    std::copy_n(Prefix.chars, Prefix.size(), out.chars);
    out.chars[Prefix.size()] = '.';
    std::copy_n(Name.chars, Name.size(), out.chars + Prefix.size() + 1);
    return out;
  }
}

// dotted(prefix, name): join_path at run time, as named_modules() spells a child's path.
inline std::string dotted(std::string_view prefix, std::string_view name) {
  std::string path(prefix);
  if (!path.empty()) path += '.';
  path += name;
  return path;
}

// glob_match(pattern, text): '*' matches any run of characters (dots included), '?' any one.
constexpr bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++, resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1, t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// index_name<I>: the default name of the I-th child ("0", "1", ...), as PyTorch names them.
template <std::size_t I>
inline constexpr auto index_name = [] {
  constexpr std::size_t digits = [] {
    std::size_t n = 1;
    for (std::size_t v = I; v >= 10; v /= 10) ++n;
    return n;
  }();
  FixedString<digits + 1> out;
  std::size_t v = I;
  for (std::size_t i = digits; i-- > 0; v /= 10) out.chars[i] = static_cast<char>('0' + v % 10);
  return out;
}();

}  // namespace detail
}  // namespace modify
