// modify: networks as types over LibTorch. The umbrella header: includes every public header.
#pragma once

#include <modify/access.hpp>
#include <modify/clone.hpp>
#include <modify/errors.hpp>
#include <modify/fixed_string.hpp>
#include <modify/holder.hpp>
#include <modify/leaf.hpp>
#include <modify/named.hpp>
#include <modify/ops/arithmetic.hpp>
#include <modify/ops/attention.hpp>
#include <modify/ops/debug.hpp>
#include <modify/ops/normalization.hpp>
#include <modify/ops/structure.hpp>
#include <modify/parallel.hpp>
#include <modify/select.hpp>
#include <modify/sequential.hpp>
#include <modify/torch_traits.hpp>
#include <modify/traits.hpp>
#include <modify/transform/edit.hpp>
#include <modify/transform/freeze.hpp>
#include <modify/transform/lora.hpp>
#include <modify/transform/transform.hpp>
#include <modify/value.hpp>
