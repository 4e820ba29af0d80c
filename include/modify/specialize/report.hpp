// SpecializeOptions and SpecializeReport: what modify::specialize is asked to do and what it did.
#pragma once

#include <cstddef>
#include <ostream>
#include <sstream>
#include <string>
#include <modify/detail/one_time.hpp>

MODIFY_ONE_TIME_BEGIN

namespace modify {

// SpecializeOptions: compile-time choices of modify::specialize<Options>(model, example).
struct SpecializeOptions {
  // Keep Print, PrintShape, Breakpoint and AssertShape (they are dropped by default).
  bool keep_debug = false;
  // Return the output in the model's own buffer, overwritten by the next call, instead of an
  // independent tensor (saves one copy of the output per call).
  bool return_buffer = false;
};

// SpecializeReport: counts per pass, and the static memory plan made for the example input.
struct SpecializeReport {
  std::size_t dropped = 0;             // Dropout and debug modules (and Identity) removed
  std::size_t lora_merged = 0;         // LoRA adapters folded into their base weights
  std::size_t lowered_linear = 0;      // Linear layers run as addmm on a pre-transposed weight
  std::size_t lowered_conv = 0;        // convolutions run with folded weights
  std::size_t affine_folds = 0;        // BatchNorm / ElementwiseAffine / Scale / Shift / Negative folded into a neighbour
  std::size_t rank_conditional_folds = 0;  // of those, folds that hold only for inputs of one rank (others run unfolded)
  std::size_t affine_kept = 0;         // affine maps left alone (wrong axis for the layer before them)
  std::size_t linear_folds = 0;        // Linear∘Linear products folded into one Linear
  std::size_t linear_chained = 0;      // Linear∘Linear kept as two (the product would be larger)
  std::size_t inplace_activations = 0; // activations run in place on their producer's output
  std::size_t inplace_residuals = 0;   // residual additions done in place in the branch's output
  std::size_t cached_causal_masks = 0; // causal attentions whose mask is made once, not per call
  std::size_t buffers = 0;             // intermediate buffers planned for the example input
  std::size_t buffer_bytes = 0;        // their total size

  std::string to_string() const {
    std::ostringstream out;
    out << "modify::specialize report\n"
        << "  dropped modules:        " << dropped << '\n'
        << "  LoRA adapters merged:   " << lora_merged << '\n'
        << "  Linear as addmm:        " << lowered_linear << '\n'
        << "  convolutions:           " << lowered_conv << '\n'
        << "  affine folds:           " << affine_folds << " (" << rank_conditional_folds << " for one input rank only)\n"
        << "  affine maps kept:       " << affine_kept << '\n'
        << "  Linear∘Linear folded:   " << linear_folds << " (kept as two: " << linear_chained << ")\n"
        << "  in-place activations:   " << inplace_activations << '\n'
        << "  in-place residual adds: " << inplace_residuals << '\n'
        << "  cached causal masks:    " << cached_causal_masks << '\n'
        << "  buffers planned:        " << buffers << " (" << buffer_bytes << " bytes)\n";
    return out.str();
  }
};

inline std::ostream& operator<<(std::ostream& out, const SpecializeReport& r) { return out << r.to_string(); }

}  // namespace modify

MODIFY_ONE_TIME_END
