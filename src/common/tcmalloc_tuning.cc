// Linked into every executable that allocates with TCMalloc (cmake/allocator.cmake, which also sets
// FXMESH_TCMALLOC_THREAD_CACHE_BYTES): caps what the per-thread caches may hold together. With
// TCMalloc's default of 32 MiB the coordinator, whose many worker threads each keep a cache, peaked
// near 90 MiB at saturation against a 100 MiB target; capped, it stays well under it with no
// throughput lost (docs/benchmarks.md). An operator's TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES wins.
#include <gperftools/malloc_extension.h>

#include <cstdlib>

namespace {

[[maybe_unused]] const bool kThreadCachesCapped = [] {
  if (std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") != nullptr) return false;
  return MallocExtension::instance()->SetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                                                         FXMESH_TCMALLOC_THREAD_CACHE_BYTES);
}();

}  // namespace
