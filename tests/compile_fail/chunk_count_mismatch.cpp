// Chunk<3> makes a 3-tuple, which a Parallel of 2 branches (a Binary module) cannot take: the count
// is in the type. GCC adds "the comparison reduces to '(3 == 2)'".
// expect: modify: a Binary module receives a tuple whose size is not 2
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  auto x = torch::randn({2, 6});
  modify::Sequential(modify::Chunk<3>(1), modify::Parallel(torch::nn::ReLU(), torch::nn::Tanh(), modify::Identity()))(x);
#ifdef MODIFY_SHOULD_FAIL
  modify::Sequential(modify::Chunk<3>(1), modify::Parallel(torch::nn::ReLU(), torch::nn::Tanh()))(x);
#endif
}
