# The services' memory allocator. gperftools' TCMalloc (tcmalloc_minimal: the allocator alone, no
# profiler) serves the many small, short-lived allocations of gRPC, Protobuf and SOCI from
# per-thread caches; glibc's malloc spent about a fifth of the services' CPU on them at saturation
# (docs/benchmarks.md#what-limits-these-figures). Sanitizer and fuzz builds keep the compiler's
# own allocator, which they instrument; FXMESH_TCMALLOC=OFF keeps glibc's.
#
# The per-thread caches of a process may hold this much together (TCMalloc's default is 32 MiB):
# capped, the coordinator's peak at saturation fell from 88.9 to about 74 MiB with no throughput
# lost (src/common/tcmalloc_tuning.cc).
option(FXMESH_TCMALLOC "Link the services and the benchmark with TCMalloc" ON)
set(FXMESH_TCMALLOC_THREAD_CACHE_BYTES 8388608)
if(FXMESH_SANITIZERS OR FXMESH_FUZZ)
  set(FXMESH_TCMALLOC OFF)
endif()
if(FXMESH_TCMALLOC)
  find_library(FXMESH_TCMALLOC_LIBRARY tcmalloc_minimal)
  if(NOT FXMESH_TCMALLOC_LIBRARY)
    message(FATAL_ERROR "TCMalloc not found: install libgoogle-perftools-dev "
                        "(scripts/install-deps.sh build), or configure with -DFXMESH_TCMALLOC=OFF")
  endif()
endif()

# Links `target` (a service or benchmark executable) with the services' allocator, tuned.
function(fxmesh_use_service_allocator target)
  if(FXMESH_TCMALLOC)
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/common/tcmalloc_tuning.cc)
    set_source_files_properties(${PROJECT_SOURCE_DIR}/src/common/tcmalloc_tuning.cc
      TARGET_DIRECTORY ${target} PROPERTIES
      COMPILE_DEFINITIONS FXMESH_TCMALLOC_THREAD_CACHE_BYTES=${FXMESH_TCMALLOC_THREAD_CACHE_BYTES})
    target_link_libraries(${target} PRIVATE ${FXMESH_TCMALLOC_LIBRARY})
  endif()
endfunction()
