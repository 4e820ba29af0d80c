// Tests for modify/transform/transform.hpp: rebuilding a model with some modules replaced and
// every other module shared; a selector that ignores paths rebuilds identical subtrees alike.
#include <modify/modify.hpp>
#include <modify/transform/transform.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {
// Whether two handles (of possibly different types) refer to the very same module object.
template <class A, class B>
bool same_module(const A& a, const B& b) {
  return static_cast<const torch::nn::Module*>(a.get()) == static_cast<const torch::nn::Module*>(b.get());
}

auto block() {
  auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(8, 16)), modify::named<"act">(torch::nn::GELU()),
                                modify::named<"c_proj">(torch::nn::Linear(16, 8)));
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)),
                            modify::Add());
}
auto model() {
  return modify::Sequential(modify::named<"embed">(torch::nn::Linear(4, 8)), block(), block(),
                            modify::named<"head">(torch::nn::Linear(8, 2)));
}
}  // namespace

TEST_CASE("replacing every GELU by a ReLU makes a new type and shares everything else") {
  auto base = model();
  auto relu_model = modify::transform(base, modify::select::type<torch::nn::GELU>, [](const auto&) { return torch::nn::ReLU(); });
  using Base = decltype(base);
  using Relu = decltype(relu_model);
  static_assert(!std::is_same_v<Base, Relu>);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(modify::get<"1.1.mlp.act">(relu_model))>, torch::nn::ReLU>);
  static_assert(modify::count(base, modify::select::type<torch::nn::GELU>) == 2);
  // Untouched subtrees and leaves are the same objects; the input model is unchanged.
  CHECK(same_module(modify::get<"embed">(relu_model), modify::get<"embed">(base)));
  CHECK(same_module(modify::get<"head">(relu_model), modify::get<"head">(base)));
  CHECK(same_module(modify::get<"1.1.mlp.c_fc">(relu_model), modify::get<"1.1.mlp.c_fc">(base)));
  CHECK(same_module(modify::get<"1.0">(relu_model), modify::get<"1.0">(base)));
  CHECK_FALSE(same_module(modify::get<"1">(relu_model), modify::get<"1">(base)));
  CHECK(modify::get<"1.1.mlp.act">(base)->name() == "torch::nn::GELUImpl");
  // Same parameters, same names.
  auto p = base->named_parameters(), q = relu_model->named_parameters();
  CHECK(p.keys() == q.keys());
  for (const auto& item : p) CHECK(item.value().is_same(q[item.key()]));
  // Both models work side by side, and differ only by the activation.
  auto x = torch::randn({3, 4});
  CHECK_FALSE(torch::allclose(base(x), relu_model(x)));
  // Sharing is real: a change through one model shows in the other.
  {
    torch::NoGradGuard no_grad;
    modify::get<"head">(base)->bias.fill_(100);
  }
  CHECK(relu_model(x).min().item<float>() > 50);
}

TEST_CASE("subtrees without a selected module are shared whole") {
  auto base = model();
  auto changed = modify::transform(base, modify::select::path<"2.1.mlp.act">, [](const auto&) { return torch::nn::Tanh(); });
  CHECK(same_module(modify::get<"1">(changed), modify::get<"1">(base)));
  CHECK(same_module(modify::get<"2.1.mlp.c_fc">(changed), modify::get<"2.1.mlp.c_fc">(base)));
  CHECK_FALSE(same_module(modify::get<"2.1.mlp">(changed), modify::get<"2.1.mlp">(base)));
}

TEST_CASE("a replacement sees the module and its compile-time path") {
  auto base = model();
  std::vector<std::string> seen;
  auto wider = modify::transform(base, modify::select::type<torch::nn::Linear>, [&](const torch::nn::Linear& linear, auto path) {
    seen.emplace_back(path);
    static_assert(decltype(path)::path.size() > 0);
    return modify::Sequential(linear, modify::Identity());
  });
  const std::vector<std::string> expected{"embed", "1.1.mlp.c_fc", "1.1.mlp.c_proj", "2.1.mlp.c_fc", "2.1.mlp.c_proj", "head"};
  CHECK(seen == expected);
  CHECK(wider->named_parameters().contains("1.1.mlp.c_fc.0.weight"));
}

TEST_CASE("a new container keeps the original's training mode, without touching shared children") {
  auto base = model();
  base->eval();
  modify::get<"head">(base)->train();  // an unusual mix that must survive
  auto changed = modify::transform(base, modify::select::type<torch::nn::GELU>, [](const auto&) { return torch::nn::ReLU(); });
  CHECK_FALSE(changed->is_training());
  CHECK(modify::get<"head">(base)->is_training());
}

TEST_CASE("a selector that looks only at a module's own place rebuilds identical subtrees alike wherever they sit") {
  // The two blocks sit at "1" and "2". A selector of local scope (own name, own index) or type
  // scope never sees those keys below the blocks, so the walk below them is one instantiation
  // (its compile-time effect is measured in bench/README.md). Checked here: the selection is the
  // same at both places, both come out as one type, and each gets its own new modules and paths.
  auto base = model();
  constexpr auto first_linear = modify::select::index<0> && modify::select::type<torch::nn::Linear>;
  static_assert(modify::count(base, first_linear) == 3);  // embed, and c_fc in each block
  auto adapted = modify::lora(base, {.rank = 2}, first_linear);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(modify::get<"1">(adapted))>,
                               std::remove_cvref_t<decltype(modify::get<"2">(adapted))>>);
  CHECK_FALSE(same_module(modify::get<"1.1.mlp.c_fc">(adapted), modify::get<"2.1.mlp.c_fc">(adapted)));
  const auto params = adapted->named_parameters();
  for (const char* path : {"embed", "1.1.mlp.c_fc", "2.1.mlp.c_fc"})
    CHECK(params.contains(std::string(path) + ".lora_A.default.weight"));
  CHECK_FALSE(params.contains("1.1.mlp.c_proj.lora_A.default.weight"));
  // A path selector still tells the two places apart.
  auto one = modify::transform(base, modify::select::path<"2.1.mlp.act">, [](const auto&) { return torch::nn::Tanh(); });
  static_assert(!std::is_same_v<std::remove_cvref_t<decltype(modify::get<"1">(one))>,
                                std::remove_cvref_t<decltype(modify::get<"2">(one))>>);
  CHECK(same_module(modify::get<"1">(one), modify::get<"1">(base)));
}
