#include "tests/chaos/postgres_server.h"

#include <signal.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/db.h"
#include "tests/support/spawn.h"

namespace fxmesh::chaos {
namespace {

constexpr char kBash[] = "/bin/bash";
// How much of the script's log an error shows.
constexpr size_t kLogTailBytes = 2'000;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every process whose parent is `parent`, from /proc.
std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> children;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ignored)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so parse after the ')'.
    const std::string stat = ReadAll(absl::StrCat("/proc/", pid, "/stat"));
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    const std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    pid_t ppid = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &ppid) && ppid == parent) {
      children.push_back(pid);
    }
  }
  return children;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(std::string script,
                                                                      std::string dir,
                                                                      std::string log_path) {
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(std::move(script), std::move(dir), std::move(log_path), 0));
  absl::Status started = server->Script("start");
  if (!started.ok()) {
    server->running_ = false;
    return started;
  }
  if (!absl::SimpleAtoi(ReadAll(absl::StrCat(server->dir_, "/port")), &server->port_) ||
      server->port_ <= 0) {
    return absl::InternalError(absl::StrCat("no port in ", server->dir_, "/port"));
  }
  return server;
}

PostgresServer::~PostgresServer() {
  if (paused_) (void)Resume();
  if (running_) (void)Script("stop-server");
}

std::string PostgresServer::Url(const std::string& database, int port) {
  return absl::StrCat("postgresql://postgres@127.0.0.1:", port, "/", database);
}

absl::Status PostgresServer::CreateDatabase(const std::string& name) {
  absl::StatusOr<std::string> conninfo = PostgresConninfo(Url("postgres", port_));
  if (!conninfo.ok()) return conninfo.status();
  try {
    soci::session admin(soci::postgresql, *conninfo);
    admin << "CREATE DATABASE " << name;
  } catch (const std::exception& error) {
    return absl::UnavailableError(absl::StrCat("CREATE DATABASE ", name, ": ", error.what()));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Kill() {
  if (paused_) {
    // A stopped postmaster cannot take pg_ctl's signal; the plan never overlaps the two anyway.
    absl::Status resumed = Resume();
    if (!resumed.ok()) return resumed;
  }
  absl::Status stopped = Script("stop-server");
  if (stopped.ok()) running_ = false;
  return stopped;
}

absl::Status PostgresServer::Restart() {
  absl::Status started = Script("start-server");
  if (started.ok()) running_ = true;
  return started;
}

absl::Status PostgresServer::Pause() {
  absl::Status paused = SignalAll(SIGSTOP);
  if (paused.ok()) paused_ = true;
  return paused;
}

absl::Status PostgresServer::Resume() {
  absl::Status resumed = SignalAll(SIGCONT);
  paused_ = false;
  return resumed;
}

absl::Status PostgresServer::SignalAll(int signal) {
  // The first line of postmaster.pid is the postmaster's pid.
  pid_t postmaster = 0;
  const std::string pid_file = ReadAll(absl::StrCat(dir_, "/data/postmaster.pid"));
  if (!absl::SimpleAtoi(pid_file.substr(0, pid_file.find('\n')), &postmaster) || postmaster <= 0)
    return absl::FailedPreconditionError("PostgreSQL is not running (no postmaster.pid)");
  // The postmaster first: once it is stopped it forks no new backend that the scan would miss.
  if (kill(postmaster, signal) != 0) {
    return absl::InternalError(absl::StrCat("cannot signal the postmaster ", postmaster));
  }
  for (pid_t child : Children(postmaster)) kill(child, signal);
  return absl::OkStatus();
}

absl::Status PostgresServer::Script(const std::string& action) {
  const pid_t pid = testing::Spawn(kBash, {script_, action, dir_}, {}, log_path_, log_path_,
                                   {.append = true, .own_process_group = true});
  if (pid < 0) return absl::InternalError("fork() failed");
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  std::string log = ReadAll(log_path_);
  if (log.size() > kLogTailBytes) log = log.substr(log.size() - kLogTailBytes);
  return absl::UnavailableError(
      absl::StrCat("test-postgres.sh ", action, " failed; its log ends:\n", log));
}

}  // namespace fxmesh::chaos
