// A complete ledger service: database, migrations, position accounts, worker pool and gRPC server.
// fxmesh-krw-ledger and fxmesh-fx-ledger are this with different currencies; tests start it
// in-process on port 0.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/db.h"
#include "common/executor.h"
#include "common/grpc_server.h"
#include "common/health_watcher.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/metrics_http_server.h"
#include "common/money.h"
#include "common/otlp_exporter.h"
#include "common/tls.h"
#include "ledger/branch_calls.h"
#include "ledger/ledger_engine.h"
#include "ledger/ledger_service.h"
#include "ledger/ledger_store.h"

namespace fxmesh::ledger {

struct LedgerServerOptions {
  std::string listen_address = "127.0.0.1:0";
  DatabaseOptions database;
  // kAuto applies missing migrations at start; kCheck runs no DDL and refuses a schema that is
  // behind (FAILED_PRECONDITION naming the missing migrations).
  MigrateMode migrate_mode = MigrateMode::kAuto;
  std::vector<Currency> currencies;
  // Threads running engine calls; 0 means limits::kLedgerWorkerThreads.
  size_t worker_threads = 0;
  // host:port of the Prometheus metrics endpoint (GET /metrics); empty: none.
  std::string metrics_listen;
  // An OpenTelemetry collector's OTLP/HTTP base URL to export spans to; empty: none.
  std::string otlp_endpoint;
  // Names this service in its spans: "krw-ledger", "fx-ledger".
  std::string service_name = "ledger";
  // The development wiring's seams (ledger/dev/, `--dev_faults`): given the engine's Try, Confirm
  // and Cancel, the calls the service makes instead (null: the engine's own), and more services to
  // serve beside LedgerService (they must outlive the server). Unset in production.
  std::function<std::unique_ptr<BranchCalls>(BranchCalls& engine)> decorate_branch_calls;
  std::vector<grpc::Service*> extra_services;
  // Mutual TLS and the access table (tls.h); no files: plaintext.
  TlsOptions tls;
};

class LedgerServer {
 public:
  // Opens and migrates the database, opens position accounts and starts serving. `clock` must
  // outlive the server.
  static absl::StatusOr<std::unique_ptr<LedgerServer>> Start(const LedgerServerOptions& options,
                                                             const Clock& clock);
  ~LedgerServer();

  int port() const { return server_->port(); }
  // The metrics endpoint's port, or 0 without one.
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  LedgerEngine& engine() { return *engine_; }
  // False while the database cannot be reached (the health service says NOT_SERVING).
  bool serving() const { return health_->serving(); }
  // Refuses new calls, lets calls in flight finish for up to `grace`, then stops. Idempotent.
  void Shutdown(absl::Duration grace);

 private:
  explicit LedgerServer(const std::string& service_name)
      : tracer_(service_name, limits::kSpansKeptMax) {}

  // Declared in dependency order; destroyed in reverse, so the server stops first.
  MetricsRegistry metrics_;
  Tracer tracer_;
  std::unique_ptr<OtlpExporter> exporter_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<LedgerStore> store_;
  std::unique_ptr<LedgerEngine> engine_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<BranchCalls> decorated_branch_calls_;  // Null without decorate_branch_calls.
  std::unique_ptr<LedgerService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<HealthWatcher> health_;
  std::unique_ptr<MetricsHttpServer> metrics_server_;
};

}  // namespace fxmesh::ledger
