// Tests for modify/summary.hpp: rows, nested tuple shapes, totals, frozen vs trainable, and a
// model left exactly as it was.
#include <modify/modify.hpp>
#include <modify/summary.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <sstream>

namespace {
// fc: Linear(4, 6); then (x, (x, tanh(lin(x)))) with x = fc(input), nested two levels deep.
auto nested_model() {
  auto inner = modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(),
                                                                      modify::Sequential(torch::nn::Linear(6, 3), torch::nn::Tanh())));
  return modify::Sequential(modify::named<"fc">(torch::nn::Linear(4, 6)), modify::Copy<2>(),
                            modify::Parallel(modify::Identity(), modify::named<"inner">(inner)));
}

auto conv_model() {
  return modify::Sequential(modify::named<"conv">(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3).padding(1))),
                            modify::BatchNorm2d(4), modify::ElementwiseAffine::channels(4), torch::nn::ReLU(),
                            torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten(),
                            modify::named<"head">(torch::nn::Linear(4, 2)));
}

int64_t numel_of_named_parameters(torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.named_parameters()) n += p.value().numel();
  return n;
}
}  // namespace

TEST_CASE("summary: one row per module, in order, with paths, types, depths, output shapes and counts") {
  auto model = nested_model();
  const auto s = modify::summary(model, torch::randn({2, 4}));
  CHECK(s.input == "[2, 4]");
  struct Expected {
    const char* path;
    const char* type;
    std::size_t depth;
    const char* output;
    int64_t parameters;
  };
  const Expected expected[] = {
      {"", "modify::Sequential", 0, "([2, 6], ([2, 6], [2, 3]))", 4 * 6 + 6 + 6 * 3 + 3},
      {"fc", "torch::nn::Linear", 1, "[2, 6]", 4 * 6 + 6},
      {"1", "modify::Copy<2>", 1, "([2, 6], [2, 6])", 0},
      {"2", "modify::Parallel", 1, "([2, 6], ([2, 6], [2, 3]))", 6 * 3 + 3},
      {"2.0", "modify::Identity", 2, "[2, 6]", 0},
      {"2.inner", "modify::Sequential", 2, "([2, 6], [2, 3])", 6 * 3 + 3},
      {"2.inner.0", "modify::Copy<2>", 3, "([2, 6], [2, 6])", 0},
      {"2.inner.1", "modify::Parallel", 3, "([2, 6], [2, 3])", 6 * 3 + 3},
      {"2.inner.1.0", "modify::Identity", 4, "[2, 6]", 0},
      {"2.inner.1.1", "modify::Sequential", 4, "[2, 3]", 6 * 3 + 3},
      {"2.inner.1.1.0", "torch::nn::Linear", 5, "[2, 3]", 6 * 3 + 3},
      {"2.inner.1.1.1", "torch::nn::Tanh", 5, "[2, 3]", 0},
  };
  REQUIRE(s.rows.size() == std::size(expected));
  for (std::size_t i = 0; i < s.rows.size(); ++i) {
    CAPTURE(i);
    CHECK(s.rows[i].path == expected[i].path);
    CHECK(s.rows[i].type == expected[i].type);
    CHECK(s.rows[i].depth == expected[i].depth);
    CHECK(s.rows[i].output == expected[i].output);
    CHECK(s.rows[i].parameters == expected[i].parameters);
    CHECK(s.rows[i].trainable == expected[i].parameters);
  }
  // The paths are for_each_module's, in its order.
  std::vector<std::string> visited;
  modify::for_each_module(model, [&](std::string_view path, auto&) { visited.emplace_back(path); });
  REQUIRE(visited.size() == s.rows.size());
  for (std::size_t i = 0; i < visited.size(); ++i) CHECK(visited[i] == s.rows[i].path);
  // The last output shape is the model's.
  torch::NoGradGuard no_grad;
  CHECK(std::get<1>(std::get<1>(model(torch::randn({2, 4})))).sizes() == at::IntArrayRef{2, 3});
}

TEST_CASE("summary: totals are the parameters' numel and bytes; everything trains in a plain model") {
  auto model = conv_model();
  const auto s = modify::summary(model, torch::randn({3, 1, 8, 8}));
  CHECK(s.total_parameters == numel_of_named_parameters(*model));
  CHECK(s.total_parameters == (4 * 9 + 4) + (4 + 4) + (4 * 2 + 2));
  CHECK(s.trainable_parameters == s.total_parameters);
  CHECK(s.frozen_parameters == 0);
  CHECK(s.parameter_bytes == s.total_parameters * int64_t(sizeof(float)));
  CHECK(s.rows.back().output == "[3, 2]");
  CHECK(s.rows[1].output == "[3, 4, 8, 8]");
  CHECK(s.rows[2].type == "modify::BatchNorm2d");
  CHECK(s.rows[5].output == "[3, 4, 1, 1]");
}

TEST_CASE("summary: a LoRA model shows adapters trainable and every base parameter frozen") {
  auto base = conv_model();
  auto adapted = modify::lora(base, {.rank = 2, .alpha = 4},
                              modify::select::type<torch::nn::Conv2d> || modify::select::type<torch::nn::Linear>);
  const auto s = modify::summary(adapted, torch::randn({3, 1, 8, 8}));
  const int64_t base_total = numel_of_named_parameters(*base);
  const int64_t conv_adapter = 2 * 1 * 9 + 4 * 2, head_adapter = 2 * 4 + 2 * 2;
  CHECK(s.total_parameters == numel_of_named_parameters(*adapted));
  CHECK(s.total_parameters == base_total + conv_adapter + head_adapter);
  CHECK(s.trainable_parameters == conv_adapter + head_adapter);
  CHECK(s.frozen_parameters == base_total);
  // Per row: the adapted conv trains its adapter only; the affine is Frozen; ReLU has nothing.
  CHECK(s.rows[1].type == "modify::LoRA(torch::nn::Conv2d)");
  CHECK(s.rows[1].parameters == 4 * 9 + 4 + conv_adapter);
  CHECK(s.rows[1].trainable == conv_adapter);
  CHECK(s.rows[3].type == "modify::Frozen(modify::ElementwiseAffine)");
  CHECK(s.rows[3].trainable == 0);
  // The same counts as trainable_parameters(), which an optimizer is given.
  int64_t optimised = 0;
  for (const auto& t : modify::trainable_parameters(adapted)) optimised += t.numel();
  CHECK(s.trainable_parameters == optimised);
  std::ostringstream table;
  table << s;
  CHECK(table.str().find("frozen") != std::string::npos);
  CHECK(table.str().find(std::to_string(conv_adapter) + " of " + std::to_string(4 * 9 + 4 + conv_adapter)) !=
        std::string::npos);
}

TEST_CASE("summary: the model is left as it was (training modes, running statistics, no gradients)") {
  auto model = conv_model();
  model->train();
  modify::get<"head">(model)->eval();  // mixed modes must come back mixed
  const auto stats_before = modify::get<1>(model)->running_mean.clone();
  const auto batches_before = modify::get<1>(model)->num_batches_tracked.clone();
  std::ostringstream table;
  table << modify::summary(model, torch::randn({3, 1, 8, 8}) + 5.0);
  CHECK(model->is_training());
  CHECK(modify::get<1>(model)->is_training());
  CHECK_FALSE(modify::get<"head">(model)->is_training());
  CHECK(torch::equal(modify::get<1>(model)->running_mean, stats_before));
  CHECK(torch::equal(modify::get<1>(model)->num_batches_tracked, batches_before));
  for (const auto& p : model->parameters()) CHECK_FALSE(p.grad().defined());
  // Every path appears in the printed table.
  modify::for_each_module(model, [&](std::string_view path, auto&) {
    if (!path.empty()) CHECK(table.str().find(std::string(path)) != std::string::npos);
  });
}

TEST_CASE("summary: a wrong example input is a ForwardError naming the module, and modes are restored") {
  auto model = conv_model();
  model->train();
  try {
    (void)modify::summary(model, torch::randn({3, 2, 8, 8}));  // conv takes one channel
    FAIL("no error");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "conv");
    CHECK(e.input().find("[3, 2, 8, 8]") != std::string::npos);
  }
  CHECK(model->is_training());
  CHECK(modify::get<"conv">(model)->is_training());
}

TEST_CASE("summary: the example of docs/summary.md") {
  auto model = modify::Sequential(modify::named<"fc">(torch::nn::Linear(4, 6)), modify::Copy<2>(),
                                  modify::Parallel(modify::Identity(), torch::nn::Linear(6, 3)));
  auto adapted = modify::lora(model, {.rank = 2}, modify::select::path<"2.1">);
  const auto s = modify::summary(adapted, torch::randn({2, 4}));
  std::ostringstream table;
  table << s;
  CHECK(table.str().find("fc         modify::Frozen(torch::nn::Linear)  [2, 6]                30  frozen\n") !=
        std::string::npos);
  CHECK(table.str().find("2.1          modify::LoRA(torch::nn::Linear)  [2, 3]                39  18 of 39\n") !=
        std::string::npos);
  CHECK(s.total_parameters == 4 * 6 + 6 + 6 * 3 + 3 + 2 * 6 + 3 * 2);
  CHECK(s.trainable_parameters == 2 * 6 + 3 * 2);
  CHECK(s.frozen_parameters == numel_of_named_parameters(*model));
}
