// The main job: a small ResNet written with modify, trained on Fashion-MNIST; then LoRA adapts it
// to inverted images while the base model stays intact beside it; then merge, specialize for
// inference, and compare inference speeds.
//
//   build/examples/fashion_mnist [--epochs 5] [--batch-size 128] [--threads 2] [--out fashion_mnist_out]
//                                [--train-subset N] [--test-subset N] [--help]
//   build/tools/modify-run --nproc-per-node 2 -- build/examples/fashion_mnist --distributed   (data-parallel)
//
// Data: the gzip IDX files of Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
// Exits non-zero when one of its own checks fails (loss falls, accuracy, base intact, merge exact).
#include <modify/io/safetensors.hpp>
#include <modify/io/state_dict.hpp>
#include <modify/modify.hpp>
#include <modify/summary.hpp>
#include <modify/transform/lora.hpp>

#include <torch/torch.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/checks.hpp"
#include "common/flags.hpp"
#include "common/idx.hpp"
#include "common/plot.hpp"
#include "common/progress.hpp"

namespace {

constexpr int64_t classes = 10;
constexpr double pixel_mean = 0.2860, pixel_std = 0.3530;  // of the training images, in [0, 1]

// ---- the model ---------------------------------------------------------------------------------

// conv -> batch norm (parameter-free) -> per-channel scale and shift: PyTorch's Conv2d + BatchNorm2d.
auto conv_norm(int64_t in, int64_t out, int64_t stride = 1) {
  return modify::Sequential(
      modify::named<"conv">(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false))),
      modify::named<"norm">(modify::BatchNorm2d(out)), modify::named<"affine">(modify::ElementwiseAffine::channels(out)));
}

// relu(x + f(x)), f two conv_norms: the basic block of ResNet.
auto residual_block(int64_t channels) {
  auto body = modify::Sequential(modify::named<"a">(conv_norm(channels, channels)), torch::nn::ReLU(),
                                 modify::named<"b">(conv_norm(channels, channels)));
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), modify::named<"body">(body)),
                            modify::Add(), torch::nn::ReLU());
}

// 28x28 -> stem (`width` channels) -> pool to 14x14 -> block -> stride-2 conv to 7x7 (2 * width
// channels) -> block -> 10 logits from all 7x7x32 features (Fashion-MNIST's items are centred, so where a
// feature is matters: a global average pooling here costs ~1.5 points of accuracy).
auto resnet(int64_t width) {
  const int64_t stem_channels = width, wide_channels = 2 * width;
  return modify::Sequential(
      modify::named<"stem">(modify::Sequential(conv_norm(1, stem_channels), torch::nn::ReLU())),
      modify::named<"pool">(torch::nn::MaxPool2d(2)), modify::named<"stage1">(residual_block(stem_channels)),
      modify::named<"down">(modify::Sequential(conv_norm(stem_channels, wide_channels, 2), torch::nn::ReLU())),
      modify::named<"stage2">(residual_block(wide_channels)),
      modify::named<"flatten">(torch::nn::Flatten()), modify::named<"head">(torch::nn::Linear(wide_channels * 7 * 7, classes)));
}

// ---- data --------------------------------------------------------------------------------------

struct Split {
  torch::Tensor images;  // uint8 [N, 1, 28, 28]
  torch::Tensor labels;  // int64 [N]
  int64_t size() const { return labels.size(0); }
};

Split load_split(const std::string& folder, const std::string& prefix, int64_t subset) {
  const std::string package = "dataset-fashion-mnist";
  const std::string image_file = folder + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string label_file = folder + "/" + prefix + "-labels-idx1-ubyte.gz";
  auto images = examples::idx::read(image_file, package);
  auto labels = examples::idx::read(label_file, package);
  if (images.dim() != 3 || images.size(1) != 28 || images.size(2) != 28)
    throw examples::idx::Error(image_file + ": expected N x 28 x 28 images, found " + modify::describe(images));
  if (labels.dim() != 1 || labels.size(0) != images.size(0))
    throw examples::idx::Error(label_file + ": " + std::to_string(labels.numel()) + " labels for " +
                               std::to_string(images.size(0)) + " images in " + image_file);
  if (labels.max().item<int>() >= classes) throw examples::idx::Error(label_file + ": a label is 10 or more");
  if (subset > 0 && subset < images.size(0)) {
    images = images.slice(0, 0, subset);
    labels = labels.slice(0, 0, subset);
  }
  return {images.unsqueeze(1).contiguous(), labels.to(torch::kInt64)};
}

// The two tasks: the images as they are, and inverted (1 - x: light clothes on black becomes dark
// clothes on white). Both are normalised with the original images' statistics.
enum class Task { original, inverted };
const char* name(Task t) { return t == Task::original ? "original" : "inverted"; }

torch::Tensor prepare(const torch::Tensor& images_u8, Task task) {
  auto x = images_u8.to(torch::kFloat).div_(255.0);
  if (task == Task::inverted) x = 1.0 - x;
  return x.sub_(pixel_mean).div_(pixel_std);
}

// ---- training and evaluation -------------------------------------------------------------------

struct Options {
  int epochs = 6, batch_size = 128, threads = 2, train_subset = 0, test_subset = 0, lora_epochs = 1, width = 20;
  double learning_rate = 3e-3, weight_decay = 0.05, min_accuracy = -1;
  std::string out = "fashion_mnist_out", data = "/usr/share/datasets/fashion-mnist";
  // --distributed: train data-parallel over the group modify-run sets up (RANK, WORLD_SIZE, ...);
  // each rank takes --batch-size images per step from its DistributedSampler shard.
  bool distributed = false;
  std::optional<modify::distributed::ProcessGroup> group;
};

std::string figures(double loss, double accuracy, double lr) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(4) << "loss " << loss << "  acc " << accuracy << "  lr " << std::scientific
      << std::setprecision(1) << lr;
  return out.str();
}

template <class M>
double accuracy(M& model, const Split& split, Task task, const std::string& label) {
  torch::NoGradGuard no_grad;
  model->eval();
  constexpr int64_t batch = 500;
  const int64_t batches = (split.size() + batch - 1) / batch;
  examples::ProgressBar bar(label, batches, "img", batch);
  int64_t correct = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const auto images = split.images.slice(0, b * batch, (b + 1) * batch);
    const auto labels = split.labels.slice(0, b * batch, (b + 1) * batch);
    correct += model(prepare(images, task)).argmax(1).eq(labels).sum().template item<int64_t>();
    bar.update(b + 1);
  }
  const double result = double(correct) / double(split.size());
  std::ostringstream acc;
  acc << "accuracy " << std::fixed << std::setprecision(4) << result;
  bar.finish(acc.str());
  return result;
}

// train(model, parameters, ...): AdamW on `parameters` with a cosine schedule (after a short
// linear warm-up) over `epochs` epochs of `task`, random horizontal flips as augmentation.
template <class M>
void train(M& model, std::vector<torch::Tensor> parameters, const Split& train_split, const Split& test_split, Task task,
           const Options& o, int epochs, examples::Curves& curves, const std::string& what) {
  // Data-parallel: the wrapper averages the gradients in backward; every rank evaluates with
  // rank 0's BatchNorm statistics (synchronize_buffers before each evaluation).
  std::optional<modify::distributed::DataParallel<M>> ddp;
  std::optional<modify::distributed::DistributedSampler> sampler;
  if (o.group) {
    ddp.emplace(model, *o.group);
    sampler.emplace(train_split.size(), o.group->rank(), o.group->size(), modify::distributed::SamplerOptions{.seed = 0});
  }
  torch::optim::AdamW optimizer(std::move(parameters),
                                torch::optim::AdamWOptions(o.learning_rate).weight_decay(o.weight_decay));
  const int64_t shard = sampler ? static_cast<int64_t>(sampler->shard_size()) : train_split.size();
  const int64_t steps_per_epoch = std::max<int64_t>(1, shard / o.batch_size);
  const int64_t total_steps = steps_per_epoch * epochs, warmup = std::max<int64_t>(1, total_steps / 30);
  int64_t step = 0;
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    model->train();
    if (sampler) sampler->set_epoch(static_cast<std::uint64_t>(epoch));
    const auto order = sampler ? torch::tensor(std::vector<int64_t>(sampler->indices().begin(), sampler->indices().end()))
                               : torch::randperm(train_split.size());
    examples::ProgressBar bar(what + " epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), steps_per_epoch,
                              "img", o.batch_size);
    double running_loss = 0, running_accuracy = 0, lr = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
      lr = o.learning_rate * (step < warmup ? double(step + 1) / double(warmup)
                                            : 0.5 * (1 + std::cos(M_PI * double(step - warmup) / double(total_steps - warmup))));
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      const auto index = order.slice(0, s * o.batch_size, (s + 1) * o.batch_size);
      auto x = prepare(train_split.images.index_select(0, index), task);
      const auto y = train_split.labels.index_select(0, index);
      const auto flip = torch::rand({x.size(0), 1, 1, 1}) < 0.5;
      x = torch::where(flip, x.flip({3}), x);
      optimizer.zero_grad();
      const auto logits = ddp ? (*ddp)(x) : model(x);
      const auto loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      optimizer.step();
      const double l = loss.template item<double>();
      running_loss = s == 0 ? l : 0.98 * running_loss + 0.02 * l;
      correct += logits.argmax(1).eq(y).sum().template item<int64_t>();
      seen += y.size(0);
      running_accuracy = double(correct) / double(seen);
      curves.steps.push_back({double(epoch - 1) + double(s + 1) / double(steps_per_epoch), l});
      bar.update(s + 1, figures(running_loss, running_accuracy, lr));
    }
    bar.finish(figures(running_loss, running_accuracy, lr));
    if (ddp) ddp->synchronize_buffers();
    const double test = accuracy(model, test_split, task, "  test " + std::string(name(task)));
    curves.epochs.push_back({epoch, running_accuracy, test});
  }
}

// Inference throughput on `images`, in batches of 256 (all of that size when images are a
// multiple of 256), after one warm-up batch.
template <class M>
double images_per_second(M& model, const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  model->eval();
  constexpr int64_t batch = 256;
  model(images.slice(0, 0, batch));
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < images.size(0); b += batch) model(images.slice(0, b, b + batch));
  return double(images.size(0)) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The checkpoint: the state dict as safetensors (PyTorch's names: "stage1.1.body.a.conv.weight", ...).
template <class M>
std::string save_checkpoint(M& model, const std::string& path, double test_accuracy) {
  std::ostringstream accuracy;
  accuracy << test_accuracy;
  modify::save(model, path, {{"model", "modify small ResNet, examples/fashion_mnist.cpp"},
                             {"test_accuracy", accuracy.str()}});
  return path;
}

double user_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec) + double(usage.ru_utime.tv_usec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  examples::Flags flags(
      "fashion_mnist: trains a small ResNet written with modify on Fashion-MNIST (Debian's dataset-fashion-mnist),\n"
      "adapts it with LoRA to inverted images beside the intact base model, merges, and measures inference.");
  flags.add("epochs", o.epochs, "training epochs")
      .add("batch-size", o.batch_size, "images per step")
      .add("threads", o.threads, "LibTorch intra-op threads")
      .add("out", o.out, "folder for the checkpoint, the adapter and the curves")
      .add("train-subset", o.train_subset, "use only the first N training images (0: all 60000)")
      .add("test-subset", o.test_subset, "use only the first N test images (0: all 10000)")
      .add("lora-epochs", o.lora_epochs, "LoRA fine-tuning epochs on inverted images")
      .add("width", o.width, "channels of the first stage (the second has twice as many)")
      .add("lr", o.learning_rate, "peak learning rate of AdamW")
      .add("min-accuracy", o.min_accuracy, "test accuracy to check for (-1: 0.92 on the full data with 5+ epochs, else 0.2)")
      .add("data", o.data, "folder of the gzip IDX files")
      .add("distributed", o.distributed, "data-parallel over the ranks modify-run starts (docs/distributed.md)");
  flags.parse(argc, argv);
  if (o.epochs < 1 || o.batch_size < 2 || o.threads < 1 || o.lora_epochs < 1 || o.width < 1) {
    std::cerr << "fashion_mnist: --epochs, --lora-epochs, --threads and --width must be at least 1, --batch-size at least 2\n";
    return 2;
  }
  const bool full_data = o.train_subset == 0 && o.test_subset == 0;
  if (o.min_accuracy < 0) o.min_accuracy = full_data && o.epochs >= 5 ? 0.92 : 0.2;

  if (o.distributed) {
    o.group.emplace();  // RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from modify-run
    // Every rank writes its own files; rank 0's are in --out.
    if (o.group->rank() > 0) o.out += "/rank" + std::to_string(o.group->rank());
  }
  const auto wall_start = std::chrono::steady_clock::now();
  torch::set_num_threads(o.threads);
  torch::manual_seed(0);
  std::filesystem::create_directories(o.out);

  Split train_split, test_split;
  try {
    train_split = load_split(o.data, "train", o.train_subset);
    test_split = load_split(o.data, "t10k", o.test_subset);
  } catch (const examples::idx::Error& e) {
    std::cerr << "fashion_mnist: " << e.what() << "\n";
    return 1;
  }
  std::cout << "Fashion-MNIST: " << train_split.size() << " training and " << test_split.size() << " test images from "
            << o.data << "\n\n";

  // 1. The model, its summary, and training on the original task.
  auto base = resnet(o.width);
  std::cout << modify::summary(base, prepare(train_split.images.slice(0, 0, o.batch_size), Task::original)) << "\n";
  examples::Curves curves;
  train(base, base->parameters(), train_split, test_split, Task::original, o, o.epochs, curves, "train");
  const double base_accuracy = curves.epochs.back().test_accuracy;
  const std::string checkpoint = save_checkpoint(base, o.out + "/fashion_mnist.safetensors", base_accuracy);
  // Read back into a fresh model: it must compute exactly what the trained one does.
  auto reloaded = resnet(o.width);
  modify::load(reloaded, checkpoint);
  const auto probe = prepare(test_split.images.slice(0, 0, 64), Task::original);
  const bool checkpoint_exact = [&] {
    torch::NoGradGuard g;
    base->eval();
    reloaded->eval();
    return torch::equal(base(probe), reloaded(probe));
  }();
  std::cout << "checkpoint: " << checkpoint << "\n";
  examples::plot(curves, o.out, "modify: small ResNet on Fashion-MNIST");

  // 2. LoRA: every conv and the head get rank-4 adapters; everything else is frozen and shared.
  const double base_inverted = accuracy(base, test_split, Task::inverted, "base on inverted");
  const auto base_state = examples::snapshot(base);
  const auto probe_before = [&] { torch::NoGradGuard g; base->eval(); return base(probe); }();
  // The adapted model also gets batch norms of its own (clones, whose statistics follow the
  // inverted images as the adapters train); every other module is the base's, shared.
  auto adapted = modify::transform(
      modify::lora(base, {.rank = 4, .alpha = 8},
                   modify::select::type<torch::nn::Conv2d> || modify::select::type<torch::nn::Linear>),
      modify::select::type<modify::BatchNorm2d>, [](const auto& norm) { return modify::clone(norm); });
  std::cout << "\n" << modify::summary(adapted, probe) << "\n";
  examples::Curves lora_curves;
  train(adapted, modify::trainable_parameters(adapted), train_split, test_split, Task::inverted, o, o.lora_epochs,
        lora_curves, "LoRA");
  const double adapted_inverted = lora_curves.epochs.back().test_accuracy;
  const double adapted_original = accuracy(adapted, test_split, Task::original, "adapted on original");
  const double base_original_after = accuracy(base, test_split, Task::original, "base on original");
  const auto probe_after = [&] { torch::NoGradGuard g; base->eval(); return base(probe); }();
  // What the adapted model adds to the base checkpoint: its lora_A / lora_B tensors
  // ("head.lora_A.default.weight", ...) and its own batch-norm statistics ("stem.0.norm.running_mean", ...).
  auto adapter = modify::state_dict(adapted);
  std::erase_if(adapter, [](const auto& named) {
    return named.first.find(".lora_") == std::string::npos && named.first.find(".norm.") == std::string::npos;
  });
  modify::safetensors::save(o.out + "/fashion_mnist_inverted_adapter.safetensors", adapter);

  bool shares = true;
  const auto adapted_parameters = adapted->named_parameters();
  for (const auto& p : base->named_parameters()) shares = shares && adapted_parameters[p.key()].is_same(p.value());

  // 3. Merge: a plain model of the base's type computing what the adapted model computes.
  auto merged = modify::merge(adapted);
  static_assert(std::is_same_v<decltype(merged), decltype(base)>);
  const double merged_inverted = accuracy(merged, test_split, Task::inverted, "merged on inverted");
  const double merge_difference = [&] {
    torch::NoGradGuard g;
    adapted->eval();
    merged->eval();
    const auto x = prepare(test_split.images.slice(0, 0, 256), Task::inverted);
    return (merged(x) - adapted(x)).abs().max().item<double>();
  }();

  // 4. Inference speed: the adapted model computes two branches per adapted layer; merged, one.
  const int64_t bench_count = std::clamp<int64_t>(test_split.size() / 256 * 256, 1, 2048);  // whole batches
  const auto bench_images = prepare(test_split.images.slice(0, 0, bench_count), Task::inverted);
  const double adapted_speed = images_per_second(adapted, bench_images);
  const double merged_speed = images_per_second(merged, bench_images);

  // 5. Specialised for inference: BatchNorm and affine parts folded into the convolutions,
  // activations and residual adds in place, buffers planned for a batch of 256.
  merged->eval();
  auto fast = modify::specialize(merged, bench_images.slice(0, 0, 256));
  const double specialized_speed = images_per_second(fast, bench_images);
  const double specialize_difference = [&] {
    torch::NoGradGuard g;
    const auto x = bench_images.slice(0, 0, 256);
    return (fast(x) - merged(x)).abs().max().item<double>();
  }();
  std::cout << "\nspecialized for inference:\n" << fast->report;

  std::cout << "\n" << std::fixed << std::setprecision(4) << "test accuracy       original  inverted\n"
            << "  base              " << base_original_after << "    " << base_inverted << "\n"
            << "  adapted (LoRA)    " << adapted_original << "    " << adapted_inverted << "\n"
            << "  merged            " << "  --      " << merged_inverted << "\n"
            << std::setprecision(0) << "inference: adapted " << adapted_speed << " images/s, merged " << merged_speed
            << " images/s, merged and specialized " << specialized_speed << " images/s\n";

  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  std::cout << std::setprecision(1) << "time: " << wall << " s wall, " << user_cpu_seconds() << " s user CPU ("
            << o.threads << " threads)\n\nchecks:\n";

  examples::Checks check;
  const auto& steps = curves.steps;
  const std::size_t quarter = std::max<std::size_t>(1, steps.size() / 4);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < quarter; ++i) first += steps[i].loss / double(quarter);
  for (std::size_t i = steps.size() - quarter; i < steps.size(); ++i) last += steps[i].loss / double(quarter);
  std::ostringstream loss_text, accuracy_text, merge_text, specialize_text;
  loss_text << std::setprecision(3) << "training loss falls (first quarter " << first << ", last quarter " << last << ")";
  check(last < first, loss_text.str());
  accuracy_text << std::setprecision(4) << "test accuracy " << base_accuracy << " >= " << o.min_accuracy;
  check(base_accuracy >= o.min_accuracy, accuracy_text.str());
  check(checkpoint_exact, "the safetensors checkpoint reloads into a fresh model computing the same outputs");
  check(examples::unchanged(base, base_state), "base weights and statistics bitwise unchanged by LoRA training");
  check(torch::equal(probe_before, probe_after), "base outputs bitwise unchanged by LoRA training");
  check(base_original_after == base_accuracy, "base accuracy on the original task unchanged");
  check(shares, "the adapted model shares every base parameter (same tensors)");
  check(adapted_inverted > base_inverted, "LoRA improves accuracy on inverted images");
  merge_text << std::scientific << std::setprecision(1) << "merged model computes the adapted function (max |diff| "
             << merge_difference << ")";
  check(merge_difference < 1e-3, merge_text.str());
  specialize_text << std::scientific << std::setprecision(1)
                  << "specialized model computes the merged function (max |diff| " << specialize_difference << ")";
  check(specialize_difference < 1e-3, specialize_text.str());
  return check.all ? EXIT_SUCCESS : EXIT_FAILURE;
}
