// Starts a child process the way tests need one: stdin from /dev/null, stdout and stderr to files,
// a clean signal mask and a chosen environment. Free of Catch2, so the bank test's harness (a
// program of its own) shares it with the Catch2 tests.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace fxmesh::testing {

struct SpawnOptions {
  // Keep this process's FXMESH_* and NO_COLOR variables; otherwise they are dropped, so the
  // machine's settings cannot change a result.
  bool inherit_fxmesh = false;
  // Append to the output files instead of truncating them (one log across restarts).
  bool append = false;
  // Put the child in its own process group, so a Ctrl-C at the terminal reaches only the parent,
  // which stops its children in order.
  bool own_process_group = false;
};

// Starts `path` with `args`; `environment` entries ("NAME=value") are added to this process's.
// stdout goes to `out_path` and stderr to `err_path` (one file, written in order, when they are
// equal). Returns the child's pid, or -1 if it could not be forked.
pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& environment, const std::string& out_path,
            const std::string& err_path, const SpawnOptions& options = {});

}  // namespace fxmesh::testing
