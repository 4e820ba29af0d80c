// Split<3> given a braced list of 2 sizes: the list's length is checked against the count.
// expect: modify: Split<N>({sizes...}) needs exactly N sizes, one per piece
#include <modify/modify.hpp>
#include <torch/torch.h>

void misuse() {
  modify::Split<3> three_sizes({1, 2, 3}, 0);
#ifdef MODIFY_SHOULD_FAIL
  modify::Split<3> two_sizes({1, 2}, 0);
#endif
}
