// Sanity check of the harness itself: a plain failing static_assert, proving that the runner sees a failure and checks its message.
// expect: modify: sanity check: the compile-fail harness sees this failure and its message
#include <modify/modify.hpp>

namespace {
template <class T>
constexpr bool false_dependent = false;

template <class T>
void sanity() {
  static_assert(false_dependent<T>, "modify: sanity check: the compile-fail harness sees this failure and its message");
}
}  // namespace

void misuse() {
#ifdef MODIFY_SHOULD_FAIL
  sanity<int>();
#endif
}
