// CANVASS_CHECK: assertions for programmer errors only, never reachable from user input.
// They stay on in release builds: a broken invariant in a counting engine must stop the
// run rather than print a wrong total.
#ifndef CANVASS_ENGINE_BASE_CHECK_H_
#define CANVASS_ENGINE_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define CANVASS_CHECK(condition)                                                                 \
  do {                                                                                           \
    if (__builtin_expect(!(condition), 0)) {                                                     \
      std::fprintf(stderr, "%s:%d: CANVASS_CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)

#endif  // CANVASS_ENGINE_BASE_CHECK_H_
