// Tests for modify/io/state_dict.hpp: load/save of models through safetensors, strictness and its
// report, all-or-nothing loading, dtype conversion, shared tensors, and KeyMap rules.
#include <modify/io/state_dict.hpp>
#include <modify/modify.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <filesystem>

namespace {

using modify_test::same_tensors;
using modify_test::snapshot;
using modify_test::temp_path;
using modify_test::unchanged;

auto mlp() {
  return modify::Sequential(modify::named<"fc1">(torch::nn::Linear(4, 8)), modify::named<"act">(torch::nn::ReLU()),
                            modify::named<"fc2">(torch::nn::Linear(8, 3)));
}

// The first message line of a LoadError thrown by f, with the report.
template <class F>
modify::LoadError load_error(F&& f) {
  try {
    f();
  } catch (const modify::LoadError& e) {
    return e;
  }
  FAIL("no LoadError thrown");
  return modify::LoadError("", {});
}

}  // namespace

TEST_CASE("save then load round-trips a model bitwise, into existing tensors") {
  torch::manual_seed(1);
  auto a = mlp(), b = mlp();
  const auto path = temp_path("mlp.safetensors");
  modify::save(a, path, {{"format", "pt"}});
  CHECK(modify::safetensors::File::open(path).names() ==
        std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"});
  const at::Tensor fc1_weight = b->named_parameters()["fc1.weight"];
  CHECK_FALSE(torch::equal(fc1_weight, a->named_parameters()["fc1.weight"]));
  const auto report = modify::load(b, path);
  CHECK(report.loaded == 4);
  CHECK(report.complete());
  CHECK(same_tensors(snapshot(a), snapshot(b)));
  // Written into the existing tensor objects (anything sharing them sees the new values).
  CHECK(b->named_parameters()["fc1.weight"].unsafeGetTensorImpl() == fc1_weight.unsafeGetTensorImpl());
  CHECK(b->named_parameters()["fc1.weight"].requires_grad());
  auto x = torch::randn({2, 4});
  CHECK(torch::equal(a(x), b(x)));
  std::filesystem::remove(path);
}

TEST_CASE("strict loading reports every problem at once and leaves the model bitwise unchanged") {
  torch::manual_seed(2);
  auto model = mlp();
  const auto before = snapshot(model);
  modify::NamedTensors tensors{{"fc1.weight", torch::randn({8, 4})},
                               {"fc1.bias", torch::randn({5})},              // wrong shape
                               {"fc2.weight", torch::randn({3, 8}, torch::kDouble)},  // wrong dtype
                               {"extra.weight", torch::randn({1})}};         // fc2.bias missing
  const auto e = load_error([&] { modify::load_state_dict(model, tensors); });
  const std::string message = e.what();
  CHECK(message.find("modify: load_state_dict") == 0);
  CHECK(message.find("nothing was loaded") != std::string::npos);
  CHECK(message.find("missing 'fc2.bias'") != std::string::npos);
  CHECK(message.find("unexpected 'extra.weight'") != std::string::npos);
  CHECK(message.find("'fc1.bias' is [5] Float, the model has [8] Float") != std::string::npos);
  CHECK(message.find("'fc2.weight' is [3, 8] Double, the model has [3, 8] Float") != std::string::npos);
  CHECK(e.report().missing == std::vector<std::string>{"fc2.bias"});
  CHECK(e.report().unexpected == std::vector<std::string>{"extra.weight"});
  CHECK(e.report().mismatched.size() == 2);
  CHECK(unchanged(model, before));  // fc1.weight was valid, yet not written

  // Not strict: a mismatch still refuses the whole load (as PyTorch does)...
  CHECK_THROWS_AS(modify::load_state_dict(model, tensors, {.strict = false}), modify::LoadError);
  CHECK(unchanged(model, before));
  // ...while missing and unexpected keys are reported and the intersection is loaded.
  const auto weight = torch::randn({8, 4});
  const auto report = modify::load_state_dict(model, {{"fc1.weight", weight}, {"extra", torch::ones({1})}}, {.strict = false});
  CHECK(report.loaded == 1);
  CHECK(report.unexpected == std::vector<std::string>{"extra"});
  CHECK(report.missing == std::vector<std::string>{"fc1.bias", "fc2.weight", "fc2.bias"});
  CHECK(report.str().find("missing 'fc2.bias'") != std::string::npos);
  CHECK(torch::equal(model->named_parameters()["fc1.weight"], weight));
  CHECK(torch::equal(model->named_parameters()["fc2.weight"], before.at("fc2.weight")));
}

TEST_CASE("dtypes are converted only when asked") {
  torch::manual_seed(3);
  auto model = mlp();
  auto tensors = modify::state_dict(model);
  modify::NamedTensors halves;
  for (const auto& [k, v] : tensors) halves.emplace_back(k, torch::randn_like(v).to(torch::kHalf));
  CHECK_THROWS_WITH_AS(modify::load_state_dict(model, halves), doctest::Contains("Half, the model has [8, 4] Float"), modify::LoadError);
  modify::load_state_dict(model, halves, {.convert_dtype = true});
  CHECK((model->named_parameters()["fc1.weight"].scalar_type() == torch::kFloat));
  CHECK(torch::equal(model->named_parameters()["fc1.weight"], halves[0].second.to(torch::kFloat)));
}

TEST_CASE("a malformed file refuses the load with a FormatError and the model is unchanged") {
  torch::manual_seed(4);
  auto model = mlp();
  const auto before = snapshot(model);
  const auto path = temp_path("truncated.safetensors");
  modify::save(model, path);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  CHECK_THROWS_WITH_AS(modify::load(model, path), doctest::Contains("past the"), modify::safetensors::FormatError);
  CHECK(unchanged(model, before));
  std::filesystem::remove(path);
}

TEST_CASE("a load writes shared tensors: a LoRA model over the base sees the loaded weights") {
  torch::manual_seed(5);
  auto base = mlp();
  auto adapted = modify::lora(base, {.rank = 2}, modify::select::name<"fc1">);
  auto other = mlp();
  const auto path = temp_path("shared.safetensors");
  modify::save(other, path);
  modify::load(base, path);
  auto x = torch::randn({2, 4});
  CHECK(torch::allclose(adapted(x), other(x)));  // B starts at zero: adapted == its (reloaded) base
  std::filesystem::remove(path);
}

TEST_CASE("a tensor registered under two names (tied weights) is loaded by either name, or both if they agree") {
  auto tied = std::make_shared<torch::nn::Module>();
  auto w = torch::zeros({2, 3});
  tied->register_parameter("wte", w);
  auto head = std::make_shared<torch::nn::Module>();
  head->register_parameter("weight", w);
  tied->register_module("lm_head", head);
  const auto value = torch::randn({2, 3});
  const auto report = modify::load_state_dict(*tied, {{"wte", value}});
  CHECK(report.missing.empty());
  CHECK(torch::equal(head->named_parameters()["weight"], value));
  CHECK(modify::load_state_dict(*tied, {{"wte", value * 2}, {"lm_head.weight", value * 2}}).complete());
  CHECK(torch::equal(w, value * 2));

  // Two different values for one tensor: which one landed would depend on the file's order.
  const auto before = snapshot(*tied);
  const auto e = load_error([&] { modify::load_state_dict(*tied, {{"wte", value}, {"lm_head.weight", value + 1}}); });
  CHECK(e.report().mismatched == std::vector<std::string>{"'wte' and 'lm_head.weight' give different values to one "
                                                          "tensor (tied: 'wte' is 'lm_head.weight')"});
  CHECK(unchanged(*tied, before));
}

TEST_CASE("KeyMap: exact and pattern renames, ignored keys, transforms, and keys mapped twice") {
  modify::KeyMap keys;
  keys.rename("wte.weight", "embed.weight")
      .rename("h.{n}.attn.c_attn.{p}", "blocks.{n}.qkv.{p}")
      .rename("*.ln_{i}.*", "*.norm{i}.*")
      .ignore("h.{n}.attn.bias")
      .transform("h.{n}.attn.c_attn.weight", modify::KeyMap::transposed);
  CHECK((keys.model_key("wte.weight") == "embed.weight"));
  CHECK((keys.model_key("h.11.attn.c_attn.weight") == "blocks.11.qkv.weight"));
  CHECK((keys.model_key("h.3.ln_2.bias") == "h.3.norm2.bias"));
  CHECK((keys.model_key("h.3.attn.bias") == std::nullopt));
  CHECK((keys.model_key("h.3.attn.c_attn.bias") == "blocks.3.qkv.bias"));
  CHECK((keys.model_key("lm_head.weight") == "lm_head.weight"));  // no rule: unchanged
  auto t = torch::arange(6).reshape({2, 3});
  CHECK(keys.apply("h.0.attn.c_attn.weight", t).sizes() == at::IntArrayRef{3, 2});
  CHECK(keys.apply("h.0.attn.c_attn.bias", t).sizes() == at::IntArrayRef{2, 3});
  // '{n}' does not cross a dot; '*' does.
  CHECK((modify::KeyMap().rename("a.{n}.w", "x").model_key("a.1.2.w") == "a.1.2.w"));
  CHECK((modify::KeyMap().rename("a.*.w", "x.*").model_key("a.1.2.w") == "x.1.2"));
  CHECK_THROWS_WITH_AS(modify::KeyMap().rename("a.*", "{m}").model_key("a.b"), doctest::Contains("'{m}', which is not in"),
                       std::invalid_argument);

  auto model = mlp();
  const auto e = load_error([&] {
    modify::load_state_dict(model, {{"l1.weight", torch::randn({8, 4})}, {"fc1.weight", torch::randn({8, 4})}},
                            {.strict = false, .keys = modify::KeyMap().rename("l1.*", "fc1.*")});
  });
  CHECK(std::string(e.what()).find("'l1.weight' and 'fc1.weight' both map to 'fc1.weight'") != std::string::npos);
}

TEST_CASE("KeyMap: a GPT-2 Conv1D checkpoint (transposed weights, HF names) loads into Linear layers") {
  torch::manual_seed(6);
  auto block = modify::Sequential(modify::named<"qkv">(torch::nn::Linear(4, 12)), modify::named<"proj">(torch::nn::Linear(12, 4)));
  auto model = modify::Sequential(modify::named<"blocks">(modify::Sequential(block, modify::Identity())));
  // GPT-2's Conv1D computes x @ W + b with W stored [in, out].
  const auto w_attn = torch::randn({4, 12}), b_attn = torch::randn({12}), w_proj = torch::randn({12, 4}), b_proj = torch::randn({4});
  const modify::NamedTensors file{{"h.0.attn.c_attn.weight", w_attn}, {"h.0.attn.c_attn.bias", b_attn},
                                  {"h.0.attn.c_proj.weight", w_proj}, {"h.0.attn.c_proj.bias", b_proj},
                                  {"h.0.attn.bias", torch::ones({1, 1, 4, 4})}};  // GPT-2's causal mask buffer
  const auto keys = modify::KeyMap()
                        .ignore("h.{n}.attn.bias")
                        .rename("h.{n}.attn.c_attn.{p}", "blocks.{n}.qkv.{p}")
                        .rename("h.{n}.attn.c_proj.{p}", "blocks.{n}.proj.{p}")
                        .transform("h.{n}.attn.c_*.weight", modify::KeyMap::transposed);
  const auto report = modify::load_state_dict(model, file, {.keys = keys});
  CHECK(report.loaded == 4);
  CHECK(report.ignored == std::vector<std::string>{"h.0.attn.bias"});
  auto x = torch::randn({5, 4});
  CHECK(torch::allclose(model(x), torch::matmul(torch::matmul(x, w_attn) + b_attn, w_proj) + b_proj, 1e-5, 1e-6));
  // A missing transform shows as a shape mismatch naming both keys.
  const auto e = load_error([&] {
    modify::load_state_dict(model, file, {.keys = modify::KeyMap().ignore("h.{n}.attn.bias").rename("h.{n}.attn.c_attn.{p}", "blocks.{n}.qkv.{p}")
                                                      .rename("h.{n}.attn.c_proj.{p}", "blocks.{n}.proj.{p}")});
  });
  CHECK(std::string(e.what()).find("'h.0.attn.c_attn.weight' (as 'blocks.0.qkv.weight') is [4, 12] Float, the model has [12, 4] Float") !=
        std::string::npos);
}

TEST_CASE("KeyMap::split_norm: torchvision-style BatchNorm keys load into modify's norm + ElementwiseAffine") {
  torch::manual_seed(7);
  // The PyTorch side: conv + BatchNorm2d with an affine part, as torchvision's ResNet stem.
  struct Stem : torch::nn::Module {
    torch::nn::Conv2d conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false)));
    torch::nn::BatchNorm2d bn1 = register_module("bn1", torch::nn::BatchNorm2d(4));
  };
  auto reference = std::make_shared<Stem>();
  reference->train();
  for (int i = 0; i < 3; ++i) reference->bn1(reference->conv1(torch::randn({2, 3, 8, 8})));  // running stats move
  {
    torch::NoGradGuard no_grad;
    reference->bn1->weight.normal_();
    reference->bn1->bias.normal_();
  }
  reference->eval();
  const auto path = temp_path("stem.safetensors");
  modify::save(*reference, path);

  auto model = modify::Sequential(modify::named<"conv1">(torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3).bias(false))),
                                  modify::named<"bn1">(modify::Sequential(modify::BatchNorm2d(4), modify::ElementwiseAffine::channels(4))));
  const auto report = modify::load(model, path, {.keys = modify::KeyMap().split_norm("bn{i}")});
  CHECK(report.loaded == 6);
  CHECK(torch::equal(model->named_buffers()["bn1.0.num_batches_tracked"], torch::tensor(3, torch::kLong)));
  model->eval();
  auto x = torch::randn({2, 3, 8, 8});
  CHECK(torch::allclose(model(x), reference->bn1(reference->conv1(x)), 1e-5, 1e-6));
  std::filesystem::remove(path);
}
