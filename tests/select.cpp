// Tests for modify/select.hpp: selecting modules by type, traits, path, name and position.
#include <modify/modify.hpp>
#include <modify/transform/transform.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
using Mlp = modify::Sequential<modify::Named<"c_fc", torch::nn::Linear>, modify::Named<"act", torch::nn::GELU>,
                               modify::Named<"c_proj", torch::nn::Linear>>;
using Model = modify::Sequential<modify::Named<"embed", torch::nn::Embedding>, modify::Named<"mlp", Mlp>,
                                 torch::nn::Dropout, modify::Named<"head", torch::nn::Linear>>;

template <class S>
constexpr std::size_t count() {
  return modify::detail::count_matches<S, Model, "", modify::root_index>();
}
template <auto S>
constexpr std::size_t count_of = count<std::remove_cvref_t<decltype(S)>>();
}  // namespace

TEST_CASE("selectors decide at compile time") {
  namespace s = modify::select;
  static_assert(count_of<s::type<torch::nn::Linear>> == 3);
  static_assert(count_of<s::type<torch::nn::LinearImpl>> == 3);
  static_assert(count_of<s::type<Mlp>> == 1);
  static_assert(count_of<s::param> == 4);                       // leaves only
  static_assert(count_of<s::param && s::linear> == 4);          // Embedding counts as linear
  static_assert(count_of<s::param && !s::type<torch::nn::Embedding>> == 3);
  static_assert(count_of<s::nonlinear> == 1);
  static_assert(count_of<s::container> == 1);                   // the root is selected: its children are not visited
  static_assert(count_of<s::container && !s::path<"">> == 1);   // "mlp"
  static_assert(count_of<s::all> == 1);
  static_assert(count_of<s::leaf> == 6);
  static_assert(count_of<s::path<"mlp.c_fc">> == 1);
  static_assert(count_of<s::path<"mlp.c_f">> == 0);
  static_assert(count_of<s::under<"mlp">> == 1);                 // mlp itself, replaced whole
  static_assert(count_of<s::under<"mlp"> && s::leaf> == 3);
  static_assert(count_of<s::under<"ml"> && s::leaf> == 0);
  static_assert(count_of<s::glob<"*.c_*">> == 2);
  static_assert(count_of<s::glob<"*c_proj">> == 1);
  static_assert(count_of<s::glob<"?">> == 1);                    // "2", the Dropout
  static_assert(count_of<s::name<"c_fc"> || s::name<"head">> == 2);
  static_assert(count_of<s::index<0> && s::leaf> == 2);         // embed, mlp.c_fc
  static_assert(count_of<s::where<[]<class M>() { return modify::trait::Elementwise<M>; }>> == 2);  // GELU, Dropout
  CHECK(true);
}

TEST_CASE("a selector's scope says what of a module's place it reads; combinations take the wider") {
  namespace s = modify::select;
  using modify::select::Scope;
  static_assert(decltype(s::type<torch::nn::Linear>)::scope == Scope::type);
  static_assert(decltype(s::param && !s::leaf)::scope == Scope::type);
  static_assert(decltype(s::name<"c_fc">)::scope == Scope::local);
  static_assert(decltype(s::index<1> && s::linear)::scope == Scope::local);
  static_assert(decltype(!(s::path<"mlp"> || s::leaf))::scope == Scope::path);
  static_assert(decltype(s::under<"mlp"> && s::name<"c_fc">)::scope == Scope::path);
  // Told only its own name, a local selector still finds modules deep in the tree, and a type
  // selector finds them told nothing: the counts match those above, made with whole paths.
  static_assert(count_of<s::name<"c_fc"> && s::param> == 1);
  static_assert(count_of<s::index<2> && s::leaf> == 2);  // mlp.c_proj, the Dropout
  static_assert(modify::detail::count_matches<std::remove_cvref_t<decltype(s::name<"c_fc">)>, Model, "outer.mlp", 5>() == 1);
  CHECK(true);
}

TEST_CASE("glob patterns") {
  using modify::detail::glob_match;
  static_assert(glob_match("*", "") && glob_match("*", "a.b.c"));
  static_assert(glob_match("h.*.attn", "h.3.attn") && glob_match("h.*.attn", "h.3.x.attn"));
  static_assert(!glob_match("h.*.attn", "h.3.attn.c") && !glob_match("a?c", "ac"));
  static_assert(glob_match("*.c_attn", "transformer.h.0.attn.c_attn"));
  CHECK(true);
}
