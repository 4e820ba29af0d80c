// Run-time errors raised in forward, rethrown with the failing module's dotted path and inputs.
#pragma once

#include <cctype>
#include <exception>
#include <string>
#include <utility>

#include <c10/util/Exception.h>

#include <modify/value.hpp>

namespace modify {

// ForwardError: an exception thrown inside some module's forward, with where it happened.
// It is a c10::Error, so code that catches LibTorch's errors still catches it.
class ForwardError : public c10::Error {
 public:
  ForwardError(std::string path, std::string module_type, std::string input, std::string reason)
      : c10::Error(compose(path, module_type, input, reason), ""),
        path_(std::move(path)),
        module_type_(std::move(module_type)),
        input_(std::move(input)),
        reason_(std::move(reason)) {}

  // The dotted path of the failing module, relative to the model forward was called on.
  const std::string& path() const { return path_; }
  const std::string& module_type() const { return module_type_; }
  // Shapes and dtypes of the failing module's input.
  const std::string& input() const { return input_; }
  // The original exception's message.
  const std::string& reason() const { return reason_; }

  // The same error seen one level up, from a container that calls the failing subtree `child`.
  ForwardError nested_in(std::string_view child) const {
    return {std::string(child) + '.' + path_, module_type_, input_, reason_};
  }

 private:
  static std::string compose(const std::string& path, const std::string& type,
                             const std::string& input, const std::string& reason) {
    return "modify: forward failed in module '" + path + "' (" + type + ") on input " + input +
           ": " + reason;
  }

  std::string path_, module_type_, input_, reason_;
};

namespace detail {

// message_of(e): the message of an exception without LibTorch's C++ backtrace.
inline std::string message_of(const std::exception& e) {
  auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  std::string message = c10_error ? c10_error->what_without_backtrace() : e.what();
  while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
  return message;
}

// rethrow_in(child, module_type, input): called in a catch block; rethrows the current exception
// with the path one level deeper. Not a template on the module (its type's name is all it needs),
// so every container's call of every child shares one instantiation per input type.
template <class Input>
[[noreturn]] void rethrow_in(std::string_view child, const std::string& module_type, const Input& input) {
  try {
    throw;
  } catch (const ForwardError& e) {
    throw e.nested_in(child);
  } catch (const std::exception& e) {
    throw ForwardError(std::string(child), module_type, describe(input), message_of(e));
  }
}

}  // namespace detail
}  // namespace modify
