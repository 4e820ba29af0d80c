// nanoGPT written with modify: a character-level GPT trained on the GPL-3 text, sampled; then LoRA
// fine-tuning on the Apache-2.0 text while the base model keeps producing its original samples;
// then the model saved in Hugging Face's GPT-2 layout and loaded back through the GPT-2 KeyMap.
//
//   build/examples/nanogpt [--steps 600] [--lora-steps 200] [--batch-size 32] [--block-size 64]
//                          [--layers 4] [--width 128] [--heads 4] [--threads 2] [--out nanogpt_out] [--help]
//
// Texts: /usr/share/common-licenses/GPL-3 and Apache-2.0, from Debian's base-files (always installed).
// Exits non-zero when one of its own checks fails (loss falls, base intact after LoRA, reload exact).
#include <modify/io/safetensors.hpp>
#include <modify/io/state_dict.hpp>
#include <modify/modify.hpp>
#include <modify/summary.hpp>
#include <modify/transform/lora.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/checks.hpp"
#include "common/flags.hpp"
#include "common/progress.hpp"
#include "models/gpt2.hpp"

namespace {

struct Options {
  int steps = 600, lora_steps = 200, batch_size = 32, block_size = 64, layers = 4, width = 128, heads = 4, threads = 2;
  int sample_length = 300, top_k = 10;
  double learning_rate = 2e-3, lora_learning_rate = 2e-3, temperature = 0.8;
  std::string out = "nanogpt_out", text = "/usr/share/common-licenses/GPL-3",
              second_text = "/usr/share/common-licenses/Apache-2.0";
};

// ---- data --------------------------------------------------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + " (Debian's base-files package installs it)");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) throw std::runtime_error(path + " is empty (Debian's base-files package installs it)");
  return text.str();
}

// Vocabulary: the characters (bytes) of both texts, sorted; a token is a character's index.
struct Vocabulary {
  std::string chars;
  std::array<int64_t, 256> index{};

  explicit Vocabulary(const std::vector<std::string>& texts) {
    std::array<bool, 256> seen{};
    for (const auto& t : texts)
      for (unsigned char c : t) seen[c] = true;
    for (int c = 0; c < 256; ++c)
      if (seen[c]) index[c] = int64_t(chars.size()), chars.push_back(char(c));
  }
  int64_t size() const { return int64_t(chars.size()); }
  torch::Tensor encode(const std::string& text) const {
    auto out = torch::empty({int64_t(text.size())}, torch::kInt64);
    auto* p = out.data_ptr<int64_t>();
    for (unsigned char c : text) *p++ = index[c];
    return out;
  }
  std::string decode(const torch::Tensor& tokens) const {
    std::string out;
    const auto t = tokens.contiguous();
    for (int64_t i = 0; i < t.numel(); ++i) out.push_back(chars[t.data_ptr<int64_t>()[i]]);
    return out;
  }
};

// batch(data, ...): `batch_size` random windows of `block` tokens and the same windows shifted by
// one (the next-character targets), each [batch_size, block].
std::pair<torch::Tensor, torch::Tensor> batch(const torch::Tensor& data, int64_t batch_size, int64_t block,
                                              at::Generator generator = at::detail::getDefaultCPUGenerator()) {
  const auto starts = torch::randint(data.size(0) - block - 1, {batch_size, 1}, generator, torch::dtype(torch::kInt64));
  const auto index = starts + torch::arange(block, torch::kInt64);
  return {data.index_select(0, index.flatten()).view_as(index), data.index_select(0, (index + 1).flatten()).view_as(index)};
}

// ---- training, evaluation and sampling ---------------------------------------------------------

template <class M>
torch::Tensor loss_of(M& model, const torch::Tensor& x, const torch::Tensor& y) {
  const auto logits = model(x);
  return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), y.reshape({-1}));
}

// A fixed evaluation set per text (same windows before and after training): its mean loss.
struct EvalSet {
  std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
  EvalSet(const torch::Tensor& data, const Options& o, uint64_t seed) {
    auto generator = at::detail::createCPUGenerator(seed);
    for (int i = 0; i < 4; ++i) batches.push_back(batch(data, o.batch_size, o.block_size, generator));
  }
  template <class M>
  double loss(M& model) const {
    torch::NoGradGuard no_grad;
    model->eval();
    double total = 0;
    for (const auto& [x, y] : batches) total += loss_of(model, x, y).template item<double>();
    return total / double(batches.size());
  }
};

std::string figures(double loss, double lr) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(4) << "loss " << loss << "  lr " << std::scientific << std::setprecision(1) << lr;
  return out.str();
}

// train(model, parameters, ...): AdamW on `parameters`, a linear warm-up then linear decay to a
// tenth of the peak, for `steps` random batches of `data`.
template <class M>
void train(M& model, std::vector<torch::Tensor> parameters, const torch::Tensor& data, int steps, double peak_lr,
           const Options& o, const std::string& what) {
  torch::optim::AdamW optimizer(std::move(parameters), torch::optim::AdamWOptions(peak_lr).weight_decay(0.01));
  const int warmup = std::max(1, steps / 20);
  examples::ProgressBar bar(what, steps, "tok", int64_t(o.batch_size) * o.block_size);
  model->train();
  double running = 0, lr = 0;
  for (int step = 0; step < steps; ++step) {
    lr = peak_lr * (step < warmup ? double(step + 1) / warmup : 1.0 - 0.9 * double(step - warmup) / double(steps - warmup));
    for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
    const auto [x, y] = batch(data, o.batch_size, o.block_size);
    optimizer.zero_grad();
    const auto loss = loss_of(model, x, y);
    loss.backward();
    torch::nn::utils::clip_grad_norm_(optimizer.param_groups()[0].params(), 1.0);
    optimizer.step();
    const double l = loss.template item<double>();
    running = step == 0 ? l : 0.95 * running + 0.05 * l;
    bar.update(step + 1, figures(running, lr));
  }
  bar.finish(figures(running, lr));
}

// sample(model, ...): `length` characters after `prompt`, each drawn from the top_k most likely
// next characters at `temperature`, with a generator of its own seeded with `seed`: the same model
// and seed give the same text.
template <class M>
std::string sample(M& model, const Vocabulary& vocabulary, const std::string& prompt, const Options& o, uint64_t seed) {
  torch::NoGradGuard no_grad;
  model->eval();
  auto generator = at::detail::createCPUGenerator(seed);
  auto tokens = vocabulary.encode(prompt).unsqueeze(0);
  for (int i = 0; i < o.sample_length; ++i) {
    const auto context = tokens.slice(1, std::max<int64_t>(0, tokens.size(1) - o.block_size));
    auto logits = model(context).select(1, -1).squeeze(0) / o.temperature;  // [vocab]
    const auto [top, top_index] = logits.topk(std::min<int64_t>(o.top_k, logits.size(0)));
    const auto choice = torch::multinomial(torch::softmax(top, 0), 1, false, generator);
    tokens = torch::cat({tokens, top_index.index_select(0, choice).view({1, 1})}, 1);
  }
  return vocabulary.decode(tokens.squeeze(0));
}

std::string loss_change(const std::string& what, double before, double after) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << what << " (" << before << " -> " << after << ")";
  return out.str();
}

void show(const std::string& title, const std::string& text) {
  std::cout << "---- " << title << " ----\n" << text << "\n---------\n";
}

template <std::size_t Layers>
int run(const Options& o) {
  const auto wall_start = std::chrono::steady_clock::now();
  const std::string first_text = read_text(o.text), second_text = read_text(o.second_text);
  const Vocabulary vocabulary({first_text, second_text});
  const auto first = vocabulary.encode(first_text), second = vocabulary.encode(second_text);
  std::cout << "texts: " << o.text << " (" << first.numel() << " characters), " << o.second_text << " ("
            << second.numel() << " characters); vocabulary of " << vocabulary.size() << " characters\n\n";
  if (std::min(first.numel(), second.numel()) <= o.block_size + 1) {
    std::cerr << "nanogpt: --block-size " << o.block_size << " is longer than a text\n";
    return 2;
  }

  // 1. nanoGPT: GPT-2's architecture, character-level (no dropout: the run is short).
  const models::GPT2Config config{.vocab_size = vocabulary.size(), .n_positions = o.block_size, .n_embd = o.width,
                                  .n_head = o.heads, .dropout = 0.0};
  auto base = models::gpt2<Layers>(config);
  const EvalSet first_eval(first, o, 1), second_eval(second, o, 2);
  std::cout << modify::summary(base, first_eval.batches[0].first) << "\n";
  const double initial = first_eval.loss(base);
  train(base, modify::trainable_parameters(base), first, o.steps, o.learning_rate, o, "train on " + o.text);
  const double trained = first_eval.loss(base);
  std::cout << std::fixed << std::setprecision(4) << "loss on " << o.text << ": " << initial << " at start, " << trained
            << " after " << o.steps << " steps\n\n";
  const std::string prompt = "This ";
  constexpr uint64_t sample_seed = 1234;
  const std::string base_sample = sample(base, vocabulary, prompt, o, sample_seed);
  show("base model sample (seed " + std::to_string(sample_seed) + ")", base_sample);

  // 2. LoRA on the attention and MLP Linear layers (not lm_head); everything else frozen, shared.
  const auto base_state = examples::snapshot(base);
  const double base_second_before = second_eval.loss(base);
  auto adapted = modify::lora(base, {.rank = 8, .alpha = 16},
                              modify::select::type<torch::nn::Linear> && !modify::select::path<"lm_head">);
  const auto trainable = modify::trainable_parameters(adapted);
  int64_t trainable_count = 0;
  for (const auto& p : trainable) trainable_count += p.numel();
  std::cout << "\nLoRA: " << trainable.size() << " adapter tensors, " << trainable_count << " trainable parameters\n";
  const double adapted_initial = second_eval.loss(adapted);
  train(adapted, trainable, second, o.lora_steps, o.lora_learning_rate, o, "LoRA on " + o.second_text);
  const double adapted_trained = second_eval.loss(adapted);
  const double base_second_after = second_eval.loss(base);
  std::cout << std::fixed << std::setprecision(4) << "loss on " << o.second_text << ": adapted " << adapted_initial
            << " at start, " << adapted_trained << " after " << o.lora_steps << " steps; base " << base_second_after
            << "\n\n";
  show("adapted model sample (seed " + std::to_string(sample_seed) + ")", sample(adapted, vocabulary, prompt, o, sample_seed));
  const std::string base_sample_after = sample(base, vocabulary, prompt, o, sample_seed);
  show("base model sample after LoRA training (seed " + std::to_string(sample_seed) + ")", base_sample_after);

  // 3. The base model in Hugging Face's GPT-2 layout, loaded back through the GPT-2 KeyMap.
  std::filesystem::create_directories(o.out);
  const std::string checkpoint = o.out + "/nanogpt_gpt2_layout.safetensors";
  modify::safetensors::save(checkpoint, models::hf_gpt2_state_dict(base),
                            {{"format", "pt"}, {"model", "nanoGPT (GPT-2 layout), examples/nanogpt.cpp"},
                             {"vocabulary", vocabulary.chars}});
  auto reloaded = models::gpt2<Layers>(config);
  const auto report = modify::load(reloaded, checkpoint, {.keys = models::hf_gpt2_keys()});
  const bool reload_exact = [&] {
    torch::NoGradGuard no_grad;
    base->eval();
    reloaded->eval();
    const auto& x = first_eval.batches[0].first;
    return torch::equal(base(x), reloaded(x));
  }();
  std::cout << "checkpoint: " << checkpoint << " (" << report << ")\n";

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::cout << std::fixed << std::setprecision(1) << "time: " << wall << " s wall (" << o.threads
            << " threads)\n\nchecks:\n";
  examples::Checks check;
  check(trained < 0.8 * initial, loss_change("training loss below 0.8x its start on " + o.text, initial, trained));
  check(adapted_trained < adapted_initial,
        loss_change("LoRA lowers the loss on " + o.second_text, adapted_initial, adapted_trained));
  check(examples::unchanged(base, base_state), "base weights bitwise unchanged by LoRA training");
  check(base_second_after == base_second_before, "base loss on the second text unchanged by LoRA training");
  check(base_sample_after == base_sample, "base model gives the same sample for the same seed after LoRA training");
  check(report.complete(), "the GPT-2-layout checkpoint loads completely through hf_gpt2_keys()");
  check(reload_exact, "the reloaded model computes bitwise the same logits");
  return check.all ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  examples::Flags flags(
      "nanogpt: trains a character-level nanoGPT written with modify on the GPL-3 text, samples it, fine-tunes it\n"
      "with LoRA on the Apache-2.0 text (the base model unchanged), and saves and reloads it in GPT-2's layout.");
  flags.add("steps", o.steps, "training steps on the first text")
      .add("lora-steps", o.lora_steps, "LoRA fine-tuning steps on the second text")
      .add("batch-size", o.batch_size, "windows per step")
      .add("block-size", o.block_size, "characters per window (the model's context)")
      .add("layers", o.layers, "transformer blocks, 1 to 4")
      .add("width", o.width, "embedding width (a multiple of --heads)")
      .add("heads", o.heads, "attention heads")
      .add("threads", o.threads, "LibTorch intra-op threads")
      .add("out", o.out, "folder for the checkpoint")
      .add("lr", o.learning_rate, "peak learning rate of AdamW")
      .add("lora-lr", o.lora_learning_rate, "peak learning rate of the LoRA fine-tuning")
      .add("sample-length", o.sample_length, "characters to sample")
      .add("temperature", o.temperature, "sampling temperature")
      .add("top-k", o.top_k, "sample from the k most likely characters")
      .add("text", o.text, "the first text")
      .add("second-text", o.second_text, "the text for LoRA fine-tuning");
  flags.parse(argc, argv);
  if (o.steps < 1 || o.lora_steps < 1 || o.batch_size < 1 || o.block_size < 1 || o.threads < 1 || o.heads < 1 ||
      o.width < 1 || o.width % o.heads != 0 || o.top_k < 1 || o.sample_length < 0 || !(o.temperature > 0)) {
    std::cerr << "nanogpt: --steps, --lora-steps, --batch-size, --block-size, --threads, --heads, --top-k must be at "
                 "least 1, --width a positive multiple of --heads, --temperature positive\n";
    return 2;
  }
  torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  try {
    switch (o.layers) {  // the number of blocks is part of the model's type
      case 1: return run<1>(o);
      case 2: return run<2>(o);
      case 3: return run<3>(o);
      case 4: return run<4>(o);
      default: std::cerr << "nanogpt: --layers must be 1 to 4, not " << o.layers << "\n"; return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "nanogpt: " << e.what() << "\n";
    return 1;
  }
}
