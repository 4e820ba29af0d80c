// Tests for modify/sequential.hpp: composition in order, registration, torch integration.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>

namespace {

auto mlp() {
  return modify::Sequential(torch::nn::Linear(4, 8), torch::nn::ReLU(), torch::nn::Linear(8, 3));
}

}  // namespace

TEST_CASE("Sequential applies its children in order") {
  auto model = mlp();
  auto x = torch::randn({5, 4});
  auto& [first, relu, last] = model->child_modules;
  auto expected = last(torch::relu(first(x)));
  CHECK(torch::equal(model(x), expected));
  CHECK(torch::equal(model->forward(x), expected));
}

TEST_CASE("Sequential's result type follows from its input type") {
  auto model = modify::Sequential(torch::nn::Linear(4, 4), modify::Copy<3>());
  using Out = decltype(model(torch::randn({2, 4})));
  static_assert(std::is_same_v<Out, std::tuple<torch::Tensor, torch::Tensor, torch::Tensor>>);
  auto [a, b, c] = model(torch::randn({2, 4}));
  CHECK(a.is_same(b));
  CHECK(b.is_same(c));
}

TEST_CASE("children are registered under PyTorch-style names") {
  auto model = modify::Sequential(torch::nn::Linear(4, 8),
                                  modify::Sequential(torch::nn::ReLU(), modify::named<"c_fc">(torch::nn::Linear(8, 8))),
                                  modify::named<"head">(torch::nn::Linear(torch::nn::LinearOptions(8, 2).bias(false))));
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  const std::vector<std::string> expected{"0.weight", "0.bias", "1.c_fc.weight", "1.c_fc.bias", "head.weight"};
  CHECK(names == expected);
  CHECK(model->parameters().size() == 5);
  CHECK(model->children().size() == 3);
}

TEST_CASE("buffers, train/eval and to(dtype) reach every child") {
  auto model = modify::Sequential(torch::nn::Linear(3, 3), torch::nn::Dropout(0.5));
  CHECK(model->is_training());
  model->eval();
  CHECK_FALSE(modify::get<1>(model)->is_training());
  auto x = torch::randn({2, 3});
  CHECK(torch::equal(model(x), modify::get<0>(model)(x)));  // dropout is off in eval
  model->to(torch::kFloat64);
  CHECK(modify::get<0>(model)->weight.dtype() == torch::kFloat64);
  CHECK(model(x.to(torch::kFloat64)).dtype() == torch::kFloat64);
}

TEST_CASE("copies of a handle share the module; optimizers train it") {
  auto model = mlp();
  auto alias = model;
  CHECK(alias.ptr() == model.ptr());
  torch::manual_seed(0);
  auto x = torch::randn({64, 4});
  auto y = x.matmul(torch::randn({4, 3}));
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  auto loss_at = [&] { return torch::mse_loss(model(x), y).item<double>(); };
  const double before = loss_at();
  for (int step = 0; step < 200; ++step) {
    optimizer.zero_grad();
    torch::mse_loss(model(x), y).backward();
    optimizer.step();
  }
  CHECK(loss_at() < 0.2 * before);
  CHECK(torch::equal(alias(x), model(x)));
}

TEST_CASE("a container's module has one owner, which shared_from_this and its copies share") {
  // detail::make_module owns the module through a shared_ptr<torch::nn::Module> that the handle
  // aliases; LibTorch's registration relies on shared_from_this finding that same owner.
  auto model = mlp();
  const std::shared_ptr<torch::nn::Module> self = model->shared_from_this();
  CHECK(self.get() == static_cast<torch::nn::Module*>(model.ptr().get()));
  CHECK(!self.owner_before(model.ptr()));
  CHECK(!model.ptr().owner_before(self));
  const long before = model.ptr().use_count();
  auto copy = model;
  CHECK(model.ptr().use_count() == before + 1);
  // A clone is a new owner; the original's count does not move.
  auto deep = modify::clone(model);
  CHECK(model.ptr().use_count() == before + 1);
  CHECK(deep.ptr().use_count() == 1);
  std::weak_ptr<torch::nn::Module> gone = deep.ptr();
  deep = nullptr;
  CHECK(gone.expired());
}

TEST_CASE("child_modules holds each child's handle, in order, shared with the caller's") {
  torch::nn::Linear first(4, 8), last(8, 3);
  torch::nn::ReLU activation;
  auto model = modify::Sequential(first, activation, modify::named<"head">(last));
  static_assert(std::tuple_size_v<decltype(model->child_modules)> == 3);
  static_assert(std::is_same_v<std::tuple_element_t<2, decltype(model->child_modules)>, torch::nn::Linear>);
  auto& [a, relu, c] = model->child_modules;
  CHECK(a.ptr() == first.ptr());
  CHECK(relu.ptr() == activation.ptr());
  CHECK(c.ptr() == last.ptr());
  CHECK(modify::get<0>(model).ptr() == first.ptr());
  CHECK(modify::get<"head">(model).ptr() == last.ptr());
  const auto& constant = *model;
  CHECK(modify::detail::get<1>(constant.child_modules).ptr() == activation.ptr());
}

TEST_CASE("torch::save and torch::load round-trip a model") {
  auto model = mlp();
  std::stringstream stream;
  torch::save(model, stream);
  auto restored = mlp();
  torch::load(restored, stream);
  auto x = torch::randn({2, 4});
  CHECK(torch::equal(model(x), restored(x)));
}

TEST_CASE("Sequential's traits derive from its children's") {
  using namespace modify;
  using Mlp = decltype(mlp());
  static_assert(trait::Unary<Mlp> && trait::Param<Mlp> && trait::NonLinear<Mlp>);
  static_assert(traits_of<Mlp>.kind == Kind::none);
  using Affine = Sequential<torch::nn::Linear, torch::nn::Dropout, torch::nn::Linear>;
  static_assert(trait::Linear<Affine> && trait::Param<Affine>);
  using Activations = Sequential<torch::nn::ReLU, Identity, torch::nn::Tanh>;
  static_assert(trait::Elementwise<Activations> && trait::ParamFree<Activations> && trait::NonLinear<Activations>);
  using Nothing = Sequential<Identity, torch::nn::Identity>;
  static_assert(trait::Identity<Nothing> && trait::Linear<Nothing>);
  using Reshape = Sequential<torch::nn::Flatten, Identity, torch::nn::Unflatten>;
  static_assert(trait::Restructure<Reshape>);
  using Residual = Sequential<Copy<2>, Parallel<Identity, torch::nn::Linear>, Add>;
  static_assert(trait::Unary<Residual> && trait::Linear<Residual> && trait::Param<Residual>);
  using StartsWithAdd = Sequential<Add, torch::nn::ReLU>;
  static_assert(trait::Binary<StartsWithAdd>);
  static_assert(Module<Mlp> && Module<SequentialImpl<torch::nn::ReLU>>);
  CHECK(to_string(traits_of<Residual>) == "Unary Param Linear");
}

TEST_CASE("a model prints as a tree") {
  auto model = modify::Sequential(torch::nn::Linear(2, 2), modify::named<"act">(torch::nn::ReLU()));
  std::ostringstream out;
  out << model;
  CHECK(out.str() ==
        "modify::Sequential(\n"
        "  (0): torch::nn::Linear(in_features=2, out_features=2, bias=true)\n"
        "  (act): torch::nn::ReLU()\n"
        ")");
}

TEST_CASE("an empty child handle is rejected when the model is built") {
  CHECK_THROWS_WITH_AS(modify::Sequential(torch::nn::Linear(nullptr), torch::nn::ReLU()),
                       doctest::Contains("child '0' of modify::Sequential is an empty module handle"),
                       std::invalid_argument);
}
