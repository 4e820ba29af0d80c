#!/usr/bin/env python3
"""Compile cost of modify::specialize: the time and peak memory of compiling a translation unit
that defines an L-layer GPT (768 wide), adds LoRA to every c_attn and specialises it, against a
unit that only includes <torch/torch.h>, for L = 6, 12, 24 (instantiation must grow linearly);
with, for 12 layers, the stages on their own (built and run; with LoRA) and the same GPT written
with LibTorch's modules alone; and a unit whose one function adds 1 to a tensor (what any unit
with tensor arithmetic pays over torch.h alone), and the same unit including the GPT unit's
modify headers (what including them costs before any model is built).

usage: bench/compile_cost.py [--rounds N] [--against INCLUDE_DIR] [--flags "FLAGS"] [--collections]
                             <build dir> [layers ...]
Each unit is compiled N times (default 3), the units interleaved round by round, and its best time
is reported: on a machine whose speed drifts by 10-20 % within minutes, one run per unit ranks
units by when they ran. Peak memory does not drift; it is the largest of the runs. --against adds
the headers-only unit and the 12-layer unit compiled with other headers (e.g. an older commit's,
from `git archive`), in the same rounds, so that a change is compared in one window. --flags adds
the torch.h-only unit and the 12-layer unit compiled with extra compiler flags (e.g. GCC's garbage
collector parameters, --param=ggc-min-expand=400), also in the same rounds. --collections also
compiles each unit once under gdb and counts GCC's garbage collections (calls of cc1plus's
ggc_mark_roots): each one marks everything the compiler holds, ~1.4 s for a unit that includes
torch.h, and a unit gets one more when its allocations after the last one exceed what was live
then, so the count explains steps in the times that the code size does not (bench/README.md).
Uses the compile command of bench/specialize.cpp from <build dir>/compile_commands.json (same
flags, no precompiled header), compiling a full object (code generation counts) in a
temporary directory. Python 3 standard library only (and gdb for --collections).
"""
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

GPT = r"""
// The headers this unit uses (as a user would write it; <modify/modify.hpp> includes every one).
#include <modify/named.hpp>
#include <modify/ops/arithmetic.hpp>
#include <modify/ops/attention.hpp>
#include <modify/ops/normalization.hpp>
#include <modify/ops/restructure.hpp>
#include <modify/ops/structure.hpp>
#include <modify/parallel.hpp>
#include <modify/select.hpp>
#include <modify/sequential.hpp>
#include <modify/specialize/specialize.hpp>
#include <modify/torch_traits.hpp>
#include <modify/transform/lora.hpp>
#include <torch/torch.h>
namespace nn = torch::nn;
constexpr int64_t C = 768, H = 12;
auto residual(auto block) {
  return modify::Sequential(modify::Copy<2>(), modify::Parallel(modify::Identity(), block), modify::Add());
}
auto block() {
  auto attention = modify::Sequential(
      modify::named<"c_attn">(nn::Linear(C, 3 * C)), modify::ViewUnMerge(2, 3, C), modify::ViewUnMerge(3, H, C / H),
      modify::Transpose(1, 2), modify::Transpose(2, 3), modify::UnBind<3>(1),
      modify::SDPA(modify::SDPAOptions().causal(true)), modify::Transpose(1, 2), modify::ViewMerge(2, 3),
      modify::named<"c_proj">(nn::Linear(C, C)), nn::Dropout(0.1));
  auto mlp = modify::Sequential(modify::named<"c_fc">(nn::Linear(C, 4 * C)), nn::GELU(),
                                modify::named<"c_proj">(nn::Linear(4 * C, C)), nn::Dropout(0.1));
  return modify::Sequential(
      residual(modify::Sequential(modify::LayerNorm({C}), modify::named<"ln_1">(modify::ElementwiseAffine({C})),
                                  modify::named<"attn">(attention))),
      residual(modify::Sequential(modify::LayerNorm({C}), modify::named<"ln_2">(modify::ElementwiseAffine({C})),
                                  modify::named<"mlp">(mlp))));
}
template <std::size_t... I>
auto gpt(std::index_sequence<I...>) {
  return modify::Sequential(((void)I, block())..., modify::LayerNorm({C}), modify::ElementwiseAffine({C}),
                            nn::Linear(nn::LinearOptions(C, 50257).bias(false)));
}
at::Tensor run(const at::Tensor& x) {
  auto model = gpt(std::make_index_sequence<LAYERS>{});
#if STAGE == 0
  return model(x);
#else
  auto adapted = modify::lora(model, {.rank = 8}, modify::select::name<"c_attn">);
  adapted->eval();
#if STAGE == 1
  return adapted(x);
#else
  auto fast = modify::specialize(adapted, x);
  return fast(x);
#endif
#endif
}
"""

# The same GPT written with LibTorch alone (modules and a hand-written forward): what a TU that
# uses LibTorch's compiled modules costs, for comparison with a header-only library's.
PLAIN = r"""
#include <torch/torch.h>
namespace nn = torch::nn;
constexpr int64_t C = 768, H = 12;
struct BlockImpl : nn::Module {
  nn::LayerNorm ln_1{nn::LayerNormOptions({C})}, ln_2{nn::LayerNormOptions({C})};
  nn::Linear c_attn{C, 3 * C}, attn_proj{C, C}, c_fc{C, 4 * C}, mlp_proj{4 * C, C};
  nn::Dropout drop{0.1};
  BlockImpl() {
    register_module("ln_1", ln_1); register_module("ln_2", ln_2); register_module("c_attn", c_attn);
    register_module("attn_proj", attn_proj); register_module("c_fc", c_fc); register_module("mlp_proj", mlp_proj);
    register_module("drop", drop);
  }
  at::Tensor forward(const at::Tensor& x) {
    const auto B = x.size(0), T = x.size(1);
    auto qkv = c_attn(ln_1(x)).view({B, T, 3, H, C / H}).permute({2, 0, 3, 1, 4});
    auto att = qkv[0].matmul(qkv[1].transpose(-2, -1)) / std::sqrt(double(C / H));
    att = att.masked_fill(torch::ones({T, T}, x.options().dtype(torch::kBool)).triu(1), -INFINITY).softmax(-1);
    auto y = att.matmul(qkv[2]).transpose(1, 2).reshape({B, T, C});
    auto h = x + drop(attn_proj(y));
    return h + drop(mlp_proj(torch::gelu(c_fc(ln_2(h)))));
  }
};
TORCH_MODULE(Block);
at::Tensor run(const at::Tensor& x) {
  nn::Sequential model;
  for (int i = 0; i < LAYERS; ++i) model->push_back(Block());
  model->push_back(nn::LayerNorm(nn::LayerNormOptions({C})));
  model->push_back(nn::Linear(nn::LinearOptions(C, 50257).bias(false)));
  model->eval();
  return model->forward(x);
}
"""
BASELINE = "#include <torch/torch.h>\nat::Tensor run(const at::Tensor& x) { return x; }\n"
# The floor any unit doing tensor arithmetic pays: once a function calls an operator, an optimising
# GCC compiles the virtual functions of every LibTorch module class torch.h defines (several
# thousand functions, kept for devirtualisation; none reaches the object file).
ARITHMETIC = "#include <torch/torch.h>\nat::Tensor run(const at::Tensor& x) { return x + 1; }\n"
# The GPT unit's includes and the same one op: what including modify costs a unit that builds no
# model (parsing, and the leaf classes' virtual functions GCC keeps for devirtualisation).
HEADERS = "".join(line + "\n" for line in GPT.splitlines() if line.startswith("#include")) + ARITHMETIC


def compile_command(build):
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    for e in entries:
        if e["file"].endswith("bench/specialize.cpp"):
            return e["directory"], shlex.split(e["command"])
    sys.exit("no compile command for bench/specialize.cpp in " + build + " (configure with -Dbench=true)")


def with_include(directory, command, include):
    """command with the project's include directory replaced by `include`."""
    project = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "include"))
    replaced = [a if not (a.startswith("-I") and os.path.realpath(os.path.join(directory, a[2:])) == project)
                else "-I" + include for a in command]
    if replaced == command:
        sys.exit("the compile command has no -I for " + project)
    return replaced


def unit_command(command, tmp, source):
    """The bench's compile command without its source, output and dependency file, for a unit
    written to tmp/unit.cpp (whose path is returned too)."""
    path = os.path.join(tmp, "unit.cpp")
    open(path, "w").write(source)
    args, skip = [], False
    for a in command:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MQ", "-MF", "-c"):
            skip = a != "-c"
            continue
        if a in ("-MD",) or a.endswith("specialize.cpp") or a.startswith("-DMODIFY_BENCH"):
            continue
        args.append(a)
    return args, path


def measure(directory, command, source, tmp):
    args, path = unit_command(command, tmp, source)
    args += ["-c", path, "-o", os.path.join(tmp, "unit.o")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    result = subprocess.run(args, cwd=directory, capture_output=True, text=True)
    seconds = time.monotonic() - start
    if result.returncode != 0:
        sys.exit("compile failed:\n" + result.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children so far
    return seconds, peak / 1024.0, before


GDB_COUNT_COLLECTIONS = """set pagination off
break ggc_mark_roots
commands
silent
printf "modify-collection\\n"
continue
end
run
"""


def collections(directory, command, source, tmp):
    """How many garbage collections GCC's compiler proper (cc1plus) runs compiling source."""
    args, path = unit_command(command, tmp, source)
    args += ["-S", path, "-o", os.path.join(tmp, "unit.s")]
    driver = subprocess.run(args + ["-###"], cwd=directory, capture_output=True, text=True)
    lines = [shlex.split(line) for line in driver.stderr.splitlines() if line.startswith(" ")]
    proper = [line for line in lines if line and os.path.basename(line[0]) == "cc1plus"]
    if not proper:
        sys.exit("--collections: no cc1plus command in the output of " + args[0] + " -###")
    script = os.path.join(tmp, "count.gdb")
    open(script, "w").write(GDB_COUNT_COLLECTIONS)
    try:
        out = subprocess.run(["gdb", "-q", "-batch", "-x", script, "--args"] + proper[0], cwd=directory,
                             capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("--collections needs gdb (apt-get install gdb)")
    if "Breakpoint 1 at" not in out.stdout + out.stderr or "exited normally" not in out.stdout:
        sys.exit("--collections: no breakpoint on ggc_mark_roots, or the compile failed:\n" + out.stderr[-2000:])
    return out.stdout.count("modify-collection")


def main():
    args = sys.argv[1:]
    rounds = 3
    against = None
    flags = None
    count_collections = False
    while args[:1] in (["--rounds"], ["--against"], ["--flags"], ["--collections"]):
        if args[0] == "--collections":
            count_collections, args = True, args[1:]
        elif args[0] == "--rounds":
            rounds, args = int(args[1]), args[2:]
        elif args[0] == "--flags":
            flags, args = shlex.split(args[1]), args[2:]
        else:
            against, args = os.path.abspath(args[1]), args[2:]
    build = args[0]
    layers = [int(a) for a in args[1:]] or [6, 12, 24]
    directory, command = compile_command(build)
    with tempfile.TemporaryDirectory() as tmp:
        # Each unit in its own child process run, so ru_maxrss is that compile's peak.
        rows = []
        units = [("torch.h only", BASELINE), ("torch.h + one tensor op (x + 1)", ARITHMETIC),
                 ("modify's headers + one tensor op", HEADERS),
                 ("LibTorch alone, GPT 12 layers", PLAIN.replace("LAYERS", "12")),
                 ("GPT 12 layers, built and run", "#define STAGE 0\n" + GPT.replace("LAYERS", "12")),
                 ("GPT 12 layers + LoRA, run", "#define STAGE 1\n" + GPT.replace("LAYERS", "12"))]
        units += [(f"GPT {n} layers + LoRA + specialize", "#define STAGE 2\n" + GPT.replace("LAYERS", str(n))) for n in layers]
        commands = {name: command for name, _ in units}
        if against:
            for name, source in [("modify's headers + op, --against headers", HEADERS),
                                 ("GPT 12 + LoRA + specialize, --against", "#define STAGE 2\n" + GPT.replace("LAYERS", "12"))]:
                units.append((name, source))
                commands[name] = with_include(directory, command, against)
        if flags:
            flagged = [("torch.h only, --flags", BASELINE),
                       ("GPT 12 + LoRA + specialize, --flags", "#define STAGE 2\n" + GPT.replace("LAYERS", "12"))]
            for name, source in flagged:
                units.append((name, source))
                commands[name] = command + flags
        best = {name: (float("inf"), 0.0) for name, _ in units}
        for round_ in range(1, rounds + 1):
            for name, source in units:
                out = subprocess.run([sys.executable, __file__, "--one", directory, json.dumps(commands[name]), tmp],
                                     input=source, capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(out.stdout + out.stderr)
                seconds, mib = map(float, out.stdout.split())
                print(f"round {round_}: {name:40s} {seconds:7.1f} s {mib:8.0f} MiB", flush=True)
                best[name] = (min(best[name][0], seconds), max(best[name][1], mib))
        print(f"best of {rounds}:")
        for name, _ in units:
            seconds, mib = best[name]
            rows.append((name, seconds, mib))
            print(f"{name:40s} {seconds:7.1f} s {mib:8.0f} MiB")
        base = rows[0]
        for name, seconds, mib in rows[1:]:
            if name.endswith("--flags"):
                continue
            print(f"{name:40s} +{seconds - base[1]:6.1f} s +{mib - base[2]:6.0f} MiB over torch.h only")
        if flags:
            (base_name, _), (name, _) = flagged
            seconds, mib = best[name][0] - best[base_name][0], best[name][1] - best[base_name][1]
            print(f"{name:40s} +{seconds:6.1f} s +{mib:6.0f} MiB over torch.h only with the same flags "
                  f"({' '.join(flags)})")
        if count_collections:
            print("GCC garbage collections (one compile each, under gdb):")
            for name, source in units:
                print(f"{name:40s} {collections(directory, commands[name], source, tmp):3d}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        directory, command, tmp = sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
        seconds, mib, _ = measure(directory, command, sys.stdin.read(), tmp)
        print(seconds, mib)
    else:
        main()
