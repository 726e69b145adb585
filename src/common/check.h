// FXMESH_CHECK: for programmer errors and broken money invariants only, never for external input.
// A failed check logs what broke and aborts, in release builds too: a ledger that has computed a
// negative balance must stop before it writes anything else.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FXMESH_CHECK(condition, message)                                                         \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"check failed: %s (%s) at %s:%d\"}\n", \
                   #condition, message, __FILE__, __LINE__);                                     \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)
