// Precompiled for the test programs: LibTorch and doctest are most of every test's compile time.
#include <doctest/doctest.h>
#include <torch/torch.h>
