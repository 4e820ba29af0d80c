// Tests for modify/transform/edit.hpp: replace, insert_after and prefix.
#include <modify/modify.hpp>
#include <modify/transform/edit.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
auto block() {
  auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(6, 12)), torch::nn::GELU(),
                                modify::named<"c_proj">(torch::nn::Linear(12, 6)));
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)), modify::Add());
}
auto model() { return modify::Sequential(torch::nn::Linear(3, 6), block(), block(), modify::named<"head">(torch::nn::Linear(6, 1))); }
}  // namespace

TEST_CASE("replace<From> swaps every module of a type") {
  auto base = model();
  auto relu = modify::replace<torch::nn::GELU>(base, [](const auto&) { return torch::nn::ReLU(); });
  static_assert(modify::count(relu, modify::select::type<torch::nn::ReLU>) == 2);
  static_assert(modify::count(base, modify::select::type<torch::nn::ReLU>) == 0);
  CHECK(modify::get<"head">(relu).ptr() == modify::get<"head">(base).ptr());
}

TEST_CASE("insert_after in a Sequential adds siblings and keeps every parameter name") {
  auto base = model();
  auto debug = modify::insert_after(base, modify::select::index<1> || modify::select::index<2>,
                                    [](const auto&) { return torch::nn::Tanh(); });
  // index<1> also matches the Parallel inside each block, but a selected module's subtree is not
  // searched: blocks 1 and 2 are selected first.
  auto names = debug->named_parameters().keys();
  CHECK(names == base->named_parameters().keys());
  auto children = debug->named_children().keys();
  CHECK(std::find(children.begin(), children.end(), "1_after") != children.end());
  CHECK(std::find(children.begin(), children.end(), "2_after") != children.end());
  // It computes tanh after block 1 and block 2.
  auto x = torch::randn({4, 3});
  auto expected = modify::get<"head">(base)(torch::tanh(modify::get<2>(base)(torch::tanh(modify::get<1>(base)(modify::get<0>(base)(x))))));
  CHECK(torch::allclose(debug(x), expected));
  // The base is untouched and shared.
  CHECK(modify::get<"0">(debug).ptr() == modify::get<"0">(base).ptr());
}

TEST_CASE("insert_after on a Parallel branch wraps that branch") {
  auto base = model();
  auto changed = modify::insert_after(base, modify::select::path<"1.1.mlp">, [](const auto&) { return torch::nn::Tanh(); });
  CHECK(changed->named_parameters().contains("1.1.mlp.0.c_fc.weight"));
  auto x = torch::randn({2, 3});
  auto h = modify::get<0>(base)(x);
  auto expected = modify::get<"head">(base)(modify::get<2>(base)(h + torch::tanh(modify::get<"1.1.mlp">(base)(h))));
  CHECK(torch::allclose(changed(x), expected));
}

TEST_CASE("insert_after on the model itself appends to it") {
  auto base = model();
  auto with_sigmoid = modify::insert_after(base, modify::select::path<"">, [](const auto&) { return torch::nn::Sigmoid(); });
  auto x = torch::randn({2, 3});
  CHECK(torch::allclose(with_sigmoid(x), torch::sigmoid(base(x))));
}

TEST_CASE("prefix<N> is a model of the first N children, shared") {
  auto base = model();
  auto features = modify::prefix<3>(base);
  static_assert(std::is_same_v<decltype(modify::get<2>(features)), decltype(modify::get<2>(base))>);
  auto x = torch::randn({2, 3});
  CHECK(torch::equal(modify::get<"head">(base)(features(x)), base(x)));
  CHECK(features->named_parameters().keys().front() == "0.weight");
  CHECK(modify::get<1>(features).ptr() == modify::get<1>(base).ptr());
}
