#!/usr/bin/env bash
# Sets up, builds and runs the main job: a small ResNet written with modify, trained on
# Fashion-MNIST, then adapted with LoRA beside the intact base (examples/fashion_mnist.cpp).
# Arguments go to the program (try --help); output files go to fashion_mnist_out/ by default.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -f build/build.ninja ]] || meson setup build
ninja -C build examples/fashion_mnist
exec build/examples/fashion_mnist "$@"
