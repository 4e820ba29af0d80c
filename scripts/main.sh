#!/usr/bin/env bash
# Sets up, builds and runs the main job (for now: the residual MLP example on a synthetic task).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[[ -f build/build.ninja ]] || meson setup build
ninja -C build examples/residual_mlp
exec build/examples/residual_mlp "$@"
