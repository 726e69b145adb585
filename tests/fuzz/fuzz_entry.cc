// The entry point libFuzzer and replay_main.cc call, compiled into each target's binary (a static
// library's copy would be dropped before the fuzzer runtime asks for it).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fxmesh::fuzz::FuzzOne(data, size);
  return 0;
}
