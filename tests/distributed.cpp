// Tests of modify/distributed/*.hpp that one process can run: options from the environment, the
// sampler against PyTorch's, and DataParallel in a group of one (a FileStore in a temp dir).
// The 2-process tests are in distributed/worker.cpp, run by the `distributed` suite.
#include <modify/distributed/data_parallel.hpp>
#include <modify/distributed/process_group.hpp>
#include <modify/distributed/sampler.hpp>
#include <modify/modify.hpp>

#include <doctest/doctest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "fixtures.hpp"

namespace {
namespace dist = modify::distributed;

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const dist::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

// A group of one, meeting through a FileStore in a fresh temp file.
dist::ProcessGroup group_of_one() {
  static int count = 0;
  auto path = std::filesystem::temp_directory_path() /
              ("modify_test_store_" + std::to_string(::getpid()) + "_" + std::to_string(count++));
  std::filesystem::remove(path);
  return dist::ProcessGroup({.rank = 0, .world_size = 1, .store_file = path.string(), .timeout = std::chrono::seconds(5)});
}

auto small_cnn() {
  return modify::Sequential(torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 4, 3)), torch::nn::ReLU(),
                            torch::nn::Flatten(), modify::named<"head">(torch::nn::Linear(4 * 6 * 6, 3)));
}
}  // namespace

TEST_CASE("resolve: options from the environment, errors naming the variable") {
  ::unsetenv("RANK");
  ::setenv("WORLD_SIZE", "2", 1);
  CHECK(error_of([] { dist::resolve({}); }).find("modify: distributed: RANK is not set") == 0);
  ::setenv("RANK", "2", 1);
  CHECK(error_of([] { dist::resolve({}); }) == "modify: distributed: RANK 2 is not below WORLD_SIZE 2");
  ::setenv("RANK", "one", 1);
  CHECK(error_of([] { dist::resolve({}); }) == "modify: distributed: RANK='one' is not a non-negative integer");
  ::setenv("RANK", "1", 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", "29511", 1);
  auto options = dist::resolve({});
  CHECK(options.rank == 1);
  CHECK(options.world_size == 2);
  CHECK(options.master_addr == "127.0.0.1");
  CHECK(options.master_port == 29511);
  CHECK(options.local_addr == "127.0.0.1");  // loopback master: Gloo listens on loopback too
  // Explicit options win over the environment.
  CHECK(dist::resolve({.rank = 0, .world_size = 1}).world_size == 1);
  for (const char* name : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(name);
}

TEST_CASE("DistributedSampler: the indices of torch.utils.data.DistributedSampler") {
  const modify_test::Fixture fixture("distributed_sampler.pt");
  CHECK(fixture.tensors().size() == 20);
  for (const auto& [key, expected] : fixture.tensors()) {
    std::size_t size, world, rank, seed, epoch;
    int shuffle, drop;
    REQUIRE(std::sscanf(key.c_str(), "n%zu_w%zu_r%zu_s%zu_e%zu_shuffle%d_drop%d", &size, &world, &rank, &seed,
                        &epoch, &shuffle, &drop) == 7);
    dist::DistributedSampler sampler(size, static_cast<int>(rank), static_cast<int>(world),
                                     {.shuffle = shuffle != 0, .seed = seed, .drop_last = drop != 0});
    sampler.set_epoch(epoch);
    INFO(key);
    CHECK(sampler.shard_size() == static_cast<std::size_t>(expected.numel()));
    CHECK(torch::equal(torch::tensor(std::vector<int64_t>(sampler.indices().begin(), sampler.indices().end())), expected));
  }
}

TEST_CASE("DistributedSampler: disjoint shards covering the data set, reshuffled per epoch") {
  const std::size_t size = 12;
  std::set<std::size_t> seen;
  std::vector<std::size_t> first_epoch;
  for (int rank = 0; rank < 3; ++rank) {
    dist::DistributedSampler sampler(size, rank, 3, {.seed = 3});
    for (auto i : sampler.indices()) CHECK(seen.insert(i).second);
    if (rank == 0) {
      first_epoch = sampler.indices();
      sampler.set_epoch(1);
      CHECK(sampler.indices() != first_epoch);
    }
  }
  CHECK(seen.size() == size);
  // As a torch::data sampler: batches of the shard, then the end.
  dist::DistributedSampler sampler(size, 0, 3, {.seed = 3});
  CHECK(*sampler.next(3) == std::vector<std::size_t>(first_epoch.begin(), first_epoch.begin() + 3));
  CHECK(sampler.next(3)->size() == 1);
  CHECK(!sampler.next(3).has_value());
  CHECK_THROWS_AS(dist::DistributedSampler(size, 3, 3), std::invalid_argument);
}

TEST_CASE("DataParallel in a group of one: gradients as without it, buckets launched during backward") {
  auto group = group_of_one();
  torch::manual_seed(0);
  auto model = small_cnn();
  auto plain = modify::clone(model);
  dist::DataParallel ddp(model, group, {.bucket_bytes = 256});
  CHECK(ddp.reduced_parameter_count() == 4);
  // Reverse order, at most 256 B unless one tensor is larger: [head.bias], [head.weight], [conv.bias, conv.weight].
  CHECK(ddp.bucket_count() == 3);
  std::size_t bytes = 0;
  for (const auto& p : model->parameters()) bytes += p.numel() * p.element_size();
  CHECK(ddp.gradient_bytes_per_step() == bytes);

  auto x = torch::randn({4, 1, 8, 8}), y = torch::randn({4, 3});
  torch::mse_loss(ddp(x), y).backward();
  CHECK(ddp.buckets_launched_during_backward() == ddp.bucket_count());
  torch::mse_loss(plain(x), y).backward();
  auto got = model->parameters(), expected = plain->parameters();
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(torch::equal(got[i].grad(), expected[i].grad()));
  ddp.finish_gradient_synchronization();  // nothing left to do: backward finished it
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(torch::equal(got[i].grad(), expected[i].grad()));

  // no_sync: gradients accumulate locally; the next backward reduces the sum.
  {
    auto guard = ddp.no_sync();
    torch::mse_loss(ddp(x), y).backward();
    CHECK(ddp.buckets_launched_during_backward() == ddp.bucket_count());  // unchanged: nothing launched
  }
  torch::mse_loss(ddp(x), y).backward();
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(torch::allclose(got[i].grad(), 3 * expected[i].grad()));
}

TEST_CASE("DataParallel: a LoRA-adapted model reduces its adapters' gradients alone") {
  auto group = group_of_one();
  auto base = small_cnn();
  auto adapted = modify::lora(base, {.rank = 2}, modify::select::name<"head">);
  dist::DataParallel ddp(adapted, group);
  CHECK(ddp.reduced_parameter_count() == 2);  // head's A and B
  CHECK(ddp.gradient_bytes_per_step() == (2 * 144 + 3 * 2) * sizeof(float));
  CHECK(ddp.bucket_count() == 1);
  // The wrapper shares the model: the adapted model and ddp.module() are the same object.
  CHECK(ddp.module().ptr() == adapted.ptr());
}

TEST_CASE("DataParallel: its hooks go with it") {
  auto group = group_of_one();
  auto model = small_cnn();
  auto x = torch::randn({2, 1, 8, 8});
  {
    dist::DataParallel ddp(model, group);
    ddp(x).sum().backward();
  }
  model->zero_grad();
  model(x).sum().backward();  // no hook left pointing at the destroyed reducer
  for (const auto& p : model->parameters()) CHECK(p.grad().defined());
}
