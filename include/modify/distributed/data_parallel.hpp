// DataParallel(model, group): data-parallel training over a c10d process group, as PyTorch's DDP:
// rank 0's state at start, gradients of the trainable parameters averaged in size-capped buckets
// whose allreduce starts during backward, and averaged before backward returns.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/autograd/engine.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <modify/distributed/process_group.hpp>
#include <modify/traits.hpp>
#include <modify/transform/lora.hpp>

namespace modify::distributed {

// When the ranks' buffers (BatchNorm running statistics, ...) are made rank 0's again.
enum class BufferSync {
  at_evaluation,  // at the first forward in eval mode after training forwards (the default)
  every_forward,  // before every forward, and at evaluation (PyTorch DDP's broadcast_buffers)
  never,          // only by calling synchronize_buffers(); for evaluation on one rank alone
};

struct DataParallelOptions {
  // Gradients are packed into buckets of at most this many bytes (a larger parameter gets a
  // bucket of its own); each bucket's allreduce starts as soon as its last gradient is ready.
  std::size_t bucket_bytes = 25u << 20;
  BufferSync buffers = BufferSync::at_evaluation;
};

namespace detail {

// The reduction state, at a fixed address: the autograd hooks point at it.
class GradientReducer {
 public:
  GradientReducer(ProcessGroup group, std::vector<at::Tensor> parameters, std::size_t bucket_bytes)
      : group_(std::move(group)), parameters_(std::move(parameters)), bucket_of_(parameters_.size()),
        offset_of_(parameters_.size()), ready_(parameters_.size(), false) {
    // Buckets follow the parameters in reverse registration order, roughly the order backward
    // produces their gradients; one dtype per bucket. Every rank computes the same layout.
    for (std::size_t k = parameters_.size(); k-- > 0;) {
      const auto& p = parameters_[k];
      const std::size_t bytes = static_cast<std::size_t>(p.numel()) * p.element_size();
      if (buckets_.empty() || buckets_.back().dtype != p.scalar_type() ||
          (buckets_.back().bytes > 0 && buckets_.back().bytes + bytes > bucket_bytes))
        buckets_.emplace_back().dtype = p.scalar_type();
      auto& bucket = buckets_.back();
      bucket.members.push_back(k);
      offset_of_[k] = bucket.numel;
      bucket.numel += p.numel();
      bucket.bytes += bytes;
      bucket_of_[k] = buckets_.size() - 1;
    }
    for (auto& bucket : buckets_) bucket.flat = at::zeros({bucket.numel}, at::TensorOptions().dtype(bucket.dtype));
    for (std::size_t k = 0; k < parameters_.size(); ++k) {
      auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
      hook_keys_.push_back(accumulator->add_post_hook(std::make_unique<ReadyHook>(this, k)));
      accumulators_.push_back(std::move(accumulator));
    }
  }

  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  ~GradientReducer() {
    for (std::size_t k = 0; k < accumulators_.size(); ++k) accumulators_[k]->del_post_hook(hook_keys_[k]);
  }

  bool enabled = true;  // false inside no_sync(): gradients accumulate locally

  std::size_t bucket_count() const { return buckets_.size(); }
  std::size_t bytes_per_step() const {
    std::size_t total = 0;
    for (const auto& b : buckets_) total += b.bytes;
    return total;
  }
  std::size_t parameter_count() const { return parameters_.size(); }
  // How many buckets the last synchronised backward launched from its hooks, before it ended.
  std::size_t launched_during_backward() const { return launched_during_backward_; }

  // finish(): launches the buckets backward did not complete (parameters it did not reach count
  // as zero gradients), waits for all, and writes the averages into the gradients. Idempotent.
  void finish() {
    if (!in_flight_) return;
    try {
      for (std::size_t k = 0; k < parameters_.size(); ++k)
        if (!ready_[k]) copy_in(k);
      launch_ready_buckets(/*force=*/true);
      const double world = static_cast<double>(group_.size());
      at::NoGradGuard no_grad;
      for (std::size_t b = 0; b < buckets_.size(); ++b) {
        auto& bucket = buckets_[b];
        group_.wait(bucket.work, "gradient allreduce of bucket " + std::to_string(b + 1) + " of " +
                                     std::to_string(buckets_.size()) + " (" + std::to_string(bucket.bytes) +
                                     " bytes)");
        bucket.flat.div_(world);
        for (std::size_t k : bucket.members) {
          auto& p = parameters_[k];
          auto average = bucket.flat.narrow(0, offset_of_[k], p.numel()).view(p.sizes());
          if (p.grad().defined()) p.mutable_grad().copy_(average);
          else p.mutable_grad() = average.clone();
        }
      }
    } catch (...) {
      reset();  // the next backward starts afresh (if the group still works)
      throw;
    }
    reset();
  }

 private:
  struct Bucket {
    at::ScalarType dtype = at::kFloat;
    std::vector<std::size_t> members;  // parameter indices
    std::int64_t numel = 0;
    std::size_t bytes = 0;
    std::size_t pending = 0;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };

  // Runs after AccumulateGrad has written a parameter's .grad.
  struct ReadyHook : torch::autograd::FunctionPostHook {
    ReadyHook(GradientReducer* reducer, std::size_t index) : reducer(reducer), index(index) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list&) override {
      reducer->mark_ready(index);
      return outputs;
    }
    GradientReducer* reducer;
    std::size_t index;
  };

  void reset() {
    in_flight_ = false;
    std::fill(ready_.begin(), ready_.end(), false);
    for (auto& bucket : buckets_) bucket.work.reset();
    next_bucket_ = 0;
  }

  void mark_ready(std::size_t k) {
    if (!enabled || ready_[k]) return;
    if (!in_flight_) {
      in_flight_ = true;
      launched_during_backward_ = 0;
      for (auto& bucket : buckets_) bucket.pending = bucket.members.size();
      // Run finish() when this backward pass ends, so backward returns averaged gradients.
      torch::autograd::Engine::get_default_engine().queue_callback([this] { finish(); });
    }
    copy_in(k);
    launch_ready_buckets(/*force=*/false);
  }

  void copy_in(std::size_t k) {
    ready_[k] = true;
    auto& bucket = buckets_[bucket_of_[k]];
    const auto& p = parameters_[k];
    auto slot = bucket.flat.narrow(0, offset_of_[k], p.numel());
    at::NoGradGuard no_grad;
    if (p.grad().defined()) slot.copy_(p.grad().reshape({-1}));
    else slot.zero_();
    --bucket.pending;
  }

  // Buckets are launched in index order on every rank (c10d matches collectives by order).
  void launch_ready_buckets(bool force) {
    while (next_bucket_ < buckets_.size() && (force || buckets_[next_bucket_].pending == 0)) {
      buckets_[next_bucket_].work = group_.allreduce_sum(buckets_[next_bucket_].flat);
      ++next_bucket_;
      if (!force) ++launched_during_backward_;
    }
  }

  ProcessGroup group_;
  std::vector<at::Tensor> parameters_;
  std::vector<std::size_t> bucket_of_;
  std::vector<std::int64_t> offset_of_;  // in the bucket's flat buffer
  std::vector<bool> ready_;
  std::vector<Bucket> buckets_;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<std::uintptr_t> hook_keys_;
  std::size_t next_bucket_ = 0;
  std::size_t launched_during_backward_ = 0;
  bool in_flight_ = false;
};

template <class M>
std::vector<at::Tensor> parameters_to_reduce(M& model) {
  std::vector<at::Tensor> out;
  for (auto& p : trainable_parameters(model))
    if (p.requires_grad()) out.push_back(p);
  return out;
}

template <class M>
std::vector<at::Tensor> state_tensors(M& model) {
  auto out = model->parameters();
  for (auto& b : model->buffers()) out.push_back(b);
  return out;
}

}  // namespace detail

// DataParallel<M>: a modify model trained data-parallel over `group`. The model is shared, not
// copied: at construction every rank's parameters and buffers are overwritten with rank 0's (the
// one write the wrapper makes to the model's tensors, besides the gradients and the buffer
// synchronisation below), and autograd hooks are added to its trainable parameters (removed when
// the wrapper is destroyed). The group is shared too (a ProcessGroup copy is the same group).
//
//   modify::distributed::ProcessGroup group;                 // from RANK, WORLD_SIZE, ...
//   modify::distributed::DataParallel ddp(model, group);     // rank 0's parameters and buffers
//   auto loss = loss_fn(ddp(local_batch), targets);
//   loss.backward();                                         // returns with averaged gradients
//   optimizer.step();
//
// Gradients are averaged when backward ends (an autograd engine callback), so there is nothing
// to forget before optimizer.step(). Only trainable parameters (modify::trainable_parameters,
// requires_grad) are communicated: a LoRA-adapted model sends its adapters' gradients alone.
template <class M>
class DataParallel {
  static_assert(Module<M>, "modify: DataParallel<M>: M must be a modify model (a module whose traits are declared)");

 public:
  DataParallel(M model, ProcessGroup group, DataParallelOptions options = {})
      : model_(std::move(model)), group_(std::move(group)), options_(options) {
    if constexpr (Module<M>) {  // otherwise the static_assert above is the one error
      group_.broadcast(detail::state_tensors(model_), 0);
      reducer_ = std::make_unique<detail::GradientReducer>(group_, detail::parameters_to_reduce(model_),
                                                           options.bucket_bytes);
    }
  }

  // ddp(x...): the model's forward, after synchronising buffers as options.buffers says.
  template <class... X>
  auto operator()(X&&... x) {
    const bool training = model_->is_training();
    const bool sync = options_.buffers == BufferSync::every_forward ||
                      (options_.buffers == BufferSync::at_evaluation && !training && buffers_changed_);
    if (sync) synchronize_buffers();
    if (training) buffers_changed_ = true;
    return model_(std::forward<X>(x)...);
  }

  // synchronize_buffers(): every rank's buffers become rank 0's (a collective: all ranks call it).
  void synchronize_buffers() {
    group_.broadcast(model_->buffers(), 0);
    buffers_changed_ = false;
  }

  // no_sync(): while the returned guard lives, backward accumulates gradients locally; the first
  // backward after it averages the accumulated gradients (gradient accumulation).
  class [[nodiscard]] NoSync {
   public:
    explicit NoSync(detail::GradientReducer& reducer) : reducer_(&reducer), previous_(reducer.enabled) {
      reducer.enabled = false;
    }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;
    ~NoSync() { reducer_->enabled = previous_; }

   private:
    detail::GradientReducer* reducer_;
    bool previous_;
  };
  NoSync no_sync() { return NoSync(*reducer_); }

  // finish_gradient_synchronization(): waits for the gradient averaging of the last backward.
  // backward already does this when it ends; calling it again does nothing.
  void finish_gradient_synchronization() { reducer_->finish(); }

  M& module() { return model_; }
  const ProcessGroup& group() const { return group_; }
  // Bytes of gradient each rank sends into the allreduce per synchronised step, and in how many buckets.
  std::size_t gradient_bytes_per_step() const { return reducer_->bytes_per_step(); }
  std::size_t bucket_count() const { return reducer_->bucket_count(); }
  std::size_t reduced_parameter_count() const { return reducer_->parameter_count(); }
  // How many buckets the last synchronised backward started before it ended (overlap).
  std::size_t buckets_launched_during_backward() const { return reducer_->launched_during_backward(); }

 private:
  M model_;
  ProcessGroup group_;
  DataParallelOptions options_;
  std::unique_ptr<detail::GradientReducer> reducer_;
  bool buffers_changed_ = false;
};

}  // namespace modify::distributed
