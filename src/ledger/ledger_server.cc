#include "ledger/ledger_server.h"

#include "common/limits.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fxmesh::ledger {

absl::StatusOr<std::unique_ptr<LedgerServer>> LedgerServer::Start(
    const LedgerServerOptions& options, const Clock& clock) {
  std::unique_ptr<LedgerServer> server(new LedgerServer(options.service_name));
  ASSIGN_OR_RETURN(server->exporter_, ExportSpans(options.otlp_endpoint, server->tracer_));
  ASSIGN_OR_RETURN(server->database_, Database::Open(options.database));
  server->store_ = NewSociLedgerStore(*server->database_);
  RETURN_IF_ERROR(server->database_->PrepareSchema(LedgerSchema(), options.migrate_mode).status());
  server->engine_ = std::make_unique<LedgerEngine>(*server->store_, clock, options.currencies);
  RETURN_IF_ERROR(server->engine_->EnsurePositionAccounts());
  const size_t threads =
      options.worker_threads > 0 ? options.worker_threads : limits::kLedgerWorkerThreads;
  server->executor_ = std::make_unique<Executor>("ledger", threads, limits::kWorkerQueueDepthMax);
  std::vector<grpc::Service*> services = options.extra_services;
  BranchCalls* branches = server->engine_.get();
  if (options.decorate_branch_calls) {
    server->decorated_branch_calls_ = options.decorate_branch_calls(*server->engine_);
    branches = server->decorated_branch_calls_.get();
  }
  server->service_ = std::make_unique<LedgerService>(*server->engine_, *branches,
                                                     *server->executor_, server->tracer_);
  services.push_back(server->service_.get());
  ASSIGN_OR_RETURN(server->server_,
                   GrpcServer::Start(options.listen_address, services, &server->metrics_,
                                     &server->tracer_, options.tls));
  server->server_->SetServing(true);
  server->health_ = std::make_unique<HealthWatcher>(
      *server->server_, [store = server->store_.get()] { return store->Ping(); },
      absl::Milliseconds(limits::kHealthProbeIntervalMs));
  // Holds left HELD long are what an operator looks for: a saga that never settled them.
  server->metrics_.AddGaugeCallback(
      "fxmesh_ledger_held_holds",
      "Holds still HELD, counted by age: created at least `older_than` ago (0s counts all).",
      {"older_than"}, [store = server->store_.get(), &clock](GaugeSink& sink) -> absl::Status {
        constexpr std::pair<absl::string_view, int64_t> kAges[] = {
            {"0s", 0}, {"1m", 60}, {"10m", 600}, {"1h", 3'600}};
        for (const auto& [label, seconds] : kAges) {
          ASSIGN_OR_RETURN(
              int64_t count,
              store->CountHolds(HoldState::kHeld,
                                absl::ToUnixMicros(clock.Now() - absl::Seconds(seconds))));
          sink.Set({label}, static_cast<double>(count));
        }
        return absl::OkStatus();
      });
  // The ledger's own invariant, per currency, at every scrape: one statement reads one snapshot
  // (GetCurrencyTotals), so a 0 here is a real imbalance, never a race with a posting.
  server->metrics_.AddGaugeCallback(
      "fxmesh_ledger_balanced",
      "1 while a currency's balance sheet balances (sum of available + held = deposits - "
      "withdrawals, and sum of incoming = open credit holds), 0 when it does not.",
      {"currency"}, [engine = server->engine_.get()](GaugeSink& sink) -> absl::Status {
        v1::BalanceSheet sheet;
        RETURN_IF_ERROR(engine->GetBalanceSheet(&sheet));
        for (const v1::CurrencyTotals& totals : sheet.currencies()) {
          sink.Set({totals.currency()}, CurrencyBalances(totals) ? 1 : 0);
        }
        return absl::OkStatus();
      });
  if (!options.metrics_listen.empty()) {
    ASSIGN_OR_RETURN(
        server->metrics_server_,
        MetricsHttpServer::Start(options.metrics_listen, server->metrics_,
                                 [grpc = server->server_.get()] { return grpc->readiness(); }));
  }
  return server;
}

LedgerServer::~LedgerServer() { Shutdown(absl::ZeroDuration()); }

void LedgerServer::Shutdown(absl::Duration grace) {
  health_.reset();
  metrics_server_.reset();
  if (server_) server_->Shutdown(grace);
  // Running and queued engine calls finish before the executor's threads join.
  executor_.reset();
}

}  // namespace fxmesh::ledger
