// Interoperability with real architectures' checkpoints: ResNet-18 (torchvision), GPT-2 and Llama
// (Hugging Face layouts), written with modify (examples/models/*.hpp), load the state dicts PyTorch
// wrote (tests/fixtures/generate_interop.py, run at build time into the build dir) and match the
// logits of PyTorch's forward.
#include <modify/modify.hpp>

#include <map>
#include <regex>
#include <string>
#include <utility>
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

const modify_test::Fixture& reference(const std::string& model) {
  static std::map<std::string, modify_test::Fixture> loaded;
  auto found = loaded.find(model);
  if (found == loaded.end())
    found = loaded.emplace(model, modify_test::Fixture(std::string(MODIFY_TEST_GENERATED_DIR) + "/" + model +
                                                       ".reference.pt")).first;
  return found->second;
}

struct Rule {
  std::regex pattern;
  std::string replacement;
};

// TEMPORARY, until modify::load and KeyMap land: the file's tensors ("state.<key>" in the reference
// file), renamed by every rule in turn (regex_replace), transposed where `transposed` matches the
// file key, copied into the model; every model tensor must be given.
template <class M>
std::size_t load_reference_state(M& model, const std::string& name, const std::vector<Rule>& rules,
                                 const std::regex& transposed = std::regex("$^")) {
  std::map<std::string, torch::Tensor> renamed;
  for (const auto& [key, tensor] : reference(name).tensors()) {
    if (key.rfind("state.", 0) != 0) continue;
    std::string file_key = key.substr(6), model_key = file_key;
    for (const auto& rule : rules) model_key = std::regex_replace(model_key, rule.pattern, rule.replacement);
    renamed[model_key] = std::regex_match(file_key, transposed) ? tensor.t() : tensor;
  }
  torch::NoGradGuard no_grad;
  std::size_t loaded = 0;
  auto copy_all = [&](const auto& named) {
    for (const auto& item : named) {
      CAPTURE(item.key());
      REQUIRE(renamed.count(item.key()) == 1);
      REQUIRE(renamed[item.key()].sizes() == item.value().sizes());
      item.value().copy_(renamed[item.key()]);
      ++loaded;
    }
  };
  copy_all(model->named_parameters());
  copy_all(model->named_buffers());
  return loaded;
}

// max |actual - expected| / (atol + rtol |expected|): at most 1 when allclose(actual, expected, rtol, atol).
double tolerance_used(const torch::Tensor& actual, const torch::Tensor& expected, double rtol, double atol) {
  return ((actual - expected).abs() / (atol + rtol * expected.abs())).max().item<double>();
}

}  // namespace

TEST_CASE("ResNet-18 written with modify loads torchvision's resnet18 state dict and matches its logits") {
  torch::manual_seed(0);
  auto model = models::resnet18(10);
  const std::size_t loaded = load_reference_state(
      model, "resnet18",
      {{std::regex(R"(^(layer\d\.\d)\.(conv|bn))"), "$1.1.0.$2"},
       {std::regex(R"(^(layer\d\.\d)\.downsample)"), "$1.1.downsample"},
       {std::regex(R"((bn\d|downsample\.1)\.(weight|bias)$)"), "$1.1.$2"},
       {std::regex(R"((bn\d|downsample\.1)\.(running_mean|running_var|num_batches_tracked)$)"), "$1.0.$2"}});
  CHECK(loaded == 122);  // torchvision's state dict: 62 parameters, 60 buffers
  model->eval();
  torch::NoGradGuard no_grad;
  const auto& f = reference("resnet18");
  auto logits = model(f["input"]);
  REQUIRE(logits.sizes() == f["logits"].sizes());
  MESSAGE("ResNet-18: max |diff| " << (logits - f["logits"]).abs().max().item<double>());
  CHECK(tolerance_used(logits, f["logits"], 1e-4, 1e-4) <= 1);
}

TEST_CASE("GPT-2 written with modify loads a Hugging Face GPT-2 state dict (Conv1D transposed) and matches its logits") {
  torch::manual_seed(0);
  const models::GPT2Config config{.vocab_size = 96, .n_positions = 32, .n_embd = 64, .n_head = 4};
  auto model = models::gpt2<2>(config);
  const std::size_t loaded = load_reference_state(
      model, "gpt2",
      {{std::regex(R"(^transformer\.h\.(\d+)\.ln_1\.)"), "transformer.h.$1.0.1.1.ln_1.1."},
       {std::regex(R"(^transformer\.h\.(\d+)\.attn\.)"), "transformer.h.$1.0.1.1.attn."},
       {std::regex(R"(^transformer\.h\.(\d+)\.ln_2\.)"), "transformer.h.$1.1.1.1.ln_2.1."},
       {std::regex(R"(^transformer\.h\.(\d+)\.mlp\.)"), "transformer.h.$1.1.1.1.mlp."},
       {std::regex(R"(^transformer\.ln_f\.)"), "transformer.ln_f.1."}},
      std::regex(R"(.*\.(c_attn|c_proj|c_fc)\.weight)"));
  CHECK(loaded == 5 + 2 * 12);  // wte, wpe, ln_f (2), lm_head; 12 per block
  model->eval();
  torch::NoGradGuard no_grad;
  const auto& f = reference("gpt2");
  auto logits = model(f["input"]);
  REQUIRE(logits.sizes() == f["logits"].sizes());
  MESSAGE("GPT-2: max |diff| " << (logits - f["logits"]).abs().max().item<double>());
  CHECK(tolerance_used(logits, f["logits"], 1e-5, 1e-5) <= 1);
}

TEST_CASE("Llama written with modify loads a Hugging Face Llama state dict and matches its logits") {
  torch::manual_seed(0);
  const models::LlamaConfig config{.vocab_size = 96, .hidden_size = 64, .intermediate_size = 160,
                                   .num_attention_heads = 4, .num_key_value_heads = 2, .rope_theta = 500000};
  auto model = models::llama<2>(config);
  const std::string layer = R"(^model\.layers\.(\d+)\.)";
  const std::size_t loaded = load_reference_state(
      model, "llama",
      {{std::regex(layer + R"(input_layernorm\.)"), "model.layers.$1.0.1.1.input_layernorm.1."},
       {std::regex(layer + R"(self_attn\.q_proj)"), "model.layers.$1.0.1.1.self_attn.1.0.q_proj"},
       {std::regex(layer + R"(self_attn\.k_proj)"), "model.layers.$1.0.1.1.self_attn.1.1.k_proj"},
       {std::regex(layer + R"(self_attn\.v_proj)"), "model.layers.$1.0.1.1.self_attn.1.2.v_proj"},
       {std::regex(layer + R"(self_attn\.o_proj)"), "model.layers.$1.0.1.1.self_attn.o_proj"},
       {std::regex(layer + R"(post_attention_layernorm\.)"), "model.layers.$1.1.1.1.post_attention_layernorm.1."},
       {std::regex(layer + R"(mlp\.gate_proj)"), "model.layers.$1.1.1.1.mlp.1.0.gate_proj"},
       {std::regex(layer + R"(mlp\.up_proj)"), "model.layers.$1.1.1.1.mlp.1.up_proj"},
       {std::regex(layer + R"(mlp\.down_proj)"), "model.layers.$1.1.1.1.mlp.down_proj"},
       {std::regex(R"(^model\.norm\.)"), "model.norm.1."}});
  CHECK(loaded == 3 + 2 * 9);  // embed_tokens, norm, lm_head; 9 per layer
  torch::NoGradGuard no_grad;
  const auto& f = reference("llama");
  auto logits = model(f["input"]);
  REQUIRE(logits.sizes() == f["logits"].sizes());
  MESSAGE("Llama: max |diff| " << (logits - f["logits"]).abs().max().item<double>());
  CHECK(tolerance_used(logits, f["logits"], 1e-5, 1e-5) <= 1);
}
