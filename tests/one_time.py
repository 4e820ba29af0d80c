#!/usr/bin/env python3
"""Tests for modify/detail/one_time.hpp: code between MODIFY_ONE_TIME_BEGIN and MODIFY_ONE_TIME_END
is compiled with its own optimisation options under GCC at -O2, and MODIFY_OPTIMIZE_ONE_TIME_CODE
turns that off.

What is observable from outside: GCC never inlines a function carrying its own optimize options
into a caller without them (the reason forward paths must stay outside the regions), so at -O2 the
caller below calls the region's function, and inlines it once the regions are switched off.

usage: one_time.py <include dir> <compiler command...>
"""
import os
import subprocess
import sys
import tempfile

SOURCE = r"""
#include <modify/detail/one_time.hpp>
MODIFY_ONE_TIME_BEGIN
inline int one_time_sum(int n) { int s = 0; for (int i = 0; i < n; ++i) s += i * i; return s; }
MODIFY_ONE_TIME_END
int hot_caller(int n) { return one_time_sum(n) + 1; }
"""


def assembly(compiler, include, flags):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "unit.cpp")
        open(path, "w").write(SOURCE)
        result = subprocess.run(compiler + ["-std=c++20", "-I", include, "-S", "-o", "-", path] + flags,
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit("compile failed with " + " ".join(flags) + ":\n" + result.stderr)
        return result.stdout


def calls_region(asm):
    """Whether hot_caller's body calls one_time_sum."""
    body = asm.split("_Z10hot_calleri:", 1)[1].split(".cfi_endproc", 1)[0]
    return "_Z12one_time_sumi" in body


def main():
    include, compiler = sys.argv[1], sys.argv[2:]
    version = subprocess.run(compiler + ["--version"], capture_output=True, text=True).stdout
    if "clang" in version or "Free Software Foundation" not in version:
        print("not GCC: the regions are empty there; nothing to check")
        return 77  # Meson's "skipped"
    failures = []
    if not calls_region(assembly(compiler, include, ["-O2"])):
        failures.append("at -O2 the one-time function was inlined into an -O2 caller: the region did not get "
                        "its own optimisation options")
    if calls_region(assembly(compiler, include, ["-O2", "-DMODIFY_OPTIMIZE_ONE_TIME_CODE"])):
        failures.append("with MODIFY_OPTIMIZE_ONE_TIME_CODE the one-time function was not inlined: the opt-out "
                        "did not remove the region")
    if calls_region(assembly(compiler, include, ["-Os"])):
        failures.append("at -Os the one-time function was not inlined: the region should be empty there")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: the region has its own options at -O2; MODIFY_OPTIMIZE_ONE_TIME_CODE and -Os leave none")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
