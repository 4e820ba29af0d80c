// Tests for modify/transform/lora.hpp: adapted models share their base, start equal to it, train
// only their adapters, merge exactly, stack named adapters, and save/load adapters alone
// (modify/io/adapter.hpp).
#include <modify/modify.hpp>
#include <modify/io/adapter.hpp>
#include <modify/transform/lora.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

namespace {

using modify_test::temp_path;

auto mlp() {
  auto block = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(8, 32)), modify::named<"act">(torch::nn::GELU()),
                                  modify::named<"c_proj">(torch::nn::Linear(32, 8)));
  return modify::Sequential(modify::named<"embed">(torch::nn::Linear(4, 8)),
                            modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(block)),
                                               modify::Add()),
                            modify::named<"head">(torch::nn::Linear(8, 2)));
}

constexpr auto fc_layers = modify::select::name<"c_fc"> || modify::select::name<"c_proj">;

}  // namespace

TEST_CASE("an adapted model equals its base at initialisation and shares the base's tensors") {
  torch::manual_seed(0);
  auto base = mlp();
  auto adapted = modify::lora(base, {.rank = 4, .alpha = 8}, fc_layers);
  using A = decltype(adapted);
  static_assert(!std::is_same_v<A, decltype(base)>);
  static_assert(modify::count(adapted, modify::select::lora) == 2);
  static_assert(modify::count(adapted, modify::select::frozen) == 2);  // embed and head
  static_assert(modify::trait::Param<A> && modify::trait::Unary<A>);
  auto x = torch::randn({5, 4});
  CHECK(torch::equal(adapted(x), base(x)));
  // The base modules are the same objects; parameters keep their names and tensors.
  CHECK(modify::get<"1.1.mlp.c_fc">(adapted)->base.ptr() == modify::get<"1.1.mlp.c_fc">(base).ptr());
  auto adapted_params = adapted->named_parameters();
  for (const auto& p : base->named_parameters()) CHECK(p.value().is_same(adapted_params[p.key()]));
  CHECK(adapted_params.contains("1.1.mlp.c_fc.lora_A.default.weight"));
  CHECK((adapted_params["1.1.mlp.c_proj.lora_B.default.weight"].sizes() == torch::IntArrayRef{8, 4}));
  CHECK(adapted_params.size() == base->named_parameters().size() + 4);
}

TEST_CASE("changing a base weight through the base model changes the adapted model") {
  auto base = mlp();
  auto adapted = modify::lora(base, {}, fc_layers);
  auto x = torch::randn({3, 4});
  {
    torch::NoGradGuard no_grad;
    modify::get<"1.1.mlp.c_proj">(base)->weight.mul_(3);
  }
  CHECK(torch::equal(adapted(x), base(x)));
}

TEST_CASE("training the adapted model moves only the adapters; the base stays bitwise identical") {
  torch::manual_seed(1);
  auto base = mlp();
  const auto before = modify_test::snapshot(base);
  auto adapted = modify::lora(base, {.rank = 4, .alpha = 16, .dropout = 0.1}, fc_layers);
  auto trainable = modify::trainable_parameters(adapted);
  CHECK(trainable.size() == 4);
  for (const auto& t : trainable) CHECK(t.requires_grad());
  auto x = torch::randn({64, 4});
  auto y = torch::sin(x.sum(1, true)).repeat({1, 2});
  torch::optim::Adam optimizer(trainable, torch::optim::AdamOptions(1e-2));
  auto loss_of = [&] {
    torch::NoGradGuard no_grad;
    adapted->eval();
    auto l = torch::mse_loss(adapted(x), y).item<double>();
    adapted->train();
    return l;
  };
  const double initial = loss_of();
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    torch::mse_loss(adapted(x), y).backward();
    optimizer.step();
  }
  CHECK(loss_of() < 0.8 * initial);
  CHECK(modify_test::unchanged(base, before));
  for (const auto& p : base->named_parameters()) {
    CAPTURE(p.key());
    CHECK_FALSE(p.value().grad().defined());  // no gradient ever reached a base weight
    CHECK(p.value().requires_grad());          // and nobody flipped its flag
  }
}

TEST_CASE("merge folds the adapters into new tensors; the result has the base's type") {
  torch::manual_seed(2);
  auto base = mlp();
  auto adapted = modify::lora(base, {.rank = 2, .alpha = 4, .rslora = true}, fc_layers);
  {
    torch::NoGradGuard no_grad;  // give the adapters something to merge
    for (auto& t : modify::trainable_parameters(adapted)) t.normal_();
  }
  auto merged = modify::merge(adapted);
  static_assert(std::is_same_v<decltype(merged), decltype(base)>);
  auto x = torch::randn({7, 4});
  CHECK(torch::allclose(merged(x), adapted(x), 1e-5, 1e-5));
  CHECK_FALSE(torch::allclose(merged(x), base(x)));
  // Merged layers are new tensors; untouched layers are shared; the base is unchanged.
  CHECK_FALSE(modify::get<"1.1.mlp.c_fc">(merged)->weight.is_same(modify::get<"1.1.mlp.c_fc">(base)->weight));
  CHECK(modify::get<"head">(merged).ptr() == modify::get<"head">(base).ptr());
  CHECK(torch::equal(adapted(x), adapted(x)));
  // rsLoRA scaling is alpha / sqrt(r).
  CHECK(modify::get<"1.1.mlp.c_fc">(adapted)->adapters[0].scaling == doctest::Approx(4 / std::sqrt(2.0)));
}

TEST_CASE("named adapters stack, and any subset is a model of its own sharing the rest") {
  torch::manual_seed(3);
  auto base = mlp();
  auto a = modify::lora<"a">(base, {.rank = 2}, fc_layers);
  auto ab = modify::lora<"b">(a, {.rank = 3}, modify::select::type<torch::nn::Linear>);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(modify::get<"1.1.mlp.c_fc">(ab))>,
                               modify::Lora<torch::nn::Linear, "a", "b">>);
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(modify::get<"head">(ab))>, modify::Lora<torch::nn::Linear, "b">>);
  {
    torch::NoGradGuard no_grad;
    for (auto& t : modify::trainable_parameters(ab)) t.normal_();
  }
  auto only_b = modify::with_adapters<"b">(ab);
  auto none = modify::with_adapters<>(ab);
  auto only_a = modify::with_adapters<"a">(modify::lora<"b">(a, {.rank = 3}, fc_layers));
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(modify::get<"1.1.mlp.c_fc">(none))>, modify::Frozen<torch::nn::Linear>>);
  auto x = torch::randn({4, 4});
  CHECK(torch::equal(none(x), base(x)));
  CHECK(torch::allclose(only_a(x), a(x)));
  // The adapter tensors are the same objects in every model that holds them.
  CHECK(modify::get<"1.1.mlp.c_fc">(only_b)->adapters[0].A.is_same(modify::get<"1.1.mlp.c_fc">(ab)->adapters[1].A));
  CHECK(ab->named_parameters().contains("1.1.mlp.c_fc.lora_B.b.weight"));
  // Merging all of them equals the stacked model.
  CHECK(torch::allclose(modify::merge(ab)(x), ab(x), 1e-5, 1e-5));
  CHECK_FALSE(torch::allclose(only_b(x), ab(x)));
}

TEST_CASE("convolutions and embeddings take adapters too") {
  torch::manual_seed(4);
  auto base = modify::Sequential(modify::named<"wte">(torch::nn::Embedding(20, 6)), modify::named<"t">(torch::nn::Flatten(torch::nn::FlattenOptions().start_dim(1))),
                                 modify::named<"u">(torch::nn::Unflatten(1, std::vector<int64_t>{6, 5})),
                                 modify::named<"conv">(torch::nn::Conv1d(torch::nn::Conv1dOptions(6, 4, 3).padding(1))),
                                 modify::named<"head">(torch::nn::Conv1d(4, 2, 1)));
  auto ids = torch::randint(20, {2, 5});
  auto transposed_ids = ids;  // [2, 5] -> embed [2, 5, 6] -> flatten/unflatten to [2, 6, 5] (a reshape, fine for a test)
  auto adapted = modify::lora(base, {.rank = 2}, modify::select::path<"wte"> || modify::select::path<"conv">);
  CHECK(torch::equal(adapted(transposed_ids), base(transposed_ids)));
  {
    torch::NoGradGuard no_grad;
    for (auto& t : modify::trainable_parameters(adapted)) t.normal_();
  }
  CHECK(adapted->named_parameters().contains("wte.lora_embedding_A.default"));
  CHECK(torch::allclose(modify::merge(adapted)(ids), adapted(ids), 1e-4, 1e-5));
  auto conv2d = modify::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 5, 3).stride(2).padding(1)));
  auto conv2d_adapted = modify::lora(conv2d, {.rank = 2}, modify::select::leaf);
  {
    torch::NoGradGuard no_grad;
    for (auto& t : modify::trainable_parameters(conv2d_adapted)) t.normal_();
  }
  auto image = torch::randn({1, 3, 9, 9});
  CHECK(torch::allclose(modify::merge(conv2d_adapted)(image), conv2d_adapted(image), 1e-4, 1e-5));
}

TEST_CASE("adapters alone save and load; a fresh adapted model then reproduces the outputs exactly") {
  torch::manual_seed(5);
  auto base = mlp();
  auto trained = modify::lora(base, {.rank = 4}, fc_layers);
  {
    torch::NoGradGuard no_grad;
    for (auto& t : modify::trainable_parameters(trained)) t.normal_();
  }
  const auto file = temp_path("adapter.safetensors");
  modify::save_adapter(trained, file);
  auto fresh = modify::lora(base, {.rank = 4}, fc_layers);
  auto x = torch::randn({3, 4});
  CHECK_FALSE(torch::equal(fresh(x), trained(x)));
  modify::load_adapter(fresh, file);
  CHECK(torch::equal(fresh(x), trained(x)));
  // A safetensors file with PEFT's keys and metadata.
  const auto saved = modify::safetensors::File::open(file);
  auto keys = saved.names();
  std::sort(keys.begin(), keys.end());
  const std::vector<std::string> expected{
      "base_model.model.1.1.mlp.c_fc.lora_A.weight", "base_model.model.1.1.mlp.c_fc.lora_B.weight",
      "base_model.model.1.1.mlp.c_proj.lora_A.weight", "base_model.model.1.1.mlp.c_proj.lora_B.weight"};
  CHECK(keys == expected);
  CHECK(saved.metadata().at("format") == "pt");
  std::filesystem::remove(file);
}

TEST_CASE("a bad adapter file is refused whole, and the model is left as it was") {
  torch::manual_seed(6);
  auto base = mlp();
  auto small = modify::lora(base, {.rank = 2}, fc_layers);
  const auto file = temp_path("adapter_rank2.safetensors");
  modify::save_adapter(small, file);
  auto model = modify::lora(base, {.rank = 4}, fc_layers);
  auto x = torch::randn({2, 4});
  const auto before = model(x);
  CHECK_THROWS_WITH_AS(modify::load_adapter(model, file), doctest::Contains("'base_model.model.1.1.mlp.c_fc.lora_A.weight' is [2, 8] Float, the model has [4, 8] Float"),
                       modify::LoadError);
  CHECK(torch::equal(model(x), before));
  auto only_fc = modify::lora(base, {.rank = 2}, modify::select::name<"c_fc">);
  CHECK_THROWS_WITH_AS(modify::load_adapter(only_fc, file), doctest::Contains("unexpected 'base_model.model.1.1.mlp.c_proj.lora_A.weight'"),
                       modify::LoadError);
  {
    std::ofstream truncated(file, std::ios::trunc);
    truncated << "not a safetensors file";
  }
  CHECK_THROWS_WITH_AS(modify::load_adapter(model, file), doctest::Contains("is this a safetensors file?"),
                       modify::safetensors::FormatError);
  CHECK(torch::equal(model(x), before));
  std::filesystem::remove(file);
}

TEST_CASE("whole adapted models round-trip through torch::save and torch::load") {
  torch::manual_seed(7);
  auto adapted = modify::lora(mlp(), {.rank = 2}, fc_layers);
  {
    torch::NoGradGuard no_grad;
    for (auto& t : modify::trainable_parameters(adapted)) t.normal_();
  }
  std::stringstream stream;
  torch::save(adapted, stream);
  auto restored = modify::lora(mlp(), {.rank = 2}, fc_layers);
  torch::load(restored, stream);
  auto x = torch::randn({2, 4});
  CHECK(torch::equal(restored(x), adapted(x)));
}

TEST_CASE("bad options are refused, naming the problem") {
  auto base = mlp();
  CHECK_THROWS_WITH_AS(modify::lora(base, {.rank = 0}, fc_layers), doctest::Contains("rank must be positive"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(modify::lora(base, {.dropout = 1.0}, fc_layers), doctest::Contains("dropout"), std::invalid_argument);
  // The walk tells a name selector only the module's own name; errors still give the whole path.
  auto with_embedding = modify::Sequential(
      torch::nn::Linear(2, 2),
      modify::Sequential(modify::named<"embed">(torch::nn::Embedding(torch::nn::EmbeddingOptions(5, 2).max_norm(1.0)))));
  CHECK_THROWS_WITH_AS(modify::lora(with_embedding, {.rank = 1}, modify::select::name<"embed">),
                       doctest::Contains("module '1.embed' is an Embedding with max_norm"), std::invalid_argument);
  auto grouped = modify::Sequential(modify::named<"g">(torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 1).groups(2))));
  CHECK_THROWS_WITH_AS(modify::lora(grouped, {}, modify::select::leaf), doctest::Contains("module 'g' is a grouped convolution"),
                       std::invalid_argument);
}
