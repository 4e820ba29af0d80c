// Tests for modify/named.hpp: children with compile-time names.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_CASE("named children are registered and found under their names; others by position") {
  auto model = modify::Sequential(modify::named<"wte">(torch::nn::Embedding(10, 4)), torch::nn::ReLU(),
                                  modify::named<"lm_head">(torch::nn::Linear(4, 10)));
  using Impl = typename decltype(model)::ContainedType;
  static_assert(Impl::names[0] == "wte" && Impl::names[1] == "1" && Impl::names[2] == "lm_head");
  CHECK((model->named_children().keys() == std::vector<std::string>{"wte", "1", "lm_head"}));
  CHECK(modify::get<"lm_head">(model).ptr() == modify::get<2>(model).ptr());
  CHECK((model(torch::tensor({1, 2})).sizes() == torch::IntArrayRef{2, 10}));
}

TEST_CASE("named keeps the module it wraps: the same handle, shared") {
  auto linear = torch::nn::Linear(2, 2);
  auto child = modify::named<"proj">(linear);
  static_assert(std::is_same_v<decltype(child), modify::Named<"proj", torch::nn::Linear>>);
  CHECK(child.module.ptr() == linear.ptr());
  static_assert(decltype(child)::name.view() == "proj");
  static_assert(modify::trait::Param<decltype(child)> && modify::trait::Linear<decltype(child)>);
}
