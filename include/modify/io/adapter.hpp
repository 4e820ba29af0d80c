// PEFT adapter files: save_adapter writes one LoRA adapter's tensors alone, under PEFT's keys, and
// load_adapter reads them back into an adapted model, all or nothing. Kept apart from
// transform/lora.hpp so that a unit adapting a model does not parse the file formats.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include <modify/access.hpp>
#include <modify/detail/one_time.hpp>
#include <modify/fixed_string.hpp>
#include <modify/io/safetensors.hpp>
#include <modify/io/state_dict.hpp>
#include <modify/transform/lora.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

namespace detail {
// adapter_tensors<Name>(model): PEFT's file names for adapter Name's tensors ("<path>.lora_A.weight",
// "<path>.lora_B.weight"; "<path>.lora_embedding_A", "<path>.lora_embedding_B") and the tensors.
template <FixedString Name, class M>
std::vector<std::pair<std::string, at::Tensor>> adapter_tensors(M& model) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for_each_leaf(model, [&]<class H>(std::string_view path, H& leaf) {
    if constexpr (is_lora<H>) {
      using Impl = impl_t<H>;
      constexpr std::size_t i = [] {
        for (std::size_t k = 0; k < Impl::adapter_count; ++k)
          if (Impl::adapter_names[k] == Name.view()) return k;
        return Impl::adapter_count;
      }();
      if constexpr (i < Impl::adapter_count) {
        const bool embedding = std::is_same_v<impl_t<typename Impl::base_type>, torch::nn::EmbeddingImpl>;
        const std::string p(path);
        out.emplace_back(p + (embedding ? ".lora_embedding_A" : ".lora_A.weight"), leaf->adapters[i].A);
        out.emplace_back(p + (embedding ? ".lora_embedding_B" : ".lora_B.weight"), leaf->adapters[i].B);
      }
    }
  });
  return out;
}

// The adapter's tensors under the keys PEFT writes in adapter_model.safetensors.
template <FixedString Name, class M>
NamedTensors peft_adapter_tensors(M& model) {
  auto tensors = adapter_tensors<Name>(model);
  for (auto& [key, _] : tensors) key = "base_model.model." + key;
  return tensors;
}
}  // namespace detail

// save_adapter<"name">(model, path): the adapter's tensors alone, in a safetensors file under
// PEFT's keys ("base_model.model.<path>.lora_A.weight", ...), written atomically.
template <FixedString Name = "default", class M>
void save_adapter(M& model, const std::string& path) {
  auto tensors = detail::peft_adapter_tensors<Name>(model);
  if (tensors.empty()) throw std::invalid_argument("modify: save_adapter: the model has no adapter named '" + std::string(Name.view()) + "'");
  safetensors::save(path, tensors, {{"format", "pt"}});
}

// load_adapter<"name">(model, path): loads the adapter's tensors from save_adapter's file. All or
// nothing: every problem (missing, unexpected, wrongly shaped or typed tensors: a LoadError; a
// malformed file: a safetensors::FormatError) is reported at once and the model is left exactly as
// it was. The adapter tensors are written in place, so models sharing this adapter see the values.
template <FixedString Name = "default", class M>
void load_adapter(M& model, const std::string& path) {
  detail::load_named(detail::peft_adapter_tensors<Name>(model), safetensors::load(path), {},
                     "load_adapter: '" + path + "' (adapter '" + std::string(Name.view()) + "')");
}

}  // namespace modify

MODIFY_ONE_TIME_END
