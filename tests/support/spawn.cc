#include "tests/support/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

extern char** environ;

namespace fxmesh::testing {

pid_t Spawn(const std::string& path, const std::vector<std::string>& args,
            const std::vector<std::string>& environment, const std::string& out_path,
            const std::string& err_path, const SpawnOptions& options) {
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    if (!options.inherit_fxmesh &&
        (text.rfind("FXMESH_", 0) == 0 || text.rfind("NO_COLOR=", 0) == 0)) {
      continue;
    }
    env_strings.push_back(text);
  }
  env_strings.insert(env_strings.end(), environment.begin(), environment.end());
  std::vector<char*> argv = {const_cast<char*>(path.c_str())};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  const int flags = O_WRONLY | O_CREAT | (options.append ? O_APPEND : O_TRUNC);

  const pid_t pid = fork();
  if (pid == 0) {
    const int in = open("/dev/null", O_RDONLY);
    const int out = open(out_path.c_str(), flags, 0644);
    // One descriptor for both when they share a file, or each would overwrite the other.
    const int err = err_path == out_path ? out : open(err_path.c_str(), flags, 0644);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    // The test runner may block signals; the child must start with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.own_process_group) setpgid(0, 0);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

}  // namespace fxmesh::testing
