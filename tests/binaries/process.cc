#include "tests/binaries/process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/support/spawn.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

ServiceProcess::ServiceProcess(const std::string& path, const std::vector<std::string>& args,
                               const std::vector<std::string>& environment) {
  output_path_ = MakeTempDir("fxmesh-process") + "/output.log";
  pid_ = Spawn(path, args, environment, output_path_, output_path_, {.inherit_fxmesh = true});
  REQUIRE(pid_ >= 0);
}

ServiceProcess::~ServiceProcess() {
  if (exit_code_ < 0 && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::string ServiceProcess::Output() const { return ReadAll(output_path_); }

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

CommandResult RunCommand(const std::string& path, const std::vector<std::string>& args,
                         const std::vector<std::string>& environment, int timeout_seconds) {
  // Files rather than pipes: the child never blocks on a full pipe while the test waits for it.
  const std::string dir = MakeTempDir("fxmesh-command");
  const std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  const pid_t pid = Spawn(path, args, environment, out_path, err_path);
  REQUIRE(pid >= 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      FAIL(path << " ran longer than " << timeout_seconds << " s; stderr:\n" << ReadAll(err_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace fxmesh::testing
