// An experiment, not part of the library: containers that are not module classes of their own.
// One ContainerModule class serves every container; a container type is only a handle whose forward
// reaches its children through typed pointers. Used by container_types.cpp to measure what a
// container type costs GCC in this design against modify::Sequential (bench/README.md, "Compile
// cost"). It leaves out what a full design needs: child names, error paths, trait checks.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace prototype {

// A child as the untyped container holds it: its module, the module as its own class (void*, cast
// back by the typed handle) and how to find that again in a clone.
struct ChildEntry {
  std::shared_ptr<torch::nn::Module> module;
  void* typed;
  void* (*retype)(torch::nn::Module&);
};

class ContainerModule : public torch::nn::Module {
 public:
  ContainerModule(std::string name, bool training, std::vector<ChildEntry> children)
      : torch::nn::Module(std::move(name)) {
    if (!training) torch::nn::Module::train(false);
    for (std::size_t i = 0; i < children.size(); ++i) {
      register_module(std::to_string(i), children[i].module);
      typed.push_back(children[i].typed);
      retypes.push_back(children[i].retype);
    }
  }
  std::shared_ptr<torch::nn::Module> clone(const c10::optional<torch::Device>& device = c10::nullopt) const override {
    std::vector<ChildEntry> copies;
    std::size_t i = 0;
    for (const auto& child : children()) {
      auto copy = child->clone(device);
      void* copy_typed = retypes[i](*copy);
      copies.push_back({std::move(copy), copy_typed, retypes[i]});
      ++i;
    }
    return std::make_shared<ContainerModule>(name(), is_training(), std::move(copies));
  }
  void pretty_print(std::ostream& out) const override { out << name(); }

  std::vector<void*> typed;
  std::vector<void* (*)(torch::nn::Module&)> retypes;
};

template <class C>
concept container = requires { C::is_prototype_container; };

template <class Impl>
void* retype(torch::nn::Module& module) {
  return dynamic_cast<Impl*>(&module);
}

template <class C>
ChildEntry entry(C& child) {
  if constexpr (container<C>) return {child.ptr(), child.get(), &retype<ContainerModule>};
  else return {child.ptr(), child.get(), &retype<typename C::ContainedType>};
}

template <class C, class X>
auto call(void* typed, const X& x) {
  if constexpr (container<C>) return C::run(*static_cast<ContainerModule*>(typed), x);
  else return static_cast<typename C::ContainedType*>(typed)->forward(x);
}

// Sequential<Cs...>: the handle; every container type shares ModuleHolder<ContainerModule>.
template <class... Cs>
class Sequential : public torch::nn::ModuleHolder<ContainerModule> {
 public:
  static constexpr bool is_prototype_container = true;
  explicit Sequential(Cs... children)
      : torch::nn::ModuleHolder<ContainerModule>(std::make_shared<ContainerModule>(
            "prototype::Sequential", true, std::vector<ChildEntry>{entry(children)...})) {}

  template <class X>
  static auto run(ContainerModule& module, const X& x) {
    return step<0>(module, x);
  }
  template <class X>
  auto operator()(const X& x) {
    return run(*get(), x);
  }

 private:
  template <std::size_t I, class X>
  static auto step(ContainerModule& module, const X& x) {
    using C = std::tuple_element_t<I, std::tuple<Cs...>>;
    if constexpr (I + 1 == sizeof...(Cs)) return call<C>(module.typed[I], x);
    else return step<I + 1>(module, call<C>(module.typed[I], x));
  }
};

}  // namespace prototype
