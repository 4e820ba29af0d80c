// What Sequential and Parallel share: typed children, their registration and names, clone, printing.
#pragma once

#include <array>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <modify/clone.hpp>
#include <modify/detail/children.hpp>
#include <modify/detail/invoke.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/named.hpp>
#include <modify/traits.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify::detail {

// check_child<C>(): C may be a child of a container. One static_assert per kind of mistake.
template <class C>
constexpr bool check_child() {
  using M = typename child_info<C>::module_type;
  using Impl = impl_t<M>;
  if constexpr (!std::is_base_of_v<torch::nn::Module, Impl>) {
    static_assert(dependent_false<C>, "modify: a child of Sequential or Parallel is not a module; children are "
                                      "module handles such as torch::nn::Linear or modify::Add");
    return false;
  } else if constexpr (!std::is_base_of_v<torch::detail::ModuleHolderIndicator, M>) {
    static_assert(dependent_false<C>, "modify: a child is a module object, not a handle; pass torch::nn::Linear(...), "
                                      "not torch::nn::LinearImpl(...)");
    return false;
  } else if constexpr (!has_declared_traits<Impl>()) {
    static_assert(dependent_false<C>, "modify: a child's module type declares no traits; give it `static constexpr "
                                      "modify::Traits traits` or use MODIFY_DECLARE_TRAITS");
    return false;
  } else {
    return true;
  }
}

template <std::size_t N>
constexpr bool distinct(const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i)
    for (std::size_t j = i + 1; j < N; ++j)
      if (names[i] == names[j]) return false;
  return true;
}

// from_children: constructs a container directly from its (unwrapped) child handles.
struct from_children_t {};
inline constexpr from_children_t from_children{};

// ChildHandle: a child as the registration needs it: its module (a raw pointer, since the tuple of
// handles owns it) and whether it is a custom leaf, which may not hold submodules of its own.
struct ChildHandle {
  torch::nn::Module* module;
  bool custom_leaf;
};

// register_children(self, names, children, n): registers each child under its name, after checking
// it is not an empty handle nor a custom leaf with submodules.
inline void register_children(torch::nn::Module& self, const std::string_view* names, const ChildHandle* children,
                              std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name(names[i]);
    if (!children[i].module)
      throw std::invalid_argument("modify: child '" + name + "' of " + self.name() +
                                  " is an empty module handle (made from nullptr)");
    if (children[i].custom_leaf && !children[i].module->children().empty())
      throw std::invalid_argument("modify: child '" + name + "' of " + self.name() +
                                  " is a custom leaf that registered submodules; leaves cannot hold submodules");
    self.register_module(name, children[i].module->shared_from_this());
  }
}

// ContainerModule: the torch::nn::Module under every Sequential and Parallel. One class for all of
// them, so that a container type is one polymorphic class (its own vtable, typeinfo and destructors)
// and not two: a class template between it and torch::nn::Module would bring its own (compile
// time, see bench/README.md).
class ContainerModule : public torch::nn::Module {
 public:
  void pretty_print(std::ostream& out) const override { out << this->name(); }

 protected:
  // training: the container's own mode, set before its children are registered so that they
  // (possibly shared with another model) keep theirs.
  ContainerModule(std::string display_name, bool training) : torch::nn::Module(std::move(display_name)) {
    if (!training) torch::nn::Module::train(false);
  }
};

// Container<Derived, Cs...>: the typed part of a container Derived (which is also a
// ContainerModule): its children Cs (each a module handle, or Named<"name", handle>), their names,
// registration and clone. Not itself a module, so that it brings no vtable of its own.
template <class Derived, class... Cs>
class Container {
 public:
  static constexpr bool is_container = true;
  static constexpr std::size_t size = sizeof...(Cs);
  using child_types = std::tuple<Cs...>;
  using children_type = Children<typename child_info<Cs>::module_type...>;
  // Reports each child that is not a module as soon as the class is instantiated (a static
  // member's type is instantiated with the class, before any forward is deduced); the bodies
  // below are skipped when it is false so that the report is the only error.
  static constexpr std::bool_constant<(check_child<Cs>() && ...)> well_formed{};

  // names[i]: the name the i-th child is registered under.
  static constexpr std::array<std::string_view, size> names =
      []<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<std::string_view, size>{child_info<Cs>::template name<I>...};
      }(std::index_sequence_for<Cs...>{});
  static_assert(distinct(names), "modify: two children of one container have the same name");

  // The children, as handles sharing their modules with whoever else holds them.
  children_type child_modules;

  // assemble(children, training): a new container of these children; every transform builds its
  // result through here, so each container type has one make_module.
  static std::shared_ptr<Derived> assemble(children_type&& children, bool training) {
    return detail::make_module<Derived>(from_children, std::move(children), training);
  }

 protected:
  // self: the container this is the typed part of, already constructed as a ContainerModule.
  Container(torch::nn::Module& self, children_type&& children) : child_modules(std::move(children)) {
    if constexpr (well_formed) {
      // Registered through one non-template function: every container type, and there is one
      // per model and per transform result, would otherwise instantiate LibTorch's
      // register_module and OrderedDict::insert once per child type (compile time, see
      // bench/README.md).
      const auto handles = unpack(child_modules, [](auto&... child) {
        return std::array<ChildHandle, size>{ChildHandle{child.is_empty() ? nullptr : child.get(),
                                                         custom_leaf<impl_t<std::remove_cvref_t<decltype(child)>>>}...};
      });
      register_children(self, names.data(), handles.data(), size);
    }
  }

  // clone_container(device, training): what Derived's clone returns, a deep copy whose parameters
  // are new tensors with the same values. Each child is copied by modify::clone, instantiated once
  // per handle type, not once per container and child type as a member template would be.
  std::shared_ptr<torch::nn::Module> clone_container(const c10::optional<torch::Device>& device,
                                                     bool training) const {
    if constexpr (!well_formed) {
      return nullptr;
    } else {
      auto copies =
          unpack(child_modules, [&](const auto&... child) { return children_type{modify::clone(child, device)...}; });
      return assemble(std::move(copies), training);
    }
  }
};

// unwrap_children(cs...): the children list of a container's constructor arguments (Named children
// unwrapped), moved from them: the constructors take their arguments by value.
template <class... Cs>
auto unwrap_children(Cs&... cs) {
  return Children<typename child_info<Cs>::module_type...>{std::move(child_info<Cs>::module(cs))...};
}

}  // namespace modify::detail

MODIFY_ONE_TIME_END
