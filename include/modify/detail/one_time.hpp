// One-time code: building, cloning, transforming, specialising, printing and saving a model run once
// per model, not once per call, so GCC compiles them at -O1 whatever the command line asks.
//
// Why: a header-only model is compiled in every unit that builds it, and GCC's -O2 back end was
// the largest part of a model's compile time (bench/README.md, "Compile cost"); these passes gain
// nothing from -O2. Forward paths are left out of the regions and keep the command line's level.
// GCC never inlines a function with its own optimize attribute into one without, so nothing a
// forward calls may sit inside a region. -O1 plus -finline-small-functions: small helpers (handle
// accessors, shared_ptr casts, children lists) are inlined into their one-time callers instead of
// each being compiled on its own (fewer functions for GCC's back end; bench/README.md).
//   MODIFY_ONE_TIME_BEGIN  ...one-time definitions...  MODIFY_ONE_TIME_END
// Define MODIFY_OPTIMIZE_ONE_TIME_CODE to compile everything at the command line's level. Other
// compilers, -O0 and -Os builds are unaffected.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__) && \
    !defined(MODIFY_OPTIMIZE_ONE_TIME_CODE)
#define MODIFY_ONE_TIME_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"O1\", \"inline-small-functions\")")
#define MODIFY_ONE_TIME_END _Pragma("GCC pop_options")
#else
#define MODIFY_ONE_TIME_BEGIN
#define MODIFY_ONE_TIME_END
#endif
