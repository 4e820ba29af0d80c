// The examples' self-checks: a printed list of named checks, and bitwise snapshots of a model.
#pragma once

#include <cstddef>
#include <iostream>
#include <string>

#include <torch/torch.h>

#include <modify/io/state_dict.hpp>

namespace examples {

// Checks check; check(ok, "what"); prints "ok"/"FAILED" and the sentence; check.all says whether
// every one passed (the example's exit code).
struct Checks {
  bool all = true;
  void operator()(bool ok, const std::string& what) {
    std::cout << (ok ? "  ok      " : "  FAILED  ") << what << "\n";
    all = all && ok;
  }
};

// snapshot(model): every parameter and buffer by name, cloned: to prove later that nothing was written.
template <class M>
modify::NamedTensors snapshot(M& model) {
  auto out = modify::state_dict(model);
  for (auto& named : out) named.second = named.second.detach().clone();
  return out;
}

// unchanged(model, before): the model has the same names and bitwise the same tensors as the snapshot.
template <class M>
bool unchanged(M& model, const modify::NamedTensors& before) {
  const auto now = modify::state_dict(model);
  if (now.size() != before.size()) return false;
  for (std::size_t i = 0; i < now.size(); ++i)
    if (now[i].first != before[i].first || !torch::equal(now[i].second, before[i].second)) return false;
  return true;
}

}  // namespace examples
