// Proves that an executable linked with the services' allocator (cmake/allocator.cmake) runs on
// TCMalloc with its per-thread caches capped as configured, unless the environment says otherwise.
#include <gperftools/malloc_extension.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

TEST_CASE("the services' allocator is TCMalloc with its thread caches capped", "[unit]") {
  size_t capped = 0;
  REQUIRE(MallocExtension::instance()->GetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                                                          &capped));
  const char* chosen = std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES");
  const size_t expected =
      chosen != nullptr ? std::stoull(chosen) : size_t{FXMESH_TCMALLOC_THREAD_CACHE_BYTES};
  CHECK(capped == expected);
  // Memory handed out by malloc is TCMalloc's: it knows the block's size.
  void* block = std::malloc(100);
  CHECK(MallocExtension::instance()->GetOwnership(block) == MallocExtension::kOwned);
  std::free(block);
}
