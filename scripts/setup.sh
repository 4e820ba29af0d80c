#!/usr/bin/env bash
# Installs the Debian 12 packages modify needs, if any is missing (safe to run again).
set -euo pipefail

packages=(
  g++ meson ninja-build pkg-config cmake python3  # toolchain; Meson finds LibTorch through its CMake package
  libtorch-dev libopenblas0-pthread              # LibTorch, and OpenBLAS so its matrix products are fast
  libboost-dev doctest-dev libbenchmark-dev      # Boost.Hana/MP11, tests, benchmarks
  libgloo-dev                                    # Gloo's headers: c10d's ProcessGroupGloo.hpp includes them (modify/distributed)
  nlohmann-json3-dev                             # the safetensors header's JSON parser
  clang-14 libclang-rt-14-dev                    # libFuzzer + ASan/UBSan for the safetensors fuzz test
  zlib1g-dev dataset-fashion-mnist gnuplot-nox   # the main job: gzip IDX reading, its data, its plot
  python3-torch python3-torchvision              # the test build writes reference checkpoints with PyTorch (tests/fixtures/generate_interop.py)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "modify setup: these Debian packages are missing: ${missing[*]}" >&2
  echo "modify setup: installing them needs root; run:  sudo bash scripts/setup.sh" >&2
  exit 1
fi
echo "modify setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
