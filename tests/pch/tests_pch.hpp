// Precompiled for the test programs: LibTorch and doctest are most of every test's compile time.
// LibTorch first: its c10/util/Logging.h brings glog, whose CHECK/CHECK_EQ/... macros would
// otherwise replace doctest's (silently, both being system headers), turning every CHECK into an
// uncounted glog assertion that aborts the run on failure.
#include <torch/torch.h>
#include <doctest/doctest.h>
