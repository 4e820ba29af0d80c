// The traits of LibTorch's own modules, declared once so they drop into Sequential/Parallel as-is.
#pragma once

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/fold.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/padding.h>
#include <torch/nn/modules/pixelshuffle.h>
#include <torch/nn/modules/pooling.h>
#include <torch/nn/modules/upsampling.h>

#include <modify/traits.hpp>

// MODIFY_DECLARE_TRAITS(Impl, arity, params, linearity, kind): declares the traits of a module type
// the user cannot change, e.g. MODIFY_DECLARE_TRAITS(torch::nn::LSTMImpl, unary, some, nonlinear, none).
// Use it at global scope.
#define MODIFY_DECLARE_TRAITS(IMPL, ARITY, PARAMS, LINEARITY, KIND)                               \
  template <>                                                                                     \
  struct modify::module_traits<IMPL> {                                                            \
    static constexpr ::modify::Traits value{::modify::Arity::ARITY, ::modify::Params::PARAMS,     \
                                            ::modify::Linearity::LINEARITY, ::modify::Kind::KIND}; \
  }

// Learned maps. Embedding counts as Linear: it is a linear map of the one-hot encoding of its
// input, so an affine map after it folds into its table.
MODIFY_DECLARE_TRAITS(torch::nn::LinearImpl, unary, some, linear, vector);
MODIFY_DECLARE_TRAITS(torch::nn::BilinearImpl, binary, some, nonlinear, none);  // bilinear, not affine, in the pair
MODIFY_DECLARE_TRAITS(torch::nn::Conv1dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::Conv2dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::Conv3dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::ConvTranspose1dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::ConvTranspose2dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::ConvTranspose3dImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::EmbeddingImpl, unary, some, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::EmbeddingBagImpl, unary, some, linear, none);

// Activations act on each element alone. PReLU learns its slope: it is Param (the Python table
// lists it with the parameter-free ones).
MODIFY_DECLARE_TRAITS(torch::nn::ELUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SELUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::CELUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::GELUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::HardshrinkImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::HardtanhImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::LeakyReLUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::LogSigmoidImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::MishImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::PReLUImpl, unary, some, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::ReLUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::ReLU6Impl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::RReLUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SiLUImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SigmoidImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SoftplusImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SoftshrinkImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::SoftsignImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::TanhImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::TanhshrinkImpl, unary, none, nonlinear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::ThresholdImpl, unary, none, nonlinear, elementwise);
// These act on each vector along one dimension.
MODIFY_DECLARE_TRAITS(torch::nn::SoftmaxImpl, unary, none, nonlinear, vector);
MODIFY_DECLARE_TRAITS(torch::nn::SoftminImpl, unary, none, nonlinear, vector);
MODIFY_DECLARE_TRAITS(torch::nn::LogSoftmaxImpl, unary, none, nonlinear, vector);
MODIFY_DECLARE_TRAITS(torch::nn::Softmax2dImpl, unary, none, nonlinear, vector);
MODIFY_DECLARE_TRAITS(torch::nn::GLUImpl, unary, none, nonlinear, vector);
// Query, key, value in; (output, attention weights) out.
MODIFY_DECLARE_TRAITS(torch::nn::MultiheadAttentionImpl, ternary, some, nonlinear, none);

// Dropout multiplies by a random mask (and AlphaDropout adds a constant): affine in the input.
// Dropout2d/3d and FeatureAlphaDropout mask whole channels, so they are not elementwise.
MODIFY_DECLARE_TRAITS(torch::nn::DropoutImpl, unary, none, linear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::AlphaDropoutImpl, unary, none, linear, elementwise);
MODIFY_DECLARE_TRAITS(torch::nn::Dropout2dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::Dropout3dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::FeatureAlphaDropoutImpl, unary, none, linear, none);

// Pooling: averages are linear, maxima and p-norms are not. MaxUnpool takes (values, indices)
// and is linear in the values.
MODIFY_DECLARE_TRAITS(torch::nn::AvgPool1dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AvgPool2dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AvgPool3dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveAvgPool1dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveAvgPool2dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveAvgPool3dImpl, unary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxPool1dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxPool2dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxPool3dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveMaxPool1dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveMaxPool2dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::AdaptiveMaxPool3dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::FractionalMaxPool2dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::FractionalMaxPool3dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::LPPool1dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::LPPool2dImpl, unary, none, nonlinear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxUnpool1dImpl, binary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxUnpool2dImpl, binary, none, linear, none);
MODIFY_DECLARE_TRAITS(torch::nn::MaxUnpool3dImpl, binary, none, linear, none);

// Restructuring: elements are moved, copied or padded with a constant, never combined.
MODIFY_DECLARE_TRAITS(torch::nn::IdentityImpl, unary, none, linear, identity);
MODIFY_DECLARE_TRAITS(torch::nn::FlattenImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::UnflattenImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::PixelShuffleImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::PixelUnshuffleImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::FoldImpl, unary, none, linear, none);  // overlapping patches are summed
MODIFY_DECLARE_TRAITS(torch::nn::UnfoldImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ZeroPad2dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ConstantPad1dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ConstantPad2dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ConstantPad3dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReflectionPad1dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReflectionPad2dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReflectionPad3dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReplicationPad1dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReplicationPad2dImpl, unary, none, linear, restructure);
MODIFY_DECLARE_TRAITS(torch::nn::ReplicationPad3dImpl, unary, none, linear, restructure);
// Nearest upsampling only copies; the interpolating modes mix neighbours (still linear).
MODIFY_DECLARE_TRAITS(torch::nn::UpsampleImpl, unary, none, linear, none);
