// The multi-process tests of modify/distributed: one program, run as every rank by modify-run (or
// starting its own peer), checking what a single process cannot. Exits non-zero on any failure.
//
//   modify-run --nproc-per-node 2 -- ddp_worker parity     training equals one process on the whole batch
//   modify-run --nproc-per-node 2 -- ddp_worker lora       LoRA + data-parallel leaves the base weights alone
//   modify-run --nproc-per-node 2 -- ddp_worker buffers    BatchNorm statistics become rank 0's at evaluation
//   ddp_worker peer_fails kill|stall                       rank 0 fails with a clear error, does not hang
//   ddp_worker launcher_fails <modify-run>                 modify-run stops every rank when one fails
#include <modify/distributed/data_parallel.hpp>
#include <modify/distributed/free_port.hpp>
#include <modify/modify.hpp>

#include <torch/torch.h>

#include "../fixtures.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace dist = modify::distributed;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("check failed: " + what);
  std::cout << "ok: " << what << std::endl;
}

auto make_cnn() {
  return modify::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)), torch::nn::ReLU(),
                            torch::nn::Flatten(), modify::named<"head">(torch::nn::Linear(4 * 6 * 6, 3)));
}

// Rank 0's copies of `tensors`, compared bit for bit with this rank's, on every rank.
bool same_on_all_ranks(const dist::ProcessGroup& group, const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> copies;
  for (const auto& t : tensors) copies.push_back(t.detach().clone());
  group.broadcast(copies, 0);
  bool same = true;
  for (std::size_t i = 0; i < tensors.size(); ++i) same = same && torch::equal(copies[i], tensors[i]);
  // Every rank learns whether all agree, so they all pass or all fail.
  auto flag = torch::tensor({same ? 0.0f : 1.0f});
  group.wait(group.allreduce_sum(flag), "agreement check");
  return flag.item<float>() == 0.0f;
}

double max_difference(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  return worst;
}

// The same global batch on every rank; rank r trains on rows [r * n / world, (r + 1) * n / world).
struct Batch {
  torch::Tensor x, y;
  Batch shard(int rank, int world) const {
    const auto n = x.size(0) / world;
    return {x.narrow(0, rank * n, n), y.narrow(0, rank * n, n)};
  }
};

Batch global_batch(int step) {
  torch::manual_seed(1000 + step);
  return {torch::randn({8, 1, 8, 8}), torch::randn({8, 3})};
}

template <class Forward, class Model>
void sgd_step(Forward& forward, Model& model, const Batch& batch, double lr) {
  model->zero_grad();
  torch::mse_loss(forward(batch.x), batch.y).backward();
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters())
    if (p.grad().defined()) p.sub_(lr * p.grad());
}

int parity(const dist::ProcessGroup& group) {
  const int rank = group.rank(), world = group.size();
  torch::manual_seed(1 + rank);  // ranks start different: DataParallel must make them rank 0's
  auto model = make_cnn();
  // Tiny buckets, so the CNN's four parameters travel in several allreduces.
  dist::DataParallel ddp(model, group, {.bucket_bytes = 256});
  check(ddp.bucket_count() > 1, "several buckets (" + std::to_string(ddp.bucket_count()) + ")");
  torch::manual_seed(1);
  auto reference = make_cnn();  // rank 0's initial model, trained by one process on whole batches
  check(max_difference(model->parameters(), reference->parameters()) == 0, "rank 0's parameters at start");

  const int steps = 3;
  for (int step = 0; step < steps; ++step) {
    auto batch = global_batch(step);
    sgd_step(ddp, model, batch.shard(rank, world), 0.1);
    sgd_step(reference, reference, batch, 0.1);
  }
  // Gradient accumulation: two half-shards, the first under no_sync, each loss weighted 1/2.
  auto batch = global_batch(steps);
  auto local = batch.shard(rank, world);
  model->zero_grad();
  {
    auto guard = ddp.no_sync();
    (torch::mse_loss(ddp(local.x.narrow(0, 0, 2)), local.y.narrow(0, 0, 2)) / 2).backward();
  }
  (torch::mse_loss(ddp(local.x.narrow(0, 2, 2)), local.y.narrow(0, 2, 2)) / 2).backward();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.sub_(0.1 * p.grad());
  }
  sgd_step(reference, reference, batch, 0.1);

  check(same_on_all_ranks(group, model->parameters()), "parameters bitwise identical on every rank");
  const double difference = max_difference(model->parameters(), reference->parameters());
  std::cout << "max |data-parallel - single process| after " << steps + 1 << " steps: " << difference << "\n";
  check(difference <= 1e-6, "equal to single-process training within 1e-6");
  return 0;
}

int lora(const dist::ProcessGroup& group) {
  const int rank = group.rank(), world = group.size();
  torch::manual_seed(1);  // the same base model on every rank (as if loaded from one checkpoint)
  auto base = make_cnn();
  const auto base_before = modify_test::snapshot(base);
  auto adapted = modify::lora(base, {.rank = 2, .alpha = 4, .init = modify::LoraOptions::Init::gaussian},
                              modify::select::name<"head">);
  dist::DataParallel ddp(adapted, group);
  torch::optim::SGD optimizer(modify::trainable_parameters(adapted), 0.1);
  for (int step = 0; step < 3; ++step) {
    auto local = global_batch(step).shard(rank, world);
    optimizer.zero_grad();
    torch::mse_loss(ddp(local.x), local.y).backward();
    optimizer.step();
  }
  check(modify_test::unchanged(base, base_before), "base weights untouched on rank " + std::to_string(rank));
  const auto trainable = modify::trainable_parameters(adapted);
  check(same_on_all_ranks(group, trainable), "adapters bitwise identical on every rank");
  check(modify::get<"head">(adapted)->adapters[0].B.abs().sum().item<double>() > 0, "adapters trained");
  std::size_t full = 0;
  for (const auto& p : base->parameters()) full += p.numel() * p.element_size();
  std::cout << "gradient bytes per step: " << ddp.gradient_bytes_per_step() << " (LoRA adapters) vs " << full
            << " (whole model)\n";
  check(ddp.reduced_parameter_count() == trainable.size() && ddp.gradient_bytes_per_step() < full,
        "only the adapters' gradients are communicated");
  return 0;
}

int buffers(const dist::ProcessGroup& group) {
  const int rank = group.rank(), world = group.size();
  torch::manual_seed(1);
  auto model = modify::Sequential(torch::nn::Linear(6, 6), modify::BatchNorm1d(6), torch::nn::Linear(6, 2));
  dist::DataParallel ddp(model, group);
  torch::manual_seed(7);
  auto x = torch::randn({8, 6}), y = torch::randn({8, 2});
  sgd_step(ddp, model, {x.narrow(0, rank * 4, 4) * (1 + rank), y.narrow(0, rank * 4, 4)}, 0.1);
  check(!same_on_all_ranks(group, model->buffers()), "running statistics differ after training on different shards");
  std::vector<at::Tensor> rank0;
  for (const auto& b : model->buffers()) rank0.push_back(b.detach().clone());
  group.broadcast(rank0, 0);
  model->eval();
  torch::NoGradGuard no_grad;
  ddp(x);
  check(same_on_all_ranks(group, model->buffers()), "running statistics identical at evaluation");
  check(max_difference(model->buffers(), rank0) == 0, "they are rank 0's");
  (void)world;
  return 0;
}

// Rank 0 starts rank 1 (this program again); rank 1 trains one step, then dies (SIGKILL) or
// stalls. Rank 0's next backward must throw modify::distributed::Error naming the operation.
int peer_fails(const std::string& how, int rank, int port) {
  dist::GroupOptions options{.rank = rank, .world_size = 2, .master_addr = "127.0.0.1", .master_port = port,
                             .timeout = std::chrono::seconds(3)};
  pid_t peer = 0;
  if (rank == 0) {
    std::string self = "/proc/self/exe", port_text = std::to_string(port);
    char* argv[] = {self.data(), const_cast<char*>("peer_fails"), const_cast<char*>(how.c_str()),
                    const_cast<char*>("1"), port_text.data(), nullptr};
    if (posix_spawn(&peer, self.c_str(), nullptr, nullptr, argv, environ) != 0)
      throw std::runtime_error("cannot start rank 1");
  }
  dist::ProcessGroup group(options);
  torch::manual_seed(1);
  auto model = make_cnn();
  dist::DataParallel ddp(model, group);
  sgd_step(ddp, model, global_batch(0).shard(rank, 2), 0.1);
  if (rank == 1) {
    if (how == "kill") raise(SIGKILL);
    std::this_thread::sleep_for(std::chrono::seconds(30));
    return 0;
  }
  std::string message;
  try {
    sgd_step(ddp, model, global_batch(1).shard(rank, 2), 0.1);
  } catch (const dist::Error& e) {
    message = e.what_without_backtrace();
  }
  if (how == "stall") kill(peer, SIGKILL);
  int status = 0;
  waitpid(peer, &status, 0);
  std::cout << "rank 0 got: " << message << "\n";
  check(message.find("modify: distributed: gradient allreduce") == 0, "a modify::distributed::Error from backward");
  check(message.find("on rank 0 of 2") != std::string::npos, "it names the rank");
  return 0;
}

int launcher_fails(const std::string& launcher) {
  const std::string command = launcher + " --nproc-per-node 2 -- /proc/" + std::to_string(getpid()) +
                              "/exe one_rank_fails 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  const int status = pclose(pipe);
  std::cout << output;
  check(WIFEXITED(status) && WEXITSTATUS(status) == 3, "modify-run exits with the failed rank's code");
  check(output.find("[rank 1] rank 1 fails") != std::string::npos, "output carries the rank prefix");
  check(output.find("rank 1 (pid") != std::string::npos && output.find("stopping the other ranks") != std::string::npos,
        "modify-run says which rank failed and stops the others");
  return 0;
}

// Rank 1 fails at once; rank 0 would wait a minute if modify-run did not stop it.
int one_rank_fails() {
  if (std::string(std::getenv("RANK")) == "1") {
    std::cout << "rank 1 fails" << std::endl;
    return 3;
  }
  std::this_thread::sleep_for(std::chrono::seconds(60));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  torch::set_num_threads(1);  // two ranks share two cores
  try {
    if (mode == "parity") return parity(dist::ProcessGroup({.timeout = std::chrono::seconds(20)}));
    if (mode == "lora") return lora(dist::ProcessGroup({.timeout = std::chrono::seconds(20)}));
    if (mode == "buffers") return buffers(dist::ProcessGroup({.timeout = std::chrono::seconds(20)}));
    if (mode == "peer_fails" && argc == 3) return peer_fails(argv[2], 0, dist::free_loopback_port());
    if (mode == "peer_fails" && argc == 5) return peer_fails(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
    if (mode == "launcher_fails" && argc == 3) return launcher_fails(argv[2]);
    if (mode == "one_rank_fails") return one_rank_fails();
  } catch (const std::exception& e) {
    std::cerr << mode << ": " << e.what() << std::endl;
    return 1;
  }
  std::cerr << "usage: ddp_worker parity|lora|buffers|peer_fails kill|stall|launcher_fails <modify-run>\n";
  return 2;
}
