// A complete coordinator: database, migrations, rates, ledger clients, saga engine, worker pool,
// gRPC server, the recovery loop that drives every due saga (at start-up, on a timer, and
// whenever the engine hands a saga to the background), and the pruner's loop (retention).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db.h"
#include "common/executor.h"
#include "common/grpc_server.h"
#include "common/health_watcher.h"
#include "common/metrics.h"
#include "common/metrics_http_server.h"
#include "common/otlp_exporter.h"
#include "common/participant_client.h"
#include "common/tls.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/local_relay.h"
#include "coordinator/outbox_publisher.h"
#include "coordinator/pruner.h"
#include "coordinator/rates.h"
#include "coordinator/relay_results.h"
#include "coordinator/saga_engine.h"
#include "coordinator/saga_store.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {

struct CoordinatorServerOptions {
  std::string listen_address = "127.0.0.1:0";
  DatabaseOptions database;
  // kAuto applies missing migrations at start; kCheck runs no DDL and refuses a schema that is
  // behind (FAILED_PRECONDITION naming the missing migrations).
  MigrateMode migrate_mode = MigrateMode::kAuto;
  // The rates file's text (see RateTable::Parse) and the spread in basis points.
  std::string rates_text;
  int spread_bps = 0;
  // Ledger addresses, host:port, keyed by participant name ("krw-ledger", "fx-ledger"). Tests may
  // give `participant_clients` instead (which then must outlive the server).
  std::map<std::string, std::string> participant_addresses;
  // Mutual TLS for the server (with the access table) and the ledger clients; no files: plaintext.
  TlsOptions tls;
  // How customers are authenticated (a token key) and rate-limited.
  CustomerAccessOptions customers;
  std::map<std::string, ParticipantClient*> participant_clients;
  EngineOptions engine;
  absl::Duration recovery_interval = absl::Milliseconds(limits::kRecoveryIntervalMsDefault);
  // What is deleted when (see Pruner), and how often the pruner looks when nothing is waiting.
  RetentionOptions retention;
  absl::Duration prune_interval = absl::Milliseconds(limits::kPruneIntervalMs);
  // Kafka's bootstrap servers. Set: the outbox is published, the relays settle its Confirms and
  // Cancels, and their results and dead letters are consumed. Empty: the coordinator's in-process
  // relay (local_relay.h) drains the outbox and settles them the same way; saga events, which
  // nobody consumes then, are marked sent.
  std::string kafka_brokers;
  // librdkafka properties for every Kafka client of the coordinator (TLS, SASL; see
  // kafka/client_config.h).
  kafka::KafkaProperties kafka_properties;
  // The relays' consumer group, whose lag on the commands topic tells a slow relay from a lost
  // command.
  std::string relay_group = std::string(kafka::kRelayGroupDefault);
  // host:port of the Prometheus metrics endpoint (GET /metrics); empty: none.
  std::string metrics_listen;
  // An OpenTelemetry collector's OTLP/HTTP base URL (http://host:4318) to export spans to; empty:
  // spans are only kept for `fxmesh trace`.
  std::string otlp_endpoint;
  // The test wiring's seam in front of the store (a failpoint, see coordinator/failpoints/): given
  // the real store, returns the one every part of the coordinator uses. Null: the real store.
  std::function<std::unique_ptr<SagaStore>(SagaStore&)> decorate_store;
};

class CoordinatorServer {
 public:
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(
      const CoordinatorServerOptions& options, const Clock& clock);
  ~CoordinatorServer();

  int port() const { return server_->port(); }
  // The metrics endpoint's port, or 0 without one.
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  SagaEngine& engine() { return *engine_; }
  // Stops the recovery loop, refuses new calls, lets calls in flight finish for up to `grace`.
  void Shutdown(absl::Duration grace);

 private:
  void RecoveryLoop();
  void PublishLoop();
  void LocalRelayLoop();
  void ResultLoop();
  // Keeps relay_backlog_ current: whether the relays have unread branch commands.
  void RelayBacklogLoop(const kafka::ClientConfig& kafka_config, const std::string& group);
  void PruneLoop();
  bool Stopping();
  void Wake();
  // The engine queued branch commands in the outbox: the publisher need not wait for its poll.
  void OutboxQueued();

  // Registers the gauges computed when scraped (sagas by state, backlogs, consumer lag).
  void AddScrapeGauges(const kafka::ClientConfig& kafka_config);

  CoordinatorServer() : tracer_("coordinator", limits::kSpansKeptMax) {}

  const Clock* clock_ = nullptr;  // Set by Start; outlives the server.
  absl::Duration recovery_interval_;
  absl::Duration prune_interval_;
  MetricsRegistry metrics_;
  Tracer tracer_;
  std::unique_ptr<OtlpExporter> exporter_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<SagaStore> undecorated_store_;  // Set only with decorate_store; outlives store_.
  std::unique_ptr<SagaStore> store_;
  std::map<std::string, std::unique_ptr<ParticipantClient>> owned_clients_;
  std::unique_ptr<SagaEngine> engine_;
  std::unique_ptr<Executor> executor_;           // Customers' and operators' calls.
  std::unique_ptr<Executor> recovery_executor_;  // Drives started by the recovery loop.
  std::unique_ptr<CustomerGate> customer_gate_;
  std::unique_ptr<ExchangeService> exchange_service_;
  std::unique_ptr<OpsService> ops_service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<HealthWatcher> health_;
  std::unique_ptr<MetricsHttpServer> metrics_server_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  bool outbox_queued_ ABSL_GUARDED_BY(mu_) = false;
  std::thread recovery_;
  // Without Kafka. It runs until the gRPC server has let the calls in flight finish, since a
  // customer's Exchange waits for the relay to settle what it decided.
  std::unique_ptr<LocalRelay> local_relay_;
  std::atomic<bool> local_relay_stopping_{false};
  std::thread local_relaying_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<OutboxPublisher> publisher_;
  std::thread publishing_;
  std::unique_ptr<kafka::KafkaConsumer> results_consumer_;
  std::unique_ptr<RelayResultConsumer> results_;
  std::thread consuming_;
  std::atomic<bool> relay_backlog_{false};
  std::thread backlog_watching_;
  std::unique_ptr<Pruner> pruner_;
  std::thread pruning_;
};

}  // namespace fxmesh::coordinator
