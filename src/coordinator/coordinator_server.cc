#include "coordinator/coordinator_server.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "coordinator/recovery.h"
#include "coordinator/saga_state_machine.h"
#include "kafka/lag.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const CoordinatorServerOptions& options, const Clock& clock) {
  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  server->clock_ = &clock;
  server->recovery_interval_ = options.recovery_interval;
  server->prune_interval_ = options.prune_interval;
  ASSIGN_OR_RETURN(server->exporter_, ExportSpans(options.otlp_endpoint, server->tracer_));
  ASSIGN_OR_RETURN(RateTable rates, RateTable::Parse(options.rates_text, options.spread_bps));
  ASSIGN_OR_RETURN(server->database_, Database::Open(options.database));
  server->store_ = NewSociSagaStore(*server->database_);
  if (options.decorate_store) {
    server->undecorated_store_ = std::move(server->store_);
    server->store_ = options.decorate_store(*server->undecorated_store_);
  }
  RETURN_IF_ERROR(
      server->database_->PrepareSchema(CoordinatorSchema(), options.migrate_mode).status());

  std::map<std::string, ParticipantClient*> clients = options.participant_clients;
  for (const auto& [name, address] : options.participant_addresses) {
    auto client =
        NewGrpcParticipantClient(NewLedgerChannel(address, options.tls), &server->tracer_, name);
    clients[name] = client.get();
    server->owned_clients_[name] = std::move(client);
  }
  for (absl::string_view needed : {kKrwParticipant, kFxParticipant}) {
    if (clients.count(std::string(needed)) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("no address for participant ", needed));
    }
  }
  EngineOptions engine_options = options.engine;
  if (!options.kafka_brokers.empty()) {
    engine_options.relay_has_backlog = [raw = server.get()] { return raw->relay_backlog_.load(); };
  }
  engine_options.tracer = &server->tracer_;
  server->engine_ = std::make_unique<SagaEngine>(*server->store_, clock, std::move(rates), clients,
                                                 engine_options, server->metrics_);
  server->engine_->SetWakeBackground([raw = server.get()] { raw->Wake(); });
  if (!options.kafka_brokers.empty()) {
    server->engine_->SetCommandsQueued([raw = server.get()] { raw->OutboxQueued(); });
  }
  if (options.kafka_brokers.empty()) {
    LocalRelayOptions relay_options;
    relay_options.owner = engine_options.owner_id;
    relay_options.ledger_call_timeout = engine_options.ledger_call_timeout;
    server->local_relay_ =
        std::make_unique<LocalRelay>(*server->store_, server->engine_->settlement(), clients, clock,
                                     std::move(relay_options), server->metrics_, &server->tracer_);
    server->engine_->SetCommandsQueued([relay = server->local_relay_.get()] { relay->Notify(); });
    server->local_relaying_ = std::thread([raw = server.get()] { raw->LocalRelayLoop(); });
  }
  RETURN_IF_ERROR(server->engine_->pauses().Refresh());
  ASSIGN_OR_RETURN(int released, server->engine_->leases().ReleaseOwnLeases());
  if (released > 0) {
    LogInfo("released the saga leases this replica held when it last stopped")
        .With("replica_id", engine_options.owner_id)
        .With("leases", released);
  }
  server->executor_ = std::make_unique<Executor>("coordinator", limits::kSagaWorkerThreads,
                                                 limits::kWorkerQueueDepthMax);
  // Background drives have workers of their own: customers' calls never starve them, and they
  // never queue behind customers' calls while holding leases.
  server->recovery_executor_ = std::make_unique<Executor>(
      "recovery", limits::kRecoveryWorkerThreads, limits::kRecoveryWorkerThreads);
  ASSIGN_OR_RETURN(server->customer_gate_, CustomerGate::Create(options.customers));
  if (!server->customer_gate_->authenticates() && !options.tls.certificate_file.empty()) {
    LogError(
        "customers are CLAIMED, not authenticated: mutual TLS is on but no customer token key is "
        "configured (--customer_token_key); any gateway may act for any customer")
        .With("listen", options.listen_address);
  }
  server->exchange_service_ = std::make_unique<ExchangeService>(
      server->engine_->intake(), *server->executor_, clock, *server->customer_gate_);
  server->ops_service_ = std::make_unique<OpsService>(
      server->engine_->operators(), server->engine_->dead_letters(), *server->executor_);
  ASSIGN_OR_RETURN(server->server_,
                   GrpcServer::Start(options.listen_address,
                                     {server->exchange_service_.get(), server->ops_service_.get()},
                                     &server->metrics_, &server->tracer_, options.tls));
  server->server_->SetServing(true);
  server->health_ = std::make_unique<HealthWatcher>(
      *server->server_, [database = server->database_.get()] { return database->Ping(); },
      absl::Milliseconds(limits::kHealthProbeIntervalMs));
  kafka::ClientConfig kafka_config(options.kafka_brokers);
  kafka_config.properties = options.kafka_properties;
  if (!options.kafka_brokers.empty()) {
    ASSIGN_OR_RETURN(server->producer_, kafka::KafkaProducer::Create(
                                            kafka_config, options.engine.owner_id,
                                            absl::Milliseconds(limits::kOutboxDeliveryTimeoutMs)));
    server->publisher_ = std::make_unique<OutboxPublisher>(*server->store_, *server->producer_,
                                                           clock, options.engine.owner_id);
    server->publishing_ = std::thread([raw = server.get()] { raw->PublishLoop(); });
    ASSIGN_OR_RETURN(server->results_consumer_,
                     kafka::KafkaConsumer::Create(kafka_config, std::string(kCoordinatorGroup),
                                                  {std::string(kafka::kBranchResultsTopic),
                                                   std::string(kafka::kDeadLetterTopic)}));
    server->results_ = std::make_unique<RelayResultConsumer>(*server->results_consumer_,
                                                             server->engine_->settlement(), clock,
                                                             server->metrics_, &server->tracer_);
    server->consuming_ = std::thread([raw = server.get()] { raw->ResultLoop(); });
    server->backlog_watching_ =
        std::thread([raw = server.get(), kafka_config, group = options.relay_group] {
          raw->RelayBacklogLoop(kafka_config, group);
        });
  }
  server->AddScrapeGauges(kafka_config);
  if (!options.metrics_listen.empty()) {
    ASSIGN_OR_RETURN(
        server->metrics_server_,
        MetricsHttpServer::Start(options.metrics_listen, server->metrics_,
                                 [grpc = server->server_.get()] { return grpc->readiness(); }));
  }
  // Retention runs on its own thread, with or without Kafka, so deletes never wait behind (or
  // delay) a customer's exchange or the recovery pass.
  server->pruner_ =
      std::make_unique<Pruner>(*server->store_, clock, options.retention, server->metrics_);
  server->pruning_ = std::thread([raw = server.get()] { raw->PruneLoop(); });
  // Recovery starts at once: sagas left unfinished by a crash are due now.
  server->recovery_ = std::thread([raw = server.get()] { raw->RecoveryLoop(); });
  return server;
}

void CoordinatorServer::AddScrapeGauges(const kafka::ClientConfig& kafka_config) {
  metrics_.AddGaugeCallback(
      "fxmesh_sagas", "Sagas in each state, now.", {"state"},
      [this](GaugeSink& sink) -> absl::Status {
        ASSIGN_OR_RETURN(auto counts, store_->CountSagasByState());
        // Every state, zeros included: a dashboard tells 0 from missing.
        for (int i = v1::SagaState_MIN; i <= v1::SagaState_MAX; ++i) {
          const auto state = static_cast<v1::SagaState>(i);
          if (state == v1::SAGA_STATE_UNSPECIFIED || !v1::SagaState_IsValid(i)) {
            continue;
          }
          sink.Set({StateName(state)}, static_cast<double>(counts[state]));
        }
        return absl::OkStatus();
      });
  metrics_.AddGaugeCallback(
      "fxmesh_alerts", "What needs attention now: stuck sagas, unsent outbox rows, dead letters.",
      {"alert"}, [this](GaugeSink& sink) -> absl::Status {
        ASSIGN_OR_RETURN(v1::Alerts alerts, engine_->operators().GetAlerts());
        sink.Set({"stuck_sagas"}, alerts.stuck_sagas_size());
        sink.Set({"outbox_backlog"}, static_cast<double>(alerts.outbox_backlog()));
        sink.Set({"dead_letters_pending"}, static_cast<double>(alerts.dead_letters_pending()));
        return absl::OkStatus();
      });
  if (kafka_config.bootstrap_servers.empty()) return;
  metrics_.AddGaugeCallback(
      "fxmesh_consumer_lag",
      "Messages of the relay's results and dead letters not yet applied by the coordinators.",
      {"group"}, [kafka_config](GaugeSink& sink) -> absl::Status {
        ASSIGN_OR_RETURN(int64_t lag,
                         kafka::ConsumerGroupLag(kafka_config, std::string(kCoordinatorGroup),
                                                 {std::string(kafka::kBranchResultsTopic),
                                                  std::string(kafka::kDeadLetterTopic)},
                                                 absl::Milliseconds(limits::kLagQueryTimeoutMs)));
        sink.Set({std::string(kCoordinatorGroup)}, static_cast<double>(lag));
        return absl::OkStatus();
      });
}

CoordinatorServer::~CoordinatorServer() { Shutdown(absl::ZeroDuration()); }

void CoordinatorServer::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void CoordinatorServer::RecoveryLoop() {
  absl::Time next_stuck_check = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || woken_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), recovery_interval_);
      if (stopping_) return;
      woken_ = false;
    }
    absl::Status refreshed = engine_->pauses().Refresh();
    if (!refreshed.ok()) LogWarning("cannot read paused participants").With("error", refreshed);
    engine_->leases().RetryFailedReleases();
    absl::StatusOr<int> started = RecoverDueSagas(engine_->leases(), engine_->driver(),
                                                  *recovery_executor_, [this] { Wake(); });
    if (!started.ok()) LogWarning("cannot look for due sagas").With("error", started.status());
    if (clock_->Now() >= next_stuck_check) {
      absl::Status checked = engine_->driver().CheckStuck();
      if (!checked.ok()) LogWarning("cannot check for stuck sagas").With("error", checked);
      next_stuck_check = clock_->Now() + absl::Milliseconds(limits::kStuckCheckMs);
    }
  }
}

bool CoordinatorServer::Stopping() {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

void CoordinatorServer::PublishLoop() {
  while (!Stopping()) {
    // With rows in flight, the first delivery report ends the pass's wait. With none, the pass
    // only reads the outbox, and the loop then waits for the engine to queue branch commands (or
    // for the poll interval, for rows another replica or a saga event wrote): a decided saga's
    // Confirms leave for the relay at once, not at the next poll.
    const absl::Duration poll = publisher_->in_flight() > 0
                                    ? absl::Milliseconds(limits::kOutboxPollMs)
                                    : absl::ZeroDuration();
    absl::StatusOr<int> published = publisher_->PublishOnce(poll);
    if (!published.ok()) {
      LogWarning("cannot publish the outbox").With("error", published.status());
      absl::SleepFor(absl::Milliseconds(limits::kOutboxPollMs));
      continue;
    }
    if (publisher_->in_flight() > 0) continue;
    absl::MutexLock lock(&mu_);
    auto ready = [this]()
                     ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || outbox_queued_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(limits::kOutboxPollMs));
    outbox_queued_ = false;
  }
}

void CoordinatorServer::OutboxQueued() {
  absl::MutexLock lock(&mu_);
  outbox_queued_ = true;
}

void CoordinatorServer::LocalRelayLoop() {
  while (!local_relay_stopping_) {
    absl::StatusOr<int> started = local_relay_->Step();
    if (!started.ok()) {
      LogWarning("the in-process relay cannot settle now; it tries again")
          .With("error", started.status());
    }
    local_relay_->Wait(absl::Milliseconds(limits::kOutboxPollMs));
  }
}

void CoordinatorServer::RelayBacklogLoop(const kafka::ClientConfig& kafka_config,
                                         const std::string& group) {
  while (!Stopping()) {
    absl::StatusOr<int64_t> lag =
        kafka::ConsumerGroupLag(kafka_config, group, {std::string(kafka::kBranchCommandsTopic)},
                                absl::Milliseconds(limits::kLagQueryTimeoutMs));
    // Unknown is not "behind": a lost command must still be sent again.
    relay_backlog_ = lag.ok() && *lag > 0;
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping),
                         absl::Milliseconds(limits::kRelayBacklogCheckMs));
  }
}

void CoordinatorServer::ResultLoop() {
  while (!Stopping()) {
    absl::StatusOr<bool> consumed =
        results_->ConsumeOnce(absl::Milliseconds(limits::kResultPollMs));
    if (!consumed.ok()) {
      LogWarning("cannot consume the relay's results").With("error", consumed.status());
      absl::SleepFor(absl::Milliseconds(limits::kResultRetryMs));
    }
  }
}

void CoordinatorServer::PruneLoop() {
  // The first pass comes one interval after start-up, away from recovery's busiest moment. A pass
  // that filled a batch is followed by another after a short pause, so a backlog drains in small
  // transactions that leave room for everything else.
  absl::Duration wait = prune_interval_;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stopping), wait);
      if (stopping_) return;
    }
    const PruneCounts counts = pruner_->PruneOnce();
    wait = counts.more ? absl::Milliseconds(limits::kPrunePauseMs) : prune_interval_;
  }
}

void CoordinatorServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (recovery_.joinable()) recovery_.join();
  if (publishing_.joinable()) publishing_.join();
  if (consuming_.joinable()) consuming_.join();
  if (backlog_watching_.joinable()) backlog_watching_.join();
  if (pruning_.joinable()) pruning_.join();
  results_.reset();
  results_consumer_.reset();
  health_.reset();
  metrics_server_.reset();
  if (server_) server_->Shutdown(grace);
  executor_.reset();
  recovery_executor_.reset();
  // Last: the calls and drives above may still wait for it, or hand it commands.
  if (local_relaying_.joinable()) {
    local_relay_stopping_ = true;
    local_relay_->Notify();
    local_relaying_.join();
  }
}

}  // namespace fxmesh::coordinator
