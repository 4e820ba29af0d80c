// The current main job: a residual MLP, written with Copy<2>, Parallel(Identity, block) and Add,
// trained on a synthetic regression task (a fixed random "teacher" network), printing its loss.
//
//   build/examples/residual_mlp [--steps N] [--batch B] [--threads T]
#include <modify/modify.hpp>

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <string>

namespace {

constexpr int64_t features = 32, hidden = 128;

// x + MLP(x): the pre-norm-free residual block of the seed's README.
auto residual_block() {
  auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(features, hidden)),
                                modify::named<"act">(torch::nn::GELU()),
                                modify::named<"c_proj">(torch::nn::Linear(hidden, features)));
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)),
                            modify::Add());
}

struct Options {
  int steps = 1500, batch = 256, threads = 0;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return std::stoi(argv[++i]);
    };
    if (flag == "--steps") o.steps = value();
    else if (flag == "--batch") o.batch = value();
    else if (flag == "--threads") o.threads = value();
    else if (flag == "--help") {
      std::cout << "usage: residual_mlp [--steps N] [--batch B] [--threads T]\n";
      std::exit(EXIT_SUCCESS);
    } else throw std::invalid_argument("unknown flag " + flag + " (see --help)");
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options options = parse(argc, argv);
  if (options.threads > 0) torch::set_num_threads(options.threads);
  torch::manual_seed(0);

  auto model = modify::Sequential(modify::named<"embed">(torch::nn::Linear(features, features)), residual_block(),
                                  residual_block(), residual_block(), modify::named<"head">(torch::nn::Linear(features, 1)));
  static_assert(modify::trait::Unary<decltype(model)> && modify::trait::Param<decltype(model)>);
  std::cout << model << "\n";

  // The task: match a fixed random two-layer tanh network on Gaussian inputs.
  auto teacher = torch::nn::Sequential(torch::nn::Linear(features, 64), torch::nn::Tanh(), torch::nn::Linear(64, 1));
  for (auto& p : teacher->parameters()) p.requires_grad_(false);
  auto sample = [&](int64_t n) {
    auto x = torch::randn({n, features});
    return std::pair{x, teacher->forward(x)};
  };
  auto [test_x, test_y] = sample(2048);
  auto test_loss = [&, &test_x = test_x, &test_y = test_y] {
    torch::NoGradGuard no_grad;
    return torch::mse_loss(model(test_x), test_y).item<double>();
  };

  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(1e-4));
  const double initial = test_loss();
  std::cout << std::fixed << std::setprecision(5) << "step 0  test loss " << initial << "\n";
  const auto start = std::chrono::steady_clock::now();
  for (int step = 1; step <= options.steps; ++step) {
    auto [x, y] = sample(options.batch);
    optimizer.zero_grad();
    auto loss = torch::mse_loss(model(x), y);
    loss.backward();
    optimizer.step();
    if (step % 250 == 0 || step == options.steps)
      std::cout << "step " << step << "  train loss " << loss.item<double>() << "  test loss " << test_loss() << "\n";
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double final_loss = test_loss();
  std::cout << "test loss " << initial << " -> " << final_loss << " in " << options.steps << " steps ("
            << std::setprecision(1) << seconds << " s)\n";
  return final_loss < 0.5 * initial ? EXIT_SUCCESS : EXIT_FAILURE;
} catch (const std::exception& e) {
  std::cerr << "residual_mlp: " << e.what() << "\n";
  return EXIT_FAILURE;
}
