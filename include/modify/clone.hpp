// clone(model): a deep copy of a model, with its own parameters, of the same type.
#pragma once

#include <memory>

#include <c10/util/Optional.h>
#include <torch/nn/module.h>
#include <modify/detail/one_time.hpp>
#include <modify/holder.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

// clone(model [, device]): a new model of the same type whose parameters and buffers are new
// tensors equal to the originals (copying a handle, by contrast, shares them).
template <class H>
H clone(const H& model, const c10::optional<torch::Device>& device = c10::nullopt) {
  return H(detail::module_cast<typename H::ContainedType>(model->clone(device)));
}

}  // namespace modify

MODIFY_ONE_TIME_END
