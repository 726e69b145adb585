#include "tests/binaries/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/temp_dir.h"

extern char** environ;

namespace fxmesh::testing {

ServiceProcess::ServiceProcess(const std::string& path, const std::vector<std::string>& args,
                               const std::vector<std::string>& environment) {
  output_path_ = MakeTempDir("fxmesh-process") + "/output.log";
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) env_strings.emplace_back(*entry);
  env_strings.insert(env_strings.end(), environment.begin(), environment.end());
  std::vector<char*> argv = {const_cast<char*>(path.c_str())};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);

  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    int fd = open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    // The test runner may block signals; the service must start with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
}

ServiceProcess::~ServiceProcess() {
  if (exit_code_ < 0 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ServiceProcess::Output() const {
  std::ifstream in(output_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int ServiceProcess::WaitForPort() {
  static const std::regex kServing("\"msg\":\"serving\".*\"port\":([0-9]+)");
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < give_up) {
    std::smatch match;
    const std::string output = Output();
    if (std::regex_search(output, match, kServing)) return std::stoi(match[1]);
    if (exit_code_ < 0 && Reap(0) >= 0)
      FAIL("the process exited (" << exit_code_ << ") before serving:\n" << Output());
    if (exit_code_ >= 0) FAIL("the process exited before serving:\n" << Output());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL("no serving line within 30 s:\n" << Output());
  return -1;
}

void ServiceProcess::Signal(int signal) {
  if (exit_code_ < 0) kill(pid_, signal);
}

int ServiceProcess::Reap(int timeout_ms) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  do {
    int status = 0;
    pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < give_up);
  return -1;
}

int ServiceProcess::Terminate() {
  if (exit_code_ >= 0) return exit_code_;
  kill(pid_, SIGTERM);
  if (Reap(20'000) >= 0) return exit_code_;
  kill(pid_, SIGKILL);
  return Reap(5'000);
}

int ServiceProcess::WaitForExit() {
  if (exit_code_ >= 0) return exit_code_;
  if (Reap(30'000) >= 0) return exit_code_;
  FAIL("the process did not exit within 30 s:\n" << Output());
  return -1;
}

}  // namespace fxmesh::testing
