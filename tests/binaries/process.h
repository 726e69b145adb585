// A service binary run as a real child process, for tests that need signals and real sockets.
// Its stdout and stderr go to a temp file the test can read; the destructor kills it if running.
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

 private:
  int Reap(int timeout_ms);

  pid_t pid_ = -1;
  std::string output_path_;
  int exit_code_ = -1;
};

}  // namespace fxmesh::testing
