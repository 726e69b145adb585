// The whole mesh as real processes on loopback for the chaos test: the embedded Kafka, both
// ledgers, the coordinator and one or more relays, each on a fixed port and its own SQLite file
// in the run's folder, with a fault-injecting TCP proxy between every ledger and its callers (the
// coordinator and the relays). The nemesis kills, pauses and restarts services through it; the
// workload and the checker reach every service directly (never through a proxy).
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
#include "tests/chaos/tcp_proxy.h"

namespace fxmesh::chaos {

// One service as a child process. Every start appends to the same log file, so the run's folder
// keeps each service's whole story across kills.
class Service {
 public:
  Service(std::string name, std::string path, std::vector<std::string> args, std::string log_path,
          int port);
  ~Service();  // SIGKILL if still running
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts the process and waits until its gRPC health service answers SERVING.
  absl::Status Start();
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
  const std::string& last_crash() const { return last_crash_; }
  const std::string& name() const { return name_; }
  int port() const { return port_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string name_, path_;
  std::vector<std::string> args_;
  std::string log_path_;
  int port_;
  pid_t pid_ = -1;
  bool paused_ = false;
  int crashes_ = 0;
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
  // The relays' retry tiers, e.g. "1000,2000,4000,8000".
  std::string tier_delays_ms;
  // Extra flags for the coordinator.
  std::vector<std::string> coordinator_flags;
};

class ChaosMesh {
 public:
  // Starts Kafka, the ledgers (and their proxies), the coordinator and the relays.
  static absl::StatusOr<std::unique_ptr<ChaosMesh>> Start(const MeshOptions& options);
  ~ChaosMesh();

  // "kafka", "krw", "fx", "coordinator", "relay0", ...
  Service& service(const std::string& name) { return *services_.at(name); }
  std::vector<std::string> service_names() const;
  // The proxy in front of ledger "krw" or "fx".
  TcpProxy& proxy(const std::string& ledger) { return *proxies_.at(ledger); }
  const std::string& kafka_brokers() const { return kafka_brokers_; }

  v1::LedgerService::Stub& ledger(const std::string& ledger) { return *ledgers_.at(ledger); }
  v1::ExchangeService::Stub& exchange() { return *exchange_; }
  v1::OpsService::Stub& ops() { return *ops_; }
  v1::KafkaControlService::Stub& kafka_control() { return *kafka_control_; }

  // A broker (1..brokers) of the embedded Kafka up or down, or answering `latency_ms` late,
  // through its control service.
  absl::Status SetBrokerUp(int broker, bool up);
  absl::Status SetBrokerLatency(int broker, int latency_ms);

  // Ends every fault: resumes paused services, starts stopped ones, heals both proxies and puts
  // every broker back up at full speed. Returns the first error but tries everything.
  absl::Status HealAll();
  // Stops every service (SIGTERM, in reverse start order).
  void StopAll();

 private:
  ChaosMesh() = default;
  absl::Status Launch(const MeshOptions& options);

  std::map<std::string, std::unique_ptr<Service>> services_;
  std::vector<std::string> start_order_;
  std::map<std::string, std::unique_ptr<TcpProxy>> proxies_;
  std::string kafka_brokers_;
  int brokers_ = 3;
  std::map<std::string, std::unique_ptr<v1::LedgerService::Stub>> ledgers_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_;
  std::unique_ptr<v1::OpsService::Stub> ops_;
  std::unique_ptr<v1::KafkaControlService::Stub> kafka_control_;
};

// A client context whose deadline is `timeout` from now.
std::unique_ptr<grpc::ClientContext> ContextWithin(absl::Duration timeout);

}  // namespace fxmesh::chaos
