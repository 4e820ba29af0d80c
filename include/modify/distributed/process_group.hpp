// Joining a c10d process group (Gloo over TCP): rank, world size and rendezvous from the
// environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or from explicit options.
#pragma once

// Debian's libtorch_cpu is built with Gloo, but c10d's ProcessGroupGloo.hpp hides its
// declarations unless USE_C10D_GLOO is defined (the gloo headers come from libgloo-dev).
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <modify/errors.hpp>

namespace modify::distributed {

// GroupOptions: who this process is and where the group meets. Fields left at their defaults
// are read from the environment, as torchrun and modify-run set it.
struct GroupOptions {
  int rank = -1;                // -1: $RANK
  int world_size = -1;          // -1: $WORLD_SIZE
  std::string master_addr{};    // empty: $MASTER_ADDR (rank 0's address; the TCPStore lives there)
  int master_port = -1;         // -1: $MASTER_PORT
  // Non-empty: meet through a FileStore at this path (a shared file system) instead of TCP.
  std::string store_file{};
  // The address Gloo listens on; empty: 127.0.0.1 when the master is on loopback, otherwise the
  // address this machine's hostname resolves to. Set it on machines with several interfaces.
  std::string local_addr{};
  // How long the rendezvous and every collective may wait for a peer before failing.
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

// Error: a failure to form the group or to communicate, naming the rank and the operation.
// A c10::Error, so code that catches LibTorch's errors still catches it.
class Error : public c10::Error {
 public:
  explicit Error(const std::string& message) : c10::Error("modify: distributed: " + message, "") {}
};

namespace detail {
inline std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

inline int environment_int(const char* name, int given) {
  if (given >= 0) return given;
  auto text = environment(name);
  if (!text)
    throw Error(std::string(name) + " is not set: start the program with modify-run, or set RANK, "
                "WORLD_SIZE, MASTER_ADDR and MASTER_PORT (see docs/distributed.md)");
  char* end = nullptr;
  long value = std::strtol(text->c_str(), &end, 10);
  if (end == text->c_str() || *end != '\0' || value < 0 || value > 1 << 30)
    throw Error(std::string(name) + "='" + *text + "' is not a non-negative integer");
  return static_cast<int>(value);
}

inline bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}
}  // namespace detail

// resolve(options): the options with every default filled in from the environment; throws
// modify::distributed::Error naming the missing or malformed variable.
inline GroupOptions resolve(GroupOptions options) {
  options.rank = detail::environment_int("RANK", options.rank);
  options.world_size = detail::environment_int("WORLD_SIZE", options.world_size);
  if (options.world_size < 1) throw Error("WORLD_SIZE must be at least 1");
  if (options.rank >= options.world_size)
    throw Error("RANK " + std::to_string(options.rank) + " is not below WORLD_SIZE " +
                std::to_string(options.world_size));
  if (options.store_file.empty()) {
    if (options.master_addr.empty()) options.master_addr = detail::environment("MASTER_ADDR").value_or("127.0.0.1");
    options.master_port = detail::environment_int("MASTER_PORT", options.master_port);
    if (options.master_port < 1 || options.master_port > 65535)
      throw Error("MASTER_PORT " + std::to_string(options.master_port) + " is not a TCP port");
  }
  if (options.local_addr.empty() && (options.store_file.size() || detail::is_loopback(options.master_addr)))
    options.local_addr = "127.0.0.1";
  return options;
}

// ProcessGroup: this process's membership of a Gloo group; copies share it. Every collective must
// be called by all ranks in the same order (c10d's rule); each throws modify::distributed::Error
// on failure or timeout, so a dead peer is an exception, not a hang.
class ProcessGroup {
 public:
  // ProcessGroup(options): meets the other ranks (blocks until all have joined, or the timeout).
  explicit ProcessGroup(GroupOptions options = {}) : options_(resolve(std::move(options))) {
    try {
      c10::intrusive_ptr<c10d::Store> store;
      if (!options_.store_file.empty()) {
        store = c10::make_intrusive<c10d::FileStore>(options_.store_file, options_.world_size);
      } else {
        c10d::TCPStoreOptions tcp;
        tcp.port = static_cast<std::uint16_t>(options_.master_port);
        tcp.isServer = options_.rank == 0;
        tcp.numWorkers = options_.world_size;
        tcp.timeout = options_.timeout;
        store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, tcp);
      }
      store->setTimeout(options_.timeout);
      auto gloo = c10d::ProcessGroupGloo::Options::create(options_.timeout);
      gloo->devices.push_back(options_.local_addr.empty()
                                  ? c10d::ProcessGroupGloo::createDefaultDevice()
                                  : c10d::ProcessGroupGloo::createDeviceForHostname(options_.local_addr));
      backend_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options_.rank, options_.world_size, gloo);
    } catch (const std::exception& e) {
      throw Error("rank " + std::to_string(options_.rank) + " of " + std::to_string(options_.world_size) +
                  " could not join the group at " + where() + " within " +
                  std::to_string(options_.timeout.count()) + " ms: " + modify::detail::message_of(e));
    }
  }

  int rank() const { return options_.rank; }
  int size() const { return options_.world_size; }
  const GroupOptions& options() const { return options_; }
  // The c10d process group, for collectives this class does not wrap.
  c10d::ProcessGroup& backend() const { return *backend_; }

  // wait(work, what): waits for an asynchronous collective; a failure names `what` and the rank.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) const {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw Error(what + " failed on rank " + std::to_string(rank()) + " of " + std::to_string(size()) +
                  " (a peer died, or did not call the same collective within " +
                  std::to_string(options_.timeout.count()) + " ms): " + modify::detail::message_of(e));
    }
  }

  void barrier() const { wait(backend_->barrier(), "barrier"); }

  // allreduce_sum(t): t becomes the elementwise sum of every rank's t (asynchronous; see wait).
  c10::intrusive_ptr<c10d::Work> allreduce_sum(const at::Tensor& tensor) const {
    std::vector<at::Tensor> tensors{tensor};
    return backend_->allreduce(tensors, c10d::AllreduceOptions{});
  }

  // broadcast(tensors, root): every rank's tensors become root's, in place, one collective per
  // dtype (the tensors are packed into one buffer each). Tensors must have the same shapes on
  // all ranks.
  void broadcast(const std::vector<at::Tensor>& tensors, int root = 0) const {
    std::map<at::ScalarType, std::vector<at::Tensor>> by_dtype;
    for (const auto& t : tensors) by_dtype[t.scalar_type()].push_back(t);
    at::NoGradGuard no_grad;
    for (auto& [dtype, group] : by_dtype) {
      std::vector<at::Tensor> flat_views;
      for (const auto& t : group) flat_views.push_back(t.reshape({-1}));
      std::vector<at::Tensor> packed{at::cat(flat_views)};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      wait(backend_->broadcast(packed, options),
           "broadcast of " + std::to_string(packed[0].numel()) + " " + std::string(c10::toString(dtype)) +
               " values from rank " + std::to_string(root));
      std::int64_t offset = 0;
      for (auto& t : group) {
        t.copy_(packed[0].narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  }

 private:
  std::string where() const {
    return options_.store_file.empty() ? options_.master_addr + ":" + std::to_string(options_.master_port)
                                       : "file " + options_.store_file;
  }

  GroupOptions options_;
  c10::intrusive_ptr<c10d::ProcessGroup> backend_;
};

}  // namespace modify::distributed
