// The fxmesh command-line tool as a library: RunCli() is all of main() except reading argv, the
// environment and whether stdout and stderr are terminals, so tests can run it in-process too.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/command_line.h"

namespace fxmesh::cli {

// Every command, customer commands first, then operator commands, then help.
const std::vector<CommandSpec>& Commands();

struct Terminals {
  bool stdout_is_terminal = false;
  bool stderr_is_terminal = false;
};

// Runs the command line `args` (without the program name); results go to `out`, errors, notes
// and progress to `err`. Returns the process exit code (see ExitCode).
int RunCli(const std::vector<std::string>& args, const Environment& environment, std::ostream& out,
           std::ostream& err, Terminals terminals);

}  // namespace fxmesh::cli
