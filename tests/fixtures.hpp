// Reading reference fixtures written by PyTorch (tests/fixtures/*.pt, made by the generator scripts
// beside them): each file is `torch.save` of a dict str -> tensor.
//
//   auto f = modify_test::Fixture("norms_attention.pt");
//   torch::Tensor y = f["batchnorm2d.train.out"];   // a missing key throws, naming the key and file
//
// Files are found in MODIFY_TEST_FIXTURES_DIR (set by tests/meson.build to tests/fixtures).
// Also: temp_path (a per-process scratch file) and snapshot / unchanged (a model's tensors copied,
// to prove later that nothing was written).
#pragma once

#include <concepts>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/serialize.h>
#include <torch/torch.h>

#ifndef MODIFY_TEST_FIXTURES_DIR
#error "MODIFY_TEST_FIXTURES_DIR must name the directory of the test fixtures (see tests/meson.build)"
#endif

namespace modify_test {

// Fixture(name): the tensors of tests/fixtures/<name>, loaded once per object.
class Fixture {
 public:
  explicit Fixture(const std::string& name) : path_(std::filesystem::path(MODIFY_TEST_FIXTURES_DIR) / name) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) throw std::runtime_error("fixture file not found: " + path_.string() + " (run its generator script)");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto dict = torch::pickle_load(bytes).toGenericDict();
    for (const auto& entry : dict) tensors_.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }

  // f[key]: the tensor saved under key; throws if there is none.
  const torch::Tensor& operator[](const std::string& key) const {
    auto it = tensors_.find(key);
    if (it == tensors_.end()) throw std::out_of_range("fixture " + path_.string() + " has no tensor '" + key + "'");
    return it->second;
  }
  bool contains(const std::string& key) const { return tensors_.count(key) != 0; }
  const std::map<std::string, torch::Tensor>& tensors() const { return tensors_; }

 private:
  std::filesystem::path path_;
  std::map<std::string, torch::Tensor> tensors_;
};

// temp_path(name): a path in a folder of this test process's own, removed when the process ends,
// so test files run in parallel (or from two build trees at once) never share a file.
inline std::string temp_path(const std::string& name) {
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("modify_test_" + std::to_string(::getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Folder folder;
  return (folder.path / name).string();
}

// Snapshot: deep copies of a model's parameters and (defined) buffers, by dotted name.
using Snapshot = std::map<std::string, torch::Tensor>;

// snapshot(model): the model's tensors copied now (model: a handle or a torch::nn::Module).
template <class M>
Snapshot snapshot(const M& model) {
  const torch::nn::Module& module = [&]() -> const torch::nn::Module& {
    if constexpr (std::derived_from<M, torch::nn::Module>) return model;
    else return *model.ptr();
  }();
  Snapshot out;
  for (const auto& p : module.named_parameters()) out.emplace(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers())
    if (b.value().defined()) out.emplace(b.key(), b.value().detach().clone());
  return out;
}

// same_tensors(a, b): the same names, each tensor bitwise equal (same shape and dtype too).
inline bool same_tensors(const Snapshot& a, const Snapshot& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, tensor] : a) {
    const auto it = b.find(name);
    if (it == b.end() || tensor.scalar_type() != it->second.scalar_type() || !torch::equal(tensor, it->second))
      return false;
  }
  return true;
}

// unchanged(model, before): whether the model's tensors are still bitwise its snapshot `before`.
template <class M>
bool unchanged(const M& model, const Snapshot& before) {
  return same_tensors(snapshot(model), before);
}

}  // namespace modify_test
