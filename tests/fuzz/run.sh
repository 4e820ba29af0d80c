#!/bin/sh
# Builds the safetensors fuzz target with clang (libFuzzer, ASan, UBSan) and runs it for a bounded
# time from the committed seed corpus. Used by the Meson test `fuzz_safetensors`; run by hand for
# longer, e.g.:  tests/fuzz/run.sh clang++-14 /tmp/fuzz 3600
#   $1  the clang++ to use      $2  a work folder (the binary, new corpus entries, crash files)
#   $3  seconds to fuzz         further arguments go to libFuzzer
set -eu
clangxx=$1 work=$2 seconds=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/corpus"
"$clangxx" -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$here/../../include" "$here/safetensors_header.cpp" -o "$work/fuzz_safetensors"
# New inputs go to the work corpus; the committed seeds are only read. Crashes land in $work.
exec "$work/fuzz_safetensors" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
  -artifact_prefix="$work/" "$work/corpus" "$here/corpus" "$@"
