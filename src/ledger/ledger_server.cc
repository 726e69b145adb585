#include "ledger/ledger_server.h"

#include "common/limits.h"
#include "common/status_macros.h"

namespace fxmesh::ledger {

absl::StatusOr<std::unique_ptr<LedgerServer>> LedgerServer::Start(
    const LedgerServerOptions& options, const Clock& clock) {
  std::unique_ptr<LedgerServer> server(new LedgerServer());
  ASSIGN_OR_RETURN(server->database_, Database::Open(options.database));
  server->store_ = NewSociLedgerStore(*server->database_);
  RETURN_IF_ERROR(server->store_->Migrate());
  server->engine_ = std::make_unique<LedgerEngine>(*server->store_, clock, options.currencies);
  RETURN_IF_ERROR(server->engine_->EnsurePositionAccounts());
  const size_t threads =
      options.worker_threads > 0
          ? options.worker_threads
          : (server->database_->kind() == DbKind::kPostgres ? limits::kPostgresPoolSizeDefault
                                                            : limits::kSqlitePoolSizeDefault);
  server->executor_ = std::make_unique<Executor>("ledger", threads, limits::kWorkerQueueDepthMax);
  server->service_ = std::make_unique<LedgerService>(*server->engine_, *server->executor_);
  ASSIGN_OR_RETURN(server->server_,
                   GrpcServer::Start(options.listen_address, {server->service_.get()}));
  server->server_->SetServing(true);
  server->health_ = std::make_unique<HealthWatcher>(
      *server->server_, [store = server->store_.get()] { return store->Ping(); },
      absl::Milliseconds(limits::kHealthProbeIntervalMs));
  return server;
}

LedgerServer::~LedgerServer() { Shutdown(absl::ZeroDuration()); }

void LedgerServer::Shutdown(absl::Duration grace) {
  health_.reset();
  if (server_) server_->Shutdown(grace);
  // Running and queued engine calls finish before the executor's threads join.
  executor_.reset();
}

}  // namespace fxmesh::ledger
