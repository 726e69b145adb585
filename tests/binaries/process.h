// Binaries run as real child processes. A service (ServiceProcess) runs in the background, for
// tests that need signals and real sockets: its stdout and stderr go to a temp file the test can
// read, and the destructor kills it if running. A command-line program (RunCommand) runs to
// completion, the way a script runs it: its stdout, stderr and exit code come back separately.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace fxmesh::testing {

class ServiceProcess {
 public:
  // Starts `path` with `args`; `environment` entries ("NAME=value") are added to this process's.
  ServiceProcess(const std::string& path, const std::vector<std::string>& args,
                 const std::vector<std::string>& environment);
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  // Waits (up to 30 s) for the service's "serving" log line and returns the port it names. Fails
  // the test, showing the output, if the process exits first.
  int WaitForPort();
  // Sends `signal` to the process.
  void Signal(int signal);
  // SIGTERM, then waits up to 20 s (SIGKILL after that); returns the exit code, or 128 + signal.
  int Terminate();
  // Waits up to 30 s for the process to exit by itself; returns as Terminate() does.
  int WaitForExit();
  // Everything the process has written so far.
  std::string Output() const;
  // The process id (for /proc/<pid>/ readings).
  pid_t pid() const { return pid_; }

 private:
  int Reap(int timeout_ms);

  pid_t pid_ = -1;
  std::string output_path_;
  int exit_code_ = -1;
};

struct CommandResult {
  // The exit status, or 128 + the signal that ended the process.
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `path` with `args` to completion. The child's environment is this process's without any
// FXMESH_* or NO_COLOR variable (so the machine's settings cannot change a result), plus
// `environment` entries ("NAME=value"). Fails the test if the program runs longer than
// `timeout_seconds` (it is killed).
CommandResult RunCommand(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& environment = {},
                         int timeout_seconds = 60);

}  // namespace fxmesh::testing
