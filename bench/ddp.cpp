// Data-parallel step time and communication volume: one process vs N (run under modify-run), on a
// small CNN and on a LoRA-adapted GPT-style model. A plain timing loop rather than Google
// Benchmark: every rank must run exactly the same number of steps (each step is a collective).
//
//   build/bench/ddp_bench [--steps 30] [--threads 1]                      # world 1: plain and DataParallel
//   build/tools/modify-run --nproc-per-node 2 -- build/bench/ddp_bench    # world 2
//
// The global batch is fixed, so with N ranks each computes 1/N of it; rank 0 prints a table.
#include <modify/modify.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace dist = modify::distributed;

// Fashion-MNIST-sized CNN (28x28 grey images, 10 classes); global batch 128.
auto make_cnn() {
  using namespace torch::nn;
  return modify::Sequential(Conv2d(Conv2dOptions(1, 32, 3)), ReLU(), MaxPool2d(2), Conv2d(Conv2dOptions(32, 64, 3)),
                            ReLU(), MaxPool2d(2), Flatten(), Linear(64 * 5 * 5, 128), ReLU(), Linear(128, 10));
}

// GPT-style residual MLP blocks over token embeddings (C = 256, hidden 1024, 4 blocks, vocabulary
// 1024), next-token loss on 16 x 64 tokens; LoRA rank 8 on every c_fc and c_proj.
auto make_gpt() {
  auto block = [] {
    auto mlp = modify::Sequential(modify::named<"c_fc">(torch::nn::Linear(256, 1024)), torch::nn::GELU(),
                                  modify::named<"c_proj">(torch::nn::Linear(1024, 256)));
    return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"mlp">(mlp)),
                              modify::Add());
  };
  return modify::Sequential(modify::named<"wte">(torch::nn::Embedding(1024, 256)), block(), block(), block(), block(),
                            modify::named<"lm_head">(torch::nn::Linear(256, 1024)));
}

struct Result {
  double median_ms;
  std::size_t bytes, buckets;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times `steps` SGD steps of forward(batch) (after 3 warm-up steps); loss_fn(output, batch).
template <class Forward, class Loss>
std::vector<double> time_steps(Forward&& forward, Loss&& loss_fn, torch::optim::Optimizer& optimizer, int steps,
                               const dist::ProcessGroup* group) {
  std::vector<double> ms;
  for (int step = 0; step < steps + 3; ++step) {
    if (group) group->barrier();  // ranks start each step together, so the time is the slowest's
    auto start = std::chrono::steady_clock::now();
    optimizer.zero_grad();
    loss_fn(forward()).backward();
    optimizer.step();
    if (step >= 3) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return ms;
}

template <class Model, class Input, class Loss>
void run(const char* name, Model model, std::vector<at::Tensor> trainable, const Input& input, Loss loss_fn,
         const dist::ProcessGroup& group, int steps, bool plain_baseline) {
  const int rank = group.rank(), world = group.size();
  auto local = input.shard(rank, world);
  if (plain_baseline) {  // world 1 only: the model without DataParallel
    torch::optim::SGD optimizer(trainable, 1e-3);
    auto ms = time_steps([&] { return model(local.x); }, [&](auto out) { return loss_fn(out, local); }, optimizer,
                         steps, nullptr);
    std::printf("| %s | 1 | plain (no DataParallel) | %.2f | %.0f | - | - |\n", name, median(ms),
                1000.0 * input.samples() / median(ms));
  }
  dist::DataParallel ddp(model, group);
  torch::optim::SGD optimizer(trainable, 1e-3);
  auto ms = time_steps([&] { return ddp(local.x); }, [&](auto out) { return loss_fn(out, local); }, optimizer, steps,
                       &group);
  // Every rank's median, so rank 0 reports the slowest.
  std::vector<at::Tensor> slowest{torch::tensor({median(ms)}, torch::kDouble)};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  group.wait(group.backend().allreduce(slowest, max), "median exchange");
  if (rank == 0)
    std::printf("| %s | %d | DataParallel | %.2f | %.0f | %zu | %zu |\n", name, world, slowest[0].item<double>(),
                1000.0 * input.samples() / slowest[0].item<double>(), ddp.gradient_bytes_per_step(), ddp.bucket_count());
}

struct Images {
  torch::Tensor x, y;
  Images shard(int rank, int world) const {
    const auto n = x.size(0) / world;
    return {x.narrow(0, rank * n, n), y.narrow(0, rank * n, n)};
  }
  int64_t samples() const { return x.size(0); }
};

}  // namespace

int main(int argc, char** argv) {
  int steps = 30, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--steps") steps = std::atoi(argv[i + 1]);
    else if (flag == "--threads") threads = std::atoi(argv[i + 1]);
  }
  torch::set_num_threads(threads);
  const bool launched = std::getenv("RANK") != nullptr;
  std::string store = (std::filesystem::temp_directory_path() / ("ddp_bench_" + std::to_string(::getpid()))).string();
  dist::ProcessGroup group(launched ? dist::GroupOptions{} : dist::GroupOptions{.rank = 0, .world_size = 1, .store_file = store});
  if (group.rank() == 0) {
    std::printf("torch threads per process: %d, %d measured steps, median step time of the slowest rank\n\n", threads, steps);
    std::printf("| model | processes | variant | step ms | samples/s | gradient bytes/step | buckets |\n");
    std::printf("| --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
  }

  torch::manual_seed(0);
  Images images{torch::randn({128, 1, 28, 28}), torch::randint(10, {128})};
  auto cnn = make_cnn();
  run("CNN, batch 128", cnn, cnn->parameters(), images,
      [](auto out, const Images& b) { return torch::cross_entropy_loss(out, b.y); }, group, steps, !launched);

  auto tokens = torch::randint(1024, {16, 65});
  Images text{tokens.narrow(1, 0, 64), tokens.narrow(1, 1, 64)};
  auto gpt = make_gpt();
  auto adapted = modify::lora(gpt, {.rank = 8, .alpha = 16}, modify::select::name<"c_fc"> || modify::select::name<"c_proj">);
  auto loss = [](auto out, const Images& b) { return torch::cross_entropy_loss(out.reshape({-1, 1024}), b.y.reshape({-1})); };
  run("GPT-style, full", gpt, gpt->parameters(), text, loss, group, steps, !launched);
  run("GPT-style, LoRA r=8", adapted, modify::trainable_parameters(adapted), text, loss, group, steps, !launched);
  if (!launched) std::filesystem::remove(store);
  return 0;
}
