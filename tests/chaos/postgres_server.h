// The bank test's own PostgreSQL server: initdb into a folder of the run, a free loopback port, as
// the postgres user when run as root. It is started, killed and restarted with the script the
// [pg] tests use (scripts/test-postgres.sh), so there is one way to run a throw-away server.
// The nemesis kills it (`pg_ctl stop -m immediate`, then crash recovery on restart) and pauses
// it (SIGSTOP on the postmaster and every backend).
//
// Not thread-safe: one thread (the nemesis, then the checker) drives it.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fxmesh::chaos {

class PostgresServer {
 public:
  // Starts a new server in `dir` (made, and owned by postgres when run as root) with `script`
  // (scripts/test-postgres.sh). The script's own output goes to `log_path`; the server's log is
  // `dir`/server.log.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(std::string script, std::string dir,
                                                               std::string log_path);
  // Stops the server (immediately) and keeps its data for whoever reads the run's folder.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  int port() const { return port_; }
  // The url of `database` on this server, reached at 127.0.0.1:`port` (a proxy's, or port()).
  static std::string Url(const std::string& database, int port);
  // CREATE DATABASE, directly (never through a proxy).
  absl::Status CreateDatabase(const std::string& name);

  // `pg_ctl stop -m immediate`: every backend dies at once, nothing is flushed.
  absl::Status Kill();
  // Starts it again on the same port and data; it recovers from its WAL.
  absl::Status Restart();
  // SIGSTOP / SIGCONT to the postmaster and every process it has forked.
  absl::Status Pause();
  absl::Status Resume();
  bool running() const { return running_; }
  bool paused() const { return paused_; }

 private:
  PostgresServer(std::string script, std::string dir, std::string log_path, int port)
      : script_(std::move(script)),
        dir_(std::move(dir)),
        log_path_(std::move(log_path)),
        port_(port) {}
  // Runs the script with `action`; an error carries the end of its log.
  absl::Status Script(const std::string& action);
  // Sends `signal` to the postmaster and its children.
  absl::Status SignalAll(int signal);

  std::string script_, dir_, log_path_;
  int port_;
  bool running_ = true;
  bool paused_ = false;
};

}  // namespace fxmesh::chaos
