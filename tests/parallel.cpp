// Tests for modify/parallel.hpp: one branch per tuple element, residual blocks, traits.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_CASE("Parallel applies branch i to element i") {
  auto model = modify::Parallel(torch::nn::Linear(4, 2), torch::nn::ReLU(), modify::Identity());
  auto a = torch::randn({3, 4}), b = torch::randn({5}), c = torch::randn({2, 2});
  auto [ya, yb, yc] = model(std::tuple{a, b, c});
  CHECK(torch::equal(ya, modify::get<0>(model)(a)));
  CHECK(torch::equal(yb, torch::relu(b)));
  CHECK(yc.is_same(c));
}

TEST_CASE("Parallel takes nested tuples and returns the tuple of its branches' outputs") {
  auto inner = modify::Parallel(torch::nn::Tanh(), modify::Copy<2>());
  auto model = modify::Parallel(inner, modify::Add());
  auto x = torch::randn({3});
  auto out = model(std::tuple{std::tuple{x, x}, std::tuple{x, x}});
  using Out = decltype(out);
  static_assert(std::is_same_v<Out, std::tuple<std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>>,
                                               torch::Tensor>>);
  CHECK(torch::allclose(std::get<0>(std::get<0>(out)), torch::tanh(x)));
  CHECK(torch::equal(std::get<1>(out), x + x));
}

TEST_CASE("a residual block is Sequential(Copy<2>, Parallel(Identity, block), Add)") {
  auto block = modify::Sequential(torch::nn::Linear(6, 6), torch::nn::GELU(), torch::nn::Linear(6, 6));
  auto residual = modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), block), modify::Add());
  auto x = torch::randn({4, 6});
  CHECK(torch::allclose(residual(x), x + block(x)));
  // The block is shared, not copied: its parameters are the residual's.
  CHECK(residual->parameters().size() == 4);
  CHECK(residual->parameters()[0].is_same(block->parameters()[0]));
  std::vector<std::string> names;
  for (const auto& p : residual->named_parameters()) names.push_back(p.key());
  CHECK(names.front() == "1.1.0.weight");
}

TEST_CASE("Parallel's traits: arity from its branch count, the rest from its children") {
  using namespace modify;
  static_assert(trait::Binary<Parallel<Identity, torch::nn::Linear>>);
  static_assert(trait::Ternary<Parallel<Identity, Identity, Identity>>);
  static_assert(trait::TupleArg<Parallel<Identity>>);
  static_assert(trait::TupleArg<Parallel<Identity, Identity, Identity, Identity>>);
  static_assert(trait::Param<Parallel<Identity, torch::nn::Linear>> &&
                trait::Linear<Parallel<Identity, torch::nn::Linear>>);
  static_assert(trait::ParamFree<Parallel<torch::nn::ReLU, Identity>> &&
                trait::NonLinear<Parallel<torch::nn::ReLU, Identity>> &&
                trait::Elementwise<Parallel<torch::nn::ReLU, Identity>>);
  static_assert(trait::Identity<Parallel<Identity, torch::nn::Identity>>);
  static_assert(traits_of<Parallel<torch::nn::Linear, torch::nn::ReLU>>.kind == Kind::none);
  CHECK(to_string(traits_of<Parallel<Identity, torch::nn::Linear>>) == "Binary Param Linear");
}

TEST_CASE("Parallel is a torch module: names, buffers, modes") {
  auto model = modify::Parallel(modify::named<"left">(torch::nn::Linear(2, 2)), torch::nn::Dropout());
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  CHECK((names == std::vector<std::string>{"left.weight", "left.bias"}));
  model->eval();
  auto x = torch::randn({2, 2});
  CHECK(torch::equal(std::get<1>(model(std::tuple{x, x})), x));
}
