// fxmesh-coordinator: quotes and exchanges, run as TCC sagas over the two ledgers. This file parses
// flags (and FXMESH_* environment variables), wires the server and serves until SIGTERM or SIGINT.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/db_flags.h"
#include "common/log.h"
#include "common/service_main.h"
#include "common/status_macros.h"
#include "common/tls_flags.h"
#include "coordinator/coordinator_server.h"
#include "coordinator/failpoints/crash_after_saves.h"
#include "kafka/kafka_flags.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "host:port to serve gRPC on");
ABSL_FLAG(std::string, db, "sqlite:.fxmesh/data/coordinator.db",
          "database: sqlite:PATH or postgresql://user@host:port/dbname (the password: "
          "--db_password_file)");
ABSL_FLAG(std::string, rates, "config/rates.txt",
          "rates file: lines 'USD 1370.25' (KRW per unit, mid rate)");
ABSL_FLAG(int, spread_bps, 50, "the bank's spread around the mid rate, in basis points");
ABSL_FLAG(std::string, krw_ledger, "127.0.0.1:50061", "host:port of fxmesh-krw-ledger");
ABSL_FLAG(std::string, fx_ledger, "127.0.0.1:50062", "host:port of fxmesh-fx-ledger");
ABSL_FLAG(std::string, replica_id, "",
          "this replica's id in saga leases; unique per replica (default: hostname and port)");
ABSL_FLAG(int64_t, daily_limit_krw, fxmesh::limits::kDailyLimitKrwMinorDefault,
          "per-customer daily exchange limit, in KRW");
ABSL_FLAG(std::string, limit_time_zone, "UTC",
          "IANA time zone whose calendar days the daily limit counts, e.g. Asia/Seoul");
ABSL_FLAG(int64_t, quote_ttl_ms, fxmesh::limits::kQuoteTtlMsDefault, "how long a quote holds");
ABSL_FLAG(int64_t, stuck_after_ms, fxmesh::limits::kStuckAfterMsDefault,
          "a saga non-terminal for longer than this raises an alert");
ABSL_FLAG(int64_t, recovery_interval_ms, fxmesh::limits::kRecoveryIntervalMsDefault,
          "how often due sagas are looked for");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, kafka_brokers, "",
          "Kafka bootstrap servers: saga events are published and Confirms/Cancels are settled "
          "through fxmesh-relay. Empty: the coordinator settles them itself and events wait in "
          "the outbox");
ABSL_FLAG(std::string, relay_group, "fxmesh-relay",
          "the relays' consumer group (their --group): while it has unread branch commands, a "
          "command the relay is silent about is late, not lost, and is not sent again");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port for Prometheus metrics over HTTP (GET /metrics); empty: no endpoint");
ABSL_FLAG(std::string, otlp_endpoint, "",
          "OpenTelemetry collector to export spans to, http://host:port (OTLP/HTTP JSON)");
ABSL_FLAG(int64_t, redispatch_after_ms, fxmesh::limits::kRedispatchAfterMsDefault,
          "a branch command with no result from the relay this long is sent again");
ABSL_FLAG(int64_t, saga_retention_ms, fxmesh::limits::kSagaRetentionMsDefault,
          "COMPLETED and CANCELLED sagas, with their step log, resolutions and idempotency key, "
          "are deleted this long after their last change (at least a day); 0 keeps them forever");
ABSL_FLAG(int64_t, quote_retention_ms, fxmesh::limits::kQuoteRetentionMsDefault,
          "quotes are deleted this long after they expired, unless a running saga names them; 0 "
          "keeps them forever");
ABSL_FLAG(int64_t, outbox_retention_ms, fxmesh::limits::kOutboxRetentionMsDefault,
          "outbox rows are deleted this long after Kafka took them (never before); 0 keeps them "
          "forever");
ABSL_FLAG(int64_t, dead_letter_retention_ms, fxmesh::limits::kDeadLetterRetentionMsDefault,
          "dead letters are deleted this long after an operator replayed them (never before); 0 "
          "keeps them forever");
ABSL_FLAG(std::string, customer_token_key, "",
          "PEM file of the public key(s) customer tokens (JWT, RS256 or ES256, in metadata "
          "'authorization: Bearer <JWT>') are signed with; the customer is the token's sub. Empty: "
          "customers are claimed in requests, not authenticated (development only)");
ABSL_FLAG(std::string, customer_token_issuer, "", "when set, a customer token's iss must be this");
ABSL_FLAG(std::string, customer_token_audience, "",
          "when set, a customer token's aud must be or contain this");
ABSL_FLAG(int, customer_rate_per_second, fxmesh::limits::kCustomerRequestsPerSecondDefault,
          "GetQuote and Exchange calls each customer may make per second on this replica (0: no "
          "limit)");
ABSL_FLAG(int, customer_burst, fxmesh::limits::kCustomerBurstDefault,
          "how many calls beyond the rate a customer may make at once");
ABSL_FLAG(int, crash_after_saves, 0,
          "TESTING ONLY: SIGKILL this process right after its Nth durable saga write");

namespace fxmesh::coordinator {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the rates file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string DefaultReplicaId(absl::string_view listen) {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return absl::StrCat(host, ":", listen.substr(listen.rfind(':') + 1));
}

// A retention flag: 0 keeps the kind forever; otherwise at least `minimum_ms`.
absl::StatusOr<absl::Duration> RetentionFromFlag(absl::string_view name, int64_t value_ms,
                                                 int64_t minimum_ms) {
  if (value_ms == 0) return absl::InfiniteDuration();
  if (value_ms < minimum_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be 0 (keep forever) or at least ", minimum_ms, " ms"));
  }
  return absl::Milliseconds(value_ms);
}

absl::StatusOr<DatabaseOptions> DatabaseFromFlags() {
  DatabaseOptions database;
  database.url = absl::GetFlag(FLAGS_db);
  RETURN_IF_ERROR(ApplyDatabasePasswordFlag(database));
  absl::string_view sqlite_path = database.url;
  if (absl::ConsumePrefix(&sqlite_path, "sqlite:")) {
    std::error_code ignored;
    std::filesystem::create_directories(
        std::filesystem::path(std::string(sqlite_path)).parent_path(), ignored);
  }
  return database;
}

absl::StatusOr<CoordinatorServerOptions> OptionsFromFlags() {
  CoordinatorServerOptions options;
  options.listen_address = absl::GetFlag(FLAGS_listen);
  options.tls = TlsOptionsFromFlags();
  RETURN_IF_ERROR(CheckTlsOptions(options.tls));
  ASSIGN_OR_RETURN(options.database, DatabaseFromFlags());
  ASSIGN_OR_RETURN(options.migrate_mode, MigrateModeFromFlags());
  ASSIGN_OR_RETURN(options.rates_text, ReadFile(absl::GetFlag(FLAGS_rates)));
  options.spread_bps = absl::GetFlag(FLAGS_spread_bps);
  options.participant_addresses = {{std::string(kKrwParticipant), absl::GetFlag(FLAGS_krw_ledger)},
                                   {std::string(kFxParticipant), absl::GetFlag(FLAGS_fx_ledger)}};
  options.engine.owner_id = absl::GetFlag(FLAGS_replica_id).empty()
                                ? DefaultReplicaId(options.listen_address)
                                : absl::GetFlag(FLAGS_replica_id);
  options.engine.daily_limit_krw_minor = absl::GetFlag(FLAGS_daily_limit_krw);
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_limit_time_zone), &options.engine.limit_time_zone)) {
    return absl::InvalidArgumentError(absl::StrCat("--limit_time_zone: unknown time zone '",
                                                   absl::GetFlag(FLAGS_limit_time_zone), "'"));
  }
  options.engine.quote_ttl = absl::Milliseconds(absl::GetFlag(FLAGS_quote_ttl_ms));
  options.engine.stuck_after = absl::Milliseconds(absl::GetFlag(FLAGS_stuck_after_ms));
  options.recovery_interval = absl::Milliseconds(absl::GetFlag(FLAGS_recovery_interval_ms));
  if (const int saves = absl::GetFlag(FLAGS_crash_after_saves); saves > 0) {
    LogWarning("crash failpoint armed: this process kills itself after a number of saga writes")
        .With("saves", saves);
    options.decorate_store = [saves](SagaStore& store) -> std::unique_ptr<SagaStore> {
      return std::make_unique<CrashAfterSavesStore>(store, saves);
    };
  }
  options.customers.token = {.public_key_file = absl::GetFlag(FLAGS_customer_token_key),
                             .issuer = absl::GetFlag(FLAGS_customer_token_issuer),
                             .audience = absl::GetFlag(FLAGS_customer_token_audience)};
  options.customers.requests_per_second = absl::GetFlag(FLAGS_customer_rate_per_second);
  options.customers.burst = absl::GetFlag(FLAGS_customer_burst);
  options.kafka_brokers = absl::GetFlag(FLAGS_kafka_brokers);
  ASSIGN_OR_RETURN(options.kafka_properties,
                   kafka::KafkaPropertiesFromFlags(options.kafka_brokers));
  options.relay_group = absl::GetFlag(FLAGS_relay_group);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.otlp_endpoint = absl::GetFlag(FLAGS_otlp_endpoint);
  options.engine.redispatch_after = absl::Milliseconds(absl::GetFlag(FLAGS_redispatch_after_ms));
  if (options.engine.daily_limit_krw_minor <= 0 || absl::GetFlag(FLAGS_quote_ttl_ms) <= 0 ||
      absl::GetFlag(FLAGS_recovery_interval_ms) <= 0 || absl::GetFlag(FLAGS_stuck_after_ms) <= 0 ||
      absl::GetFlag(FLAGS_redispatch_after_ms) <= 0) {
    return absl::InvalidArgumentError(
        "--daily_limit_krw, --quote_ttl_ms, --stuck_after_ms, --recovery_interval_ms and "
        "--redispatch_after_ms must be positive");
  }
  // A saga's idempotency key is pruned with it; by then its quote must long have expired, so that
  // a retry with the key is refused rather than starting a second exchange.
  ASSIGN_OR_RETURN(
      options.retention.terminal_sagas,
      RetentionFromFlag("saga_retention_ms", absl::GetFlag(FLAGS_saga_retention_ms),
                        std::max(limits::kSagaRetentionMsMin, absl::GetFlag(FLAGS_quote_ttl_ms))));
  ASSIGN_OR_RETURN(
      options.retention.quotes,
      RetentionFromFlag("quote_retention_ms", absl::GetFlag(FLAGS_quote_retention_ms), 1));
  ASSIGN_OR_RETURN(
      options.retention.sent_outbox,
      RetentionFromFlag("outbox_retention_ms", absl::GetFlag(FLAGS_outbox_retention_ms), 1));
  ASSIGN_OR_RETURN(options.retention.replayed_dead_letters,
                   RetentionFromFlag("dead_letter_retention_ms",
                                     absl::GetFlag(FLAGS_dead_letter_retention_ms), 1));
  LogLevel level;
  RETURN_IF_ERROR(ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level));
  SetLogLevel(level);
  return options;
}

int RunCoordinatorMain(int argc, char** argv) {
  BlockTerminationSignals();
  SetLogService("coordinator");
  absl::SetProgramUsageMessage(
      "fxmesh coordinator: quotes and exchanges as TCC sagas over the KRW and FX ledgers.\n"
      "  Every flag can also be set as FXMESH_<FLAG> in the environment.");
  absl::Status status = ApplyEnvironmentToFlags(
      {"listen", "db", "rates", "spread_bps", "krw_ledger", "fx_ledger", "replica_id",
       "daily_limit_krw", "limit_time_zone", "quote_ttl_ms", "stuck_after_ms",
       "recovery_interval_ms", "log_level", "kafka_brokers", "redispatch_after_ms",
       "metrics_listen", "otlp_endpoint"});
  if (status.ok()) {
    status = ApplyEnvironmentToFlags(
        {"saga_retention_ms", "quote_retention_ms", "outbox_retention_ms",
         "dead_letter_retention_ms", "relay_group", "customer_token_key", "customer_token_issuer",
         "customer_token_audience", "customer_rate_per_second", "customer_burst"});
  }
  if (status.ok()) status = ApplyEnvironmentToFlags(kTlsFlagNames);
  if (status.ok()) status = ApplyEnvironmentToFlags(kDatabaseFlagNames);
  if (status.ok()) status = ApplyEnvironmentToFlags(kafka::kKafkaFlagNames);
  if (!status.ok()) {
    LogError("bad environment").With("error", status);
    return 2;
  }
  AcceptDashedFlagNames(argc, argv);
  if (absl::Status arguments = RefuseDatabasePasswordInArguments(argc, argv); !arguments.ok()) {
    LogError("bad configuration").With("error", arguments);
    return 2;
  }
  absl::ParseCommandLine(argc, argv);
  if (MigrateOnlyRequested()) {
    // Only the database flags matter here: the Job that runs this has no rates, ledgers or Kafka.
    absl::StatusOr<DatabaseOptions> database = DatabaseFromFlags();
    if (!database.ok()) {
      LogError("bad configuration").With("error", database.status());
      return 2;
    }
    return RunMigrateOnly(*database, CoordinatorSchema());
  }
  absl::StatusOr<CoordinatorServerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    LogError("bad configuration").With("error", options.status());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
      CoordinatorServer::Start(*options, SystemClock::Get());
  if (!server.ok()) {
    LogError("cannot start").With("error", server.status());
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  LogInfo("serving")
      .With("address", options->listen_address)
      .With("port", (*server)->port())
      .With("database", RedactDatabaseUrl(options->database.url))
      .With("replica_id", options->engine.owner_id)
      .With("krw_ledger", options->participant_addresses[std::string(kKrwParticipant)])
      .With("fx_ledger", options->participant_addresses[std::string(kFxParticipant)])
      .With("metrics_port", (*server)->metrics_port());
  absl::string_view signal = WaitForTerminationSignal();
  LogInfo("shutting down").With("signal", signal);
  (*server)->Shutdown(absl::Milliseconds(limits::kShutdownGraceMs));
  LogInfo("stopped");
  return 0;
}

}  // namespace
}  // namespace fxmesh::coordinator

int main(int argc, char** argv) { return fxmesh::coordinator::RunCoordinatorMain(argc, argv); }
