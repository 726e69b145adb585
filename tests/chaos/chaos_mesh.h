// The whole mesh as real processes on loopback for the chaos test: the embedded Kafka, both
// ledgers, the coordinator and one or more relays, each on a fixed port, with a fault-injecting
// TCP proxy between every ledger and its callers (the coordinators and the relays). The nemesis
// kills, pauses and restarts services through it; the workload and the checker reach every
// service directly (never through a proxy).
//
// SQLite: one coordinator and one process per ledger, each with its own file in the run's folder.
// PostgreSQL (the production shape): the harness's own server with one database per service,
// reached by the services only through a proxy of its own; two coordinator replicas over the
// coordinator's database, and two replicas of each ledger over its database behind the ledger's
// proxy, which balances connections over both as a Kubernetes Service would.
//
// Not thread-safe: one thread (the nemesis, then the checker) drives the processes. The stubs may
// be used from any thread.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/kafka_control.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"
#include "tests/chaos/chaos_tls.h"
#include "tests/chaos/fault_plan.h"
#include "tests/chaos/postgres_server.h"
#include "tests/chaos/tcp_proxy.h"

namespace fxmesh::chaos {

// One service as a child process. Every start appends to the same log file, so the run's folder
// keeps each service's whole story across kills.
class Service {
 public:
  // `health` are the credentials its health checks call with.
  Service(std::string name, std::string path, std::vector<std::string> args, std::string log_path,
          int port, std::shared_ptr<grpc::ChannelCredentials> health);
  ~Service();  // SIGKILL if still running
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the process and waits until its gRPC health service answers SERVING.
  absl::Status Start();
  // Starts the process and returns at once; AwaitServing() or Supervise() follow it up.
  absl::Status Spawn();
  // Waits until the running process serves. A supervised service that exits first is started
  // again (after a back-off) until it serves or the start timeout passes.
  absl::Status AwaitServing();
  // One health check, unless the process already served since its start.
  bool Serving();
  // For a supervised service that exited before serving: starts it again once its back-off has
  // passed. Never blocks on the process; call it often.
  absl::Status Supervise();
  // Supervised: an exit before the process first serves is a failed start, which Supervise() and
  // AwaitServing() retry, not a crash.
  void set_supervised(bool supervised) { supervised_ = supervised; }
  // SIGKILL, then reaps it.
  void Kill();
  // SIGSTOP / SIGCONT.
  void Pause();
  void Resume();
  // SIGTERM and waits (SIGKILL after the grace period); returns the exit code or 128 + signal.
  int Stop();
  // Whether the process runs (paused counts as running). Reaps it if it exited by itself.
  bool Running();
  bool paused() const { return paused_; }
  // Exits the harness did not cause (crashes), with the last one's status.
  int crashes() const { return crashes_; }
  // Exits of a supervised service before it served (started again, not counted as crashes).
  int failed_starts() const { return failed_starts_; }
  const std::string& last_crash() const { return last_crash_; }
  const std::string& name() const { return name_; }
  int port() const { return port_; }
  const std::string& log_path() const { return log_path_; }
  // Environment entries ("NAME=value") for the next Start(), e.g. a skewed clock.
  void SetEnvironment(std::vector<std::string> environment) {
    environment_ = std::move(environment);
  }
  const std::vector<std::string>& environment() const { return environment_; }

 private:
  std::string name_, path_;
  std::vector<std::string> args_;
  std::vector<std::string> environment_;
  std::string log_path_;
  int port_;
  std::shared_ptr<grpc::ChannelCredentials> health_;
  pid_t pid_ = -1;
  bool paused_ = false;
  bool supervised_ = false;
  // Whether the process answered SERVING since its last start.
  bool served_ = false;
  absl::Time spawned_at_;
  int crashes_ = 0;
  int failed_starts_ = 0;
  std::string last_crash_;
};

struct MeshOptions {
  // Where the fxmesh-* binaries are.
  std::string bin_dir;
  // The run's folder: databases, logs, Kafka's bootstrap file.
  std::string run_dir;
  std::string rates_path;
  int relays = 2;
  int brokers = 3;
  Backend backend = Backend::kSqlite;
  // scripts/test-postgres.sh, which runs the PostgreSQL server (PostgreSQL backend only).
  std::string postgres_script;
  // The relays' retry tiers, e.g. "1000,2000,4000,8000".
  std::string tier_delays_ms;
  // Extra flags for the coordinator.
  std::vector<std::string> coordinator_flags;
  // Mutual TLS between every caller and every service, with a CA made in the run's folder
  // (chaos_tls.h); plaintext otherwise. Kafka's protocol and PostgreSQL's stay plaintext.
  bool tls = false;
};

class ChaosMesh {
 public:
  // Starts Kafka, the ledgers (and their proxies), the coordinator and the relays.
  static absl::StatusOr<std::unique_ptr<ChaosMesh>> Start(const MeshOptions& options);
  ~ChaosMesh();

  // "kafka", "krw", "fx", "coordinator", "relay0", ... (PostgreSQL: "krw0", "krw1", "fx0",
  // "fx1", "coordinator0", "coordinator1", "relay0", ...).
  Service& service(const std::string& name) { return *services_.at(name); }
  std::vector<std::string> service_names() const;
  // The proxy in front of ledger "krw" or "fx", or in front of "postgres".
  TcpProxy& proxy(const std::string& target) { return *proxies_.at(target); }
  const std::string& kafka_brokers() const { return kafka_brokers_; }
  const MeshShape& shape() const { return shape_; }
  // The run's certificates and the harness's credentials (plaintext ones without TLS).
  const ChaosTls& tls() const { return tls_; }
  // The PostgreSQL server; null with SQLite.
  PostgresServer* postgres() { return postgres_.get(); }

  // The stubs call as the role their RPCs need under mutual TLS: the ledgers' as core-banking
  // (open, fund and read accounts), the coordinators' ExchangeService as a gateway, OpsService
  // and KafkaControlService as the operator kChaosOperator.

  // A ledger ("krw", "fx") read directly: its first replica. Every replica serves the same
  // database, so the checker reads each ledger through this one replica for a consistent view.
  v1::LedgerService::Stub& ledger(const std::string& ledger) { return *ledgers_.at(ledger).at(0); }
  // Replica `index` (modulo the number of replicas) of a ledger, read directly.
  v1::LedgerService::Stub& ledger_replica(const std::string& ledger, size_t index) {
    const auto& replicas = ledgers_.at(ledger);
    return *replicas.at(index % replicas.size());
  }
  // Coordinator replica `index` (modulo their number); exchange() and ops() are the first one,
  // the checker's single view of the sagas.
  size_t coordinators() const { return exchanges_.size(); }
  v1::ExchangeService::Stub& exchange(size_t index = 0) {
    return *exchanges_.at(index % exchanges_.size());
  }
  v1::OpsService::Stub& ops() { return *ops_; }
  v1::KafkaControlService::Stub& kafka_control() { return *kafka_control_; }

  // A broker (1..brokers) of the embedded Kafka up or down, or answering `latency_ms` late,
  // through its control service.
  absl::Status SetBrokerUp(int broker, bool up);
  absl::Status SetBrokerLatency(int broker, int latency_ms);
  // Restarts service `name` (SIGTERM, then started again) with its wall clock `skew_ms` off
  // through libfaketime, or with the true time when `skew_ms` is 0. Monotonic time is left alone.
  // Unless `wait`, returns once the process is spawned (Service::Supervise() follows it up).
  absl::Status SetClockSkew(const std::string& name, int skew_ms, bool wait);

  // Ends every fault: resumes paused services, starts stopped ones, heals both proxies and puts
  // every broker back up at full speed. Returns the first error but tries everything.
  absl::Status HealAll();
  // Stops every service (SIGTERM, in reverse start order), then PostgreSQL.
  void StopAll();

 private:
  ChaosMesh() = default;
  absl::Status Launch(const MeshOptions& options);
  // Starts the PostgreSQL server, its proxy and one database per service.
  absl::Status LaunchPostgres(const MeshOptions& options);

  std::map<std::string, std::unique_ptr<Service>> services_;
  std::vector<std::string> start_order_;
  // Stopped when the mesh is destroyed, after StopAll() has stopped every service.
  std::unique_ptr<PostgresServer> postgres_;
  std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;
  std::string kafka_brokers_;
  MeshShape shape_;
  ChaosTls tls_;
  std::map<std::string, std::vector<std::unique_ptr<v1::LedgerService::Stub>>> ledgers_;
  std::vector<std::unique_ptr<v1::ExchangeService::Stub>> exchanges_;
  std::unique_ptr<v1::OpsService::Stub> ops_;
  std::unique_ptr<v1::KafkaControlService::Stub> kafka_control_;
};

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithin(absl::Duration timeout);

}  // namespace fxmesh::chaos
