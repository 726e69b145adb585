// The three fxmesh services as real processes on loopback, each on its own SQLite file in a temp
// folder, with clients for each. Used by the tests that kill and restart services. The ledgers run
// with --dev_faults, as `fxmesh dev` starts them, so `fxmesh demo` can tell its whole story here.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/kafka_control.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"
#include "tests/binaries/process.h"

namespace fxmesh::testing {

class MeshProcesses {
 public:
  // Starts both ledgers; `dev_faults` false starts them as production does, without the dev
  // wiring (a measurement of the services themselves).
  explicit MeshProcesses(bool dev_faults = true);

  // Starts (or restarts) the coordinator with extra flags; waits until it serves. Once Kafka runs,
  // the coordinator uses it (and settles through the relay).
  void StartCoordinator(const std::vector<std::string>& extra_flags = {});
  ServiceProcess& coordinator() { return *coordinator_; }

  // The embedded Kafka (fxmesh-kafka) as a process, with its control service.
  void StartKafka();
  const std::string& kafka_brokers() const { return kafka_brokers_; }
  v1::KafkaControlService::Stub& kafka_control() { return *kafka_control_stub_; }
  // Starts (or restarts) relay `index` of the group "fxmesh-relay" with extra flags.
  void StartRelay(int index, const std::vector<std::string>& extra_flags = {});
  ServiceProcess& relay(int index) { return *relays_.at(index); }
  // The gRPC port of relay `index` (health, reflection, traces).
  int relay_port(int index) const { return relay_ports_.at(index); }
  int ledger_port(const std::string& ledger) const {
    return ledger == "krw" ? krw_port_ : fx_port_;
  }
  int coordinator_port() const { return coordinator_port_; }
  ServiceProcess& ledger_process(const std::string& ledger) {
    return ledger == "krw" ? *krw_process_ : *fx_process_;
  }
  // The port of a service's Prometheus endpoint (every service here serves one), from its
  // "serving" log line.
  static int MetricsPort(ServiceProcess& service);
  // Stops a ledger ("krw" or "fx") with SIGKILL, or starts it again on the same port and data.
  void KillLedger(const std::string& ledger);
  void StartLedger(const std::string& ledger);

  v1::LedgerService::Stub& krw() { return *krw_stub_; }
  v1::LedgerService::Stub& fx() { return *fx_stub_; }
  v1::ExchangeService::Stub& exchange() { return *exchange_stub_; }
  v1::OpsService::Stub& ops() { return *ops_stub_; }

  // A client context with a deadline `seconds` from now.
  static std::unique_ptr<grpc::ClientContext> Context(int seconds = 10);

  // Opens `account` in `currency` on `ledger` for the customer its id starts with ("alice-krw":
  // alice), and deposits `amount` into it (if positive).
  void Fund(v1::LedgerService::Stub& ledger, const std::string& account,
            const std::string& currency, int64_t amount);
  int64_t Available(v1::LedgerService::Stub& ledger, const std::string& account);
  // Polls GetExchange until the saga is final or `seconds` pass; returns its last state.
  v1::Exchange AwaitFinal(const std::string& saga_id, int seconds = 30);
  // Both ledgers balance, and no hold is HELD.
  void CheckLedgers();

 private:
  std::string data_;
  std::unique_ptr<ServiceProcess> krw_process_, fx_process_, coordinator_, kafka_;
  std::map<int, std::unique_ptr<ServiceProcess>> relays_;
  std::map<int, int> relay_ports_;
  int coordinator_port_ = 0;
  std::string kafka_brokers_;
  std::unique_ptr<v1::KafkaControlService::Stub> kafka_control_stub_;
  std::unique_ptr<v1::LedgerService::Stub> krw_stub_, fx_stub_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_stub_;
  std::unique_ptr<v1::OpsService::Stub> ops_stub_;
  int krw_port_ = 0, fx_port_ = 0;
  bool dev_faults_ = true;
  int request_counter_ = 0;
};

}  // namespace fxmesh::testing
