// Interoperability with real architectures' checkpoints: ResNet-18 (torchvision), GPT-2 and Llama
// (Hugging Face layouts), written with modify (examples/models/*.hpp), load the safetensors files
// PyTorch wrote (tests/fixtures/generate_interop.py, run at build time into the build dir) through
// modify::load and the models' KeyMaps, and match the logits of PyTorch's forward.
#include <modify/modify.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include "fixtures.hpp"
#include "models/gpt2.hpp"
#include "models/llama.hpp"
#include "models/resnet.hpp"

#ifndef MODIFY_TEST_GENERATED_DIR
#error "MODIFY_TEST_GENERATED_DIR must name the directory generate_interop.py writes to (see tests/meson.build)"
#endif

namespace {

std::string generated(const std::string& file) { return std::string(MODIFY_TEST_GENERATED_DIR) + "/" + file; }

// The reference forward's input and logits (<model>.reference.pt).
modify_test::Fixture reference(const std::string& model) { return modify_test::Fixture(generated(model + ".reference.pt")); }

// max |actual - expected| / (atol + rtol |expected|): at most 1 exactly when allclose(actual, expected, rtol, atol).
double tolerance_used(const torch::Tensor& actual, const torch::Tensor& expected, double rtol, double atol) {
  return ((actual - expected).abs() / (atol + rtol * expected.abs())).max().item<double>();
}

// Loads <model>.safetensors strictly through `keys`, then compares the logits with PyTorch's.
template <class M>
void check_logits(M& model, const std::string& name, const modify::KeyMap& keys, std::size_t tensors, double rtol,
                  double atol) {
  const modify::LoadReport report = modify::load(model, generated(name + ".safetensors"), {.keys = keys});
  CHECK(report.complete());
  CHECK(report.loaded == tensors);
  std::unordered_set<const void*> objects;  // a tied tensor is listed under each of its names
  for (const auto& [key, tensor] : modify::state_dict(model)) objects.insert(tensor.unsafeGetTensorImpl());
  CHECK(report.loaded == objects.size());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto f = reference(name);
  const torch::Tensor logits = model(f["input"]);
  REQUIRE(logits.sizes() == f["logits"].sizes());
  MESSAGE(name << ": max |logits - PyTorch's| = " << (logits - f["logits"]).abs().max().item<double>()
               << ", max |logits| = " << f["logits"].abs().max().item<double>()
               << ", tolerance used: " << tolerance_used(logits, f["logits"], rtol, atol));
  CHECK(tolerance_used(logits, f["logits"], rtol, atol) <= 1);
}

models::GPT2Config tiny_gpt2() { return {.vocab_size = 96, .n_positions = 32, .n_embd = 64, .n_head = 4}; }

// The next-token loss of `model` on ids [B, T] (each position predicts the next id).
template <class M>
torch::Tensor next_token_loss(M& model, const torch::Tensor& ids) {
  const auto logits = model(ids.slice(1, 0, -1));
  return torch::nn::functional::cross_entropy(logits.flatten(0, 1), ids.slice(1, 1).flatten());
}

}  // namespace

TEST_CASE("ResNet-18 written with modify loads torchvision's resnet18 state dict and matches its logits") {
  auto model = models::resnet18(10);
  // torchvision's state dict: 62 parameters, 60 BatchNorm buffers. fp32 convolutions summed in
  // other orders than PyTorch's may differ by ~1e-6 relative; 1e-4 as the issue asks.
  check_logits(model, "resnet18", models::torchvision_resnet_keys(), 122, 1e-4, 1e-4);
  // The running statistics went to the parameter-free norms, the affine parts to ElementwiseAffine.
  const auto file = modify::safetensors::File::open(generated("resnet18.safetensors"));
  CHECK(torch::equal(modify::get<"layer3.1.1.0.bn2.0">(model)->running_var, file.tensor("layer3.1.bn2.running_var")));
  CHECK(torch::equal(modify::get<"layer2.0.1.downsample.1.1">(model)->weight, file.tensor("layer2.0.downsample.1.weight")));
}

TEST_CASE("GPT-2 written with modify loads a Hugging Face GPT-2 state dict (Conv1D transposed) and matches its logits") {
  auto model = models::gpt2<2>(tiny_gpt2());
  // As Hugging Face's own file, it has no lm_head.weight: the head is wte's tensor, loaded by that name.
  const auto file = modify::safetensors::File::open(generated("gpt2.safetensors"));
  const auto& keys = file.names();
  REQUIRE_FALSE(file.contains("lm_head.weight"));
  // wte, wpe, ln_f (2); 12 per block. Same kernels as PyTorch's: 1e-5.
  check_logits(model, "gpt2", models::hf_gpt2_keys(), 4 + 2 * 12, 1e-5, 1e-5);
  CHECK(torch::equal(modify::get<"transformer.h.1.0.1.1.attn.c_attn">(model)->weight,
                     file.tensor("transformer.h.1.attn.c_attn.weight").t()));
  CHECK(torch::equal(modify::get<"lm_head">(model)->weight, file.tensor("transformer.wte.weight")));
  // Saved the other way, the model gives back the file's keys: lm_head.weight left out, as Hugging Face does.
  std::vector<std::string> saved;
  for (const auto& [key, tensor] : models::hf_gpt2_state_dict(model)) saved.push_back(key);
  CHECK(std::is_permutation(saved.begin(), saved.end(), keys.begin(), keys.end()));
}

TEST_CASE("GPT-2's lm_head is wte's tensor: registered under both names, one gradient, one optimizer step") {
  torch::manual_seed(3);
  auto model = models::gpt2<1>(tiny_gpt2());
  const torch::Tensor& wte = modify::get<"transformer.wte">(model)->weight;
  CHECK(modify::get<"lm_head">(model)->weight.is_same(wte));
  const auto parameters = model->named_parameters();
  CHECK(parameters["lm_head.weight"].is_same(wte));
  CHECK(parameters["transformer.wte.weight"].is_same(wte));
  // The optimizer gets the tensor once (LibTorch's parameters() lists it twice: two steps per step).
  const auto trainable = modify::trainable_parameters(model);
  CHECK(trainable.size() + 1 == parameters.size());
  CHECK(std::count_if(trainable.begin(), trainable.end(), [&](const auto& p) { return p.is_same(wte); }) == 1);

  // Untied, a copy has the two uses' gradients apart; tied, the one tensor gets their sum.
  auto untied = modify::clone(model);
  CHECK_FALSE(modify::get<"lm_head">(untied)->weight.is_same(modify::get<"transformer.wte">(untied)->weight));
  const auto ids = torch::randint(0, 48, {2, 12});  // ids of the vocabulary's first half only
  next_token_loss(model, ids).backward();
  next_token_loss(untied, ids).backward();
  const auto expected =
      modify::get<"transformer.wte">(untied)->weight.grad() + modify::get<"lm_head">(untied)->weight.grad();
  CHECK(torch::allclose(wte.grad(), expected, 1e-5, 1e-7));
  // Rows 48.. are no input's embedding: their gradient comes through the head alone.
  CHECK(wte.grad().slice(0, 48).abs().max().item<double>() > 0);

  const auto before = wte.detach().clone();
  const double lr = 0.1;
  torch::optim::SGD optimizer(trainable, torch::optim::SGDOptions(lr));
  optimizer.step();
  CHECK(torch::allclose(wte, before - lr * wte.grad(), 0, 1e-6));             // one step...
  CHECK_FALSE(torch::allclose(wte, before - 2 * lr * wte.grad(), 0, 1e-6));  // ...not one per name
  CHECK(torch::equal(modify::get<"lm_head">(model)->weight, wte));

  // tie_lm_head ties a clone again.
  models::tie_lm_head(untied);
  CHECK(modify::get<"lm_head">(untied)->weight.is_same(modify::get<"transformer.wte">(untied)->weight));
}

TEST_CASE("a GPT-2 file with lm_head.weight too loads if it equals wte's; otherwise it is refused, the model unchanged") {
  auto tensors = modify::safetensors::load(generated("gpt2.safetensors"));
  at::Tensor wte;
  for (const auto& [key, tensor] : tensors)
    if (key == "transformer.wte.weight") wte = tensor;
  REQUIRE(wte.defined());
  const std::string tied = modify_test::temp_path("gpt2_tied.safetensors");
  const std::string untied = modify_test::temp_path("gpt2_untied.safetensors");
  tensors.emplace_back("lm_head.weight", wte);  // as state_dict() lists a tied tensor: under both names
  modify::safetensors::save(tied, tensors);
  tensors.back().second = wte + 1;  // a checkpoint of an untied model
  modify::safetensors::save(untied, tensors);

  auto model = models::gpt2<2>(tiny_gpt2());
  const auto report = modify::load(model, tied, {.keys = models::hf_gpt2_keys()});
  CHECK(report.complete());
  CHECK(report.loaded == 4 + 2 * 12 + 1);
  CHECK(torch::equal(modify::get<"lm_head">(model)->weight, wte));

  auto fresh = models::gpt2<2>(tiny_gpt2());
  const auto before = modify_test::snapshot(fresh);
  CHECK_THROWS_WITH_AS(modify::load(fresh, untied, {.keys = models::hf_gpt2_keys()}),
                       doctest::Contains("'transformer.wte.weight' and 'lm_head.weight' give different values to one "
                                         "tensor (tied: 'transformer.wte.weight' is 'lm_head.weight')"),
                       modify::LoadError);
  CHECK(modify_test::unchanged(fresh, before));
}

TEST_CASE("Llama written with modify loads a Hugging Face Llama state dict and matches its logits") {
  auto model = models::llama<2>({.vocab_size = 96, .hidden_size = 64, .intermediate_size = 160,
                                 .num_attention_heads = 4, .num_key_value_heads = 2, .rope_theta = 500000});
  // embed_tokens, norm, lm_head; 9 per layer. Same kernels as PyTorch's: 1e-5.
  check_logits(model, "llama", models::hf_llama_keys(), 3 + 2 * 9, 1e-5, 1e-5);
}

TEST_CASE("a checkpoint with a renamed key is refused, naming the key, and the model is left as it was") {
  // The GPT-2 file with transformer.h.1.mlp.c_fc.weight renamed, as a checkpoint of another version might.
  auto tensors = modify::safetensors::load(generated("gpt2.safetensors"));
  for (auto& [key, tensor] : tensors)
    if (key == "transformer.h.1.mlp.c_fc.weight") key = "transformer.h.1.mlp.fc.weight";
  const std::string renamed = generated("gpt2_renamed_key.safetensors");
  modify::safetensors::save(renamed, tensors);

  auto model = models::gpt2<2>(tiny_gpt2());
  const auto before = modify_test::snapshot(model);
  try {
    modify::load(model, renamed, {.keys = models::hf_gpt2_keys()});
    FAIL("the load did not fail");
  } catch (const modify::LoadError& e) {
    const std::string message = e.what();
    CHECK(message.find("missing 'transformer.h.1.1.1.1.mlp.c_fc.weight'") != std::string::npos);
    CHECK(message.find("unexpected 'transformer.h.1.mlp.fc.weight' (as 'transformer.h.1.1.1.1.mlp.fc.weight')") !=
          std::string::npos);
    CHECK(e.report().missing == std::vector<std::string>{"transformer.h.1.1.1.1.mlp.c_fc.weight"});
    CHECK(e.report().unexpected == std::vector<std::string>{"transformer.h.1.mlp.fc.weight"});
  }
  CHECK(modify_test::unchanged(model, before));
  std::filesystem::remove(renamed);
}
