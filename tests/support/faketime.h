// libfaketime, preloaded into one process to move its wall clock alone. Preloaded directly rather
// than through the `faketime` wrapper command: the wrapper needs POSIX shared memory (sem_open
// under /dev/shm), which CI sandboxes and containers do not always have, and then refuses to run at
// all.
#pragma once

namespace fxmesh::testing {

inline constexpr char kFakeTimeLibrary[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

}  // namespace fxmesh::testing
