// DistributedSampler: each rank's disjoint shard of a data set's indices, reshuffled every epoch
// with a seed all ranks share; the same indices as torch.utils.data.DistributedSampler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/data/samplers/base.h>
#include <torch/serialize/archive.h>

namespace modify::distributed {

struct SamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;  // must be the same on every rank
  // false: pad with indices from the start so every rank gets as many (PyTorch's default);
  // true: drop the tail that does not divide evenly.
  bool drop_last = false;
};

// DistributedSampler(size, rank, world_size, options): a torch::data sampler, usable with
// torch::data::make_data_loader. Call set_epoch(e) before each epoch, on every rank.
class DistributedSampler : public torch::data::samplers::Sampler<> {
 public:
  DistributedSampler(std::size_t size, int rank, int world_size, SamplerOptions options = {})
      : size_(size), rank_(rank), world_size_(world_size), options_(options) {
    if (world_size < 1 || rank < 0 || rank >= world_size)
      throw std::invalid_argument("modify: DistributedSampler: rank " + std::to_string(rank) +
                                  " is not in [0, world_size " + std::to_string(world_size) + ")");
    reset(c10::nullopt);
  }

  void set_epoch(std::uint64_t epoch) {
    epoch_ = epoch;
    reset(c10::nullopt);
  }
  std::uint64_t epoch() const { return epoch_; }

  // How many indices this rank gets per epoch (the same on every rank).
  std::size_t shard_size() const {
    const std::size_t world = static_cast<std::size_t>(world_size_);
    if (options_.drop_last && size_ % world != 0) return size_ < world ? 0 : (size_ - world + world - 1) / world;
    return (size_ + world - 1) / world;
  }

  // This rank's indices for the current epoch, in order.
  const std::vector<std::size_t>& indices() const { return shard_; }

  void reset(c10::optional<std::size_t> new_size) override {
    if (new_size) size_ = *new_size;
    std::vector<std::size_t> order(size_);
    if (options_.shuffle) {
      // torch.randperm with a generator seeded seed + epoch, as PyTorch's sampler does.
      auto generator = at::detail::createCPUGenerator(options_.seed + epoch_);
      auto permutation = at::randperm(static_cast<std::int64_t>(size_), generator, at::kLong);
      const auto* p = permutation.data_ptr<std::int64_t>();
      for (std::size_t i = 0; i < size_; ++i) order[i] = static_cast<std::size_t>(p[i]);
    } else {
      for (std::size_t i = 0; i < size_; ++i) order[i] = i;
    }
    const std::size_t total = shard_size() * static_cast<std::size_t>(world_size_);
    // Padding repeats the order from its start (cyclically, if it is shorter than the padding).
    for (std::size_t i = 0; order.size() < total; ++i) order.push_back(order[i]);
    shard_.clear();
    for (std::size_t i = static_cast<std::size_t>(rank_); i < total; i += static_cast<std::size_t>(world_size_))
      shard_.push_back(order[i]);
    next_ = 0;
  }

  c10::optional<std::vector<std::size_t>> next(std::size_t batch_size) override {
    if (next_ >= shard_.size()) return c10::nullopt;
    const std::size_t end = std::min(shard_.size(), next_ + batch_size);
    std::vector<std::size_t> batch(shard_.begin() + static_cast<std::ptrdiff_t>(next_),
                                   shard_.begin() + static_cast<std::ptrdiff_t>(end));
    next_ = end;
    return batch;
  }

  void save(torch::serialize::OutputArchive& archive) const override {
    archive.write("epoch", at::tensor(static_cast<std::int64_t>(epoch_)), /*is_buffer=*/true);
    archive.write("next", at::tensor(static_cast<std::int64_t>(next_)), /*is_buffer=*/true);
  }

  void load(torch::serialize::InputArchive& archive) override {
    at::Tensor epoch, next;
    archive.read("epoch", epoch, /*is_buffer=*/true);
    archive.read("next", next, /*is_buffer=*/true);
    set_epoch(static_cast<std::uint64_t>(epoch.item<std::int64_t>()));
    next_ = static_cast<std::size_t>(next.item<std::int64_t>());
  }

 private:
  std::size_t size_;
  int rank_, world_size_;
  SamplerOptions options_;
  std::uint64_t epoch_ = 0;
  std::vector<std::size_t> shard_;
  std::size_t next_ = 0;
};

}  // namespace modify::distributed
