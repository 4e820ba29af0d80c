// Tests for modify/access.hpp: get<I>, get<"path">, and visits over leaves and modules.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
auto gpt_like_block() {
  auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(8, 32)), modify::named<"gelu">(torch::nn::GELU()),
                                modify::named<"c_proj">(torch::nn::Linear(32, 8)));
  return modify::Sequential(
      modify::named<"ln">(torch::nn::Identity()),
      modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)), modify::Add()));
}
}  // namespace

TEST_CASE("get<I> and get<\"path\"> return the very child handles") {
  auto model = gpt_like_block();
  auto& c_fc = modify::get<"1.1.mlp.c_fc">(model);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(c_fc)>, torch::nn::Linear>);
  CHECK((c_fc->weight.sizes() == torch::IntArrayRef{32, 8}));
  CHECK(c_fc.ptr() == modify::get<0>(modify::get<"mlp">(modify::get<1>(modify::get<1>(model)))).ptr());
  CHECK(modify::get<"ln">(model).ptr() == modify::get<0>(model).ptr());
  // Changing a parameter through the handle changes the model: they are the same module.
  torch::NoGradGuard no_grad;
  c_fc->weight.zero_();
  CHECK(model->named_parameters()["1.1.mlp.c_fc.weight"].abs().sum().item<float>() == 0);
}

TEST_CASE("get works on const models") {
  const auto model = gpt_like_block();
  const auto& proj = modify::get<"1.1.mlp.c_proj">(model);
  CHECK(proj->weight.size(0) == 8);
}

TEST_CASE("for_each_leaf visits every leaf in order with its dotted path") {
  auto model = gpt_like_block();
  std::vector<std::string> paths;
  int64_t parameters = 0;
  modify::for_each_leaf(model, [&](std::string_view path, auto& leaf) {
    paths.emplace_back(path);
    for (const auto& p : leaf->parameters()) parameters += p.numel();
  });
  const std::vector<std::string> expected_paths{"ln", "1.0", "1.1.0", "1.1.mlp.c_fc", "1.1.mlp.gelu", "1.1.mlp.c_proj", "1.2"};
  CHECK(paths == expected_paths);
  int64_t expected = 0;
  for (const auto& p : model->parameters()) expected += p.numel();
  CHECK(parameters == expected);
}

TEST_CASE("for_each_module visits containers before their children, root first") {
  auto model = gpt_like_block();
  std::vector<std::string> visited;
  modify::for_each_module(model, [&](std::string_view path, auto& module) {
    visited.push_back(std::string(path) + "=" + module->name());
  });
  CHECK(visited.size() == 11);
  CHECK(visited[0] == "=modify::Sequential");
  CHECK(visited[2] == "1=modify::Sequential");
  CHECK(visited[5] == "1.1.0=modify::IdentityImpl");
  CHECK(visited[6] == "1.1.mlp=modify::Sequential");
  // The same paths torch reports for named_modules().
  std::vector<std::string> torch_paths;
  for (const auto& item : model->named_modules()) torch_paths.push_back(item.key());
  std::vector<std::string> our_paths;
  modify::for_each_module(model, [&](std::string_view path, auto&) { our_paths.emplace_back(path); });
  CHECK(our_paths == torch_paths);
}

TEST_CASE("visits see each leaf's static type") {
  auto model = gpt_like_block();
  int linear_layers = 0;
  modify::for_each_leaf(model, [&](std::string_view, auto& leaf) {
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(leaf)>, torch::nn::Linear>) ++linear_layers;
    if constexpr (modify::trait::Param<decltype(leaf)>) CHECK(!leaf->parameters().empty());
  });
  CHECK(linear_layers == 2);
}
