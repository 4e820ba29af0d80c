// Tests for modify/errors.hpp: run-time errors in forward name the module's path and its input.
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

namespace {

// Throws something that is not a std::exception: it must pass through unchanged.
struct ThrowsIntImpl : modify::Leaf<ThrowsIntImpl> {
  static constexpr modify::Traits traits{};
  torch::Tensor forward(const torch::Tensor&) { throw 42; }
};
TORCH_MODULE(ThrowsInt);

auto transformer_like() {
  auto attn = modify::Sequential(modify::named<"c_attn">(torch::nn::Linear(8, 24)));
  auto block = modify::Sequential(modify::named<"attn">(attn));
  return modify::Sequential(modify::named<"wte">(torch::nn::Linear(4, 8)),
                            modify::named<"transformer">(modify::Sequential(block, block, block, block)));
}

}  // namespace

TEST_CASE("a shape error names the dotted path, the module type and the input shapes") {
  auto model = modify::Sequential(torch::nn::Linear(4, 8), modify::Copy<2>(),
                                  modify::Parallel(modify::Identity(), modify::named<"mlp">(modify::Sequential(
                                                                           torch::nn::Linear(8, 8), torch::nn::ReLU(),
                                                                           modify::named<"c_proj">(torch::nn::Linear(7, 8))))),
                                  modify::Add());
  try {
    model(torch::randn({3, 4}));
    FAIL("expected an exception");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "2.mlp.c_proj");
    CHECK(e.module_type() == "torch::nn::LinearImpl");
    CHECK(e.input() == "[3, 8] Float");
    CHECK(e.reason().find("mat1 and mat2 shapes cannot be multiplied (3x8 and 7x8)") != std::string::npos);
    CHECK(std::string(e.what()).rfind("modify: forward failed in module '2.mlp.c_proj' (torch::nn::LinearImpl) "
                                      "on input [3, 8] Float: mat1 and mat2",
                                      0) == 0);
  }
}

TEST_CASE("shared submodules are reported at the path where they failed") {
  auto model = transformer_like();
  try {
    modify::get<"transformer.3">(model);  // exists
    model(torch::randn({2, 5}));
    FAIL("expected an exception");
  } catch (const modify::ForwardError& e) {
    CHECK(e.path() == "wte");
  }
}

TEST_CASE("ForwardError is a c10::Error, and paths through Parallel name the branch") {
  auto model = modify::Parallel(torch::nn::Linear(2, 2), modify::named<"right">(torch::nn::Linear(3, 3)));
  CHECK_THROWS_WITH_AS(model(std::tuple{torch::randn({1, 2}), torch::randn({1, 2})}),
                       doctest::Contains("module 'right' (torch::nn::LinearImpl) on input [1, 2] Float"), c10::Error);
}

TEST_CASE("errors from a binary module show its whole tuple input") {
  auto model = modify::Sequential(modify::Parallel(torch::nn::Linear(2, 3), torch::nn::Linear(2, 4)), modify::Add());
  CHECK_THROWS_WITH_AS(model(std::tuple{torch::randn({1, 2}), torch::randn({1, 2})}),
                       doctest::Contains("module '1' (modify::AddImpl) on input ([1, 3] Float, [1, 4] Float)"),
                       modify::ForwardError);
}

TEST_CASE("exceptions that are not std::exception pass through untouched") {
  auto model = modify::Sequential(torch::nn::ReLU(), ThrowsInt());
  CHECK_THROWS_AS(model(torch::randn({2})), int);
}

TEST_CASE("a failed forward leaves the model usable") {
  auto model = modify::Sequential(torch::nn::Linear(4, 2));
  CHECK_THROWS_AS(model(torch::randn({1, 3})), modify::ForwardError);
  CHECK((model(torch::randn({1, 4})).sizes() == torch::IntArrayRef{1, 2}));
}
