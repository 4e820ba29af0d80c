// ResNet-18 written with modify: torchvision's resnet18 as a type, its parameters and buffers named
// as torchvision's up to the positions that residual connections and split batch norms add, and
// the KeyMap that loads a torchvision checkpoint into it (docs/interop.md).
//
//   auto model = models::resnet18(1000);
//   modify::load(model, "resnet18.safetensors", {.keys = models::torchvision_resnet_keys()});
//   model->eval();
//   auto logits = model(images);   // [N, 3, H, W] -> [N, num_classes]
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <modify/modify.hpp>

namespace models {

namespace detail {
inline torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}
// PyTorch's nn.BatchNorm2d as modify's split: the statistics (0), then the affine part (1), so
// torchvision's `bn1.running_mean` is `bn1.0.running_mean` here and `bn1.weight` is `bn1.1.weight`.
inline auto batch_norm(int64_t channels) {
  return modify::Sequential(modify::BatchNorm2d(channels), modify::ElementwiseAffine::channels(channels));
}
// The residual branch of a basic block: conv3x3, bn, relu, conv3x3, bn.
inline auto basic_branch(int64_t in, int64_t out, int64_t stride) {
  return modify::Sequential(modify::named<"conv1">(conv(in, out, 3, stride, 1)), modify::named<"bn1">(batch_norm(out)),
                            modify::named<"relu">(torch::nn::ReLU()),
                            modify::named<"conv2">(conv(out, out, 3, 1, 1)), modify::named<"bn2">(batch_norm(out)));
}
}  // namespace detail

// basic_block(channels): torchvision's BasicBlock without downsampling: relu(branch(x) + x).
// Parameters: 1.0.conv1.weight, 1.0.bn1.1.weight, 1.0.bn1.0.running_mean, ...
inline auto basic_block(int64_t channels) {
  return modify::Sequential(modify::Copy<2>(),
                            modify::Parallel(detail::basic_branch(channels, channels, 1), modify::Identity()),
                            modify::Add(), torch::nn::ReLU());
}

// downsampling_block(in, out, stride): relu(branch(x) + downsample(x)), downsample a strided 1x1
// conv and a batch norm. Parameters: as basic_block's, and 1.downsample.0.weight,
// 1.downsample.1.1.weight, 1.downsample.1.0.running_mean, ...
inline auto downsampling_block(int64_t in, int64_t out, int64_t stride) {
  return modify::Sequential(
      modify::Copy<2>(),
      modify::Parallel(detail::basic_branch(in, out, stride),
                       modify::named<"downsample">(modify::Sequential(detail::conv(in, out, 1, stride, 0),
                                                                      detail::batch_norm(out)))),
      modify::Add(), torch::nn::ReLU());
}

// resnet18(num_classes): [N, 3, H, W] -> [N, num_classes], torchvision's layout: conv1, bn1, relu,
// maxpool, layer1..layer4 (two blocks each, the first of layer2..4 downsampling), avgpool, fc.
inline auto resnet18(int64_t num_classes = 1000) {
  auto layer = [](int64_t in, int64_t out) {
    return modify::Sequential(downsampling_block(in, out, 2), basic_block(out));
  };
  return modify::Sequential(
      modify::named<"conv1">(detail::conv(3, 64, 7, 2, 3)), modify::named<"bn1">(detail::batch_norm(64)),
      modify::named<"relu">(torch::nn::ReLU()),
      modify::named<"maxpool">(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1))),
      modify::named<"layer1">(modify::Sequential(basic_block(64), basic_block(64))),
      modify::named<"layer2">(layer(64, 128)), modify::named<"layer3">(layer(128, 256)),
      modify::named<"layer4">(layer(256, 512)),
      modify::named<"avgpool">(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions({1, 1}))),
      torch::nn::Flatten(), modify::named<"fc">(torch::nn::Linear(512, num_classes)));
}

// torchvision_resnet_keys(): torchvision's ResNet keys -> resnet18()'s. A BatchNorm `bn` becomes
// `bn.1.{weight,bias}` and `bn.0.{running_mean,running_var,num_batches_tracked}`; inside a block
// (`layer{l}.{b}`) the residual branch is `1.0.` and the shortcut `1.downsample.`.
inline modify::KeyMap torchvision_resnet_keys() {
  modify::KeyMap keys;
  keys.split_norm("bn1");
  for (const std::string name : {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) {
    const std::string part = name == "weight" || name == "bias" ? "1." : "0.";
    keys.rename("layer{l}.{b}.bn{k}." + name, "layer{l}.{b}.1.0.bn{k}." + part + name);
    keys.rename("layer{l}.{b}.downsample.1." + name, "layer{l}.{b}.1.downsample.1." + part + name);
  }
  return keys.rename("layer{l}.{b}.conv{k}.weight", "layer{l}.{b}.1.0.conv{k}.weight")
      .rename("layer{l}.{b}.downsample.0.weight", "layer{l}.{b}.1.downsample.0.weight");
}

}  // namespace models
