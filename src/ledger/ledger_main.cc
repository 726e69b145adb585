#include "ledger/ledger_main.h"

#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/db_flags.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/service_main.h"
#include "common/status_macros.h"
#include "common/tls_flags.h"
#include "ledger/dev/dev_faults.h"
#include "ledger/ledger_server.h"

ABSL_FLAG(std::string, listen, "", "host:port to serve gRPC on (default: the binary's own port)");
ABSL_FLAG(std::string, db, "",
          "database: sqlite:PATH or postgresql://user@host:port/dbname (the password: "
          "--db_password_file)");
ABSL_FLAG(std::string, currencies, "",
          "comma-separated ISO 4217 codes this ledger serves; XXX:N declares a new one with N "
          "decimals");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int, workers, 0, "threads running ledger calls (0: limits::kLedgerWorkerThreads, 32)");
ABSL_FLAG(std::string, otlp_endpoint, "",
          "OpenTelemetry collector to export spans to, http://host:port (OTLP/HTTP JSON)");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port for Prometheus metrics over HTTP (GET /metrics); empty: no endpoint");
// Deliberately absent from the FXMESH_* environment variables read below: a stray variable in a
// deployment must never be able to turn it on.
ABSL_FLAG(bool, dev_faults, false,
          "development only, never in production: serve fxmesh.v1.LedgerFaultService, which makes "
          "Try, Confirm or Cancel calls answer UNAVAILABLE on request (fxmesh demo uses it)");

namespace fxmesh::ledger {

namespace {

// SQLite files live under a data folder that may not exist yet on a fresh checkout.
absl::Status PrepareSqliteFolder(absl::string_view url) {
  if (!absl::ConsumePrefix(&url, "sqlite:")) return absl::OkStatus();
  std::filesystem::path parent = std::filesystem::path(std::string(url)).parent_path();
  if (parent.empty()) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot create ", parent.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

std::string FlagOrDefault(std::string value, const char* fallback) {
  return value.empty() ? std::string(fallback) : value;
}

absl::StatusOr<DatabaseOptions> DatabaseFromFlags(const LedgerBinary& binary) {
  DatabaseOptions database;
  database.url = FlagOrDefault(absl::GetFlag(FLAGS_db), binary.database_default);
  RETURN_IF_ERROR(ApplyDatabasePasswordFlag(database));
  RETURN_IF_ERROR(PrepareSqliteFolder(database.url));
  return database;
}

absl::StatusOr<LedgerServerOptions> OptionsFromFlags(const LedgerBinary& binary) {
  LedgerServerOptions options;
  auto or_default = FlagOrDefault;
  options.listen_address = or_default(absl::GetFlag(FLAGS_listen), binary.listen_default);
  ASSIGN_OR_RETURN(options.database, DatabaseFromFlags(binary));
  ASSIGN_OR_RETURN(options.migrate_mode, MigrateModeFromFlags());
  ASSIGN_OR_RETURN(options.currencies, ParseCurrencyList(or_default(absl::GetFlag(FLAGS_currencies),
                                                                    binary.currencies_default)));
  if (absl::GetFlag(FLAGS_workers) < 0) return absl::InvalidArgumentError("--workers must be >= 0");
  options.worker_threads = absl::GetFlag(FLAGS_workers);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.service_name = std::string(binary.service_name);
  options.otlp_endpoint = absl::GetFlag(FLAGS_otlp_endpoint);
  options.tls = TlsOptionsFromFlags();
  RETURN_IF_ERROR(CheckTlsOptions(options.tls));
  LogLevel level;
  RETURN_IF_ERROR(ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level));
  SetLogLevel(level);
  return options;
}

}  // namespace

int RunLedgerMain(int argc, char** argv, const LedgerBinary& binary) {
  BlockTerminationSignals();
  SetLogService(binary.service_name);
  absl::SetProgramUsageMessage(
      absl::StrCat("fxmesh ", binary.service_name,
                   ": a TCC ledger service.\n  Defaults: --listen=", binary.listen_default,
                   " --db=", binary.database_default, " --currencies=", binary.currencies_default,
                   "\n  Every flag can also be set as FXMESH_<FLAG> in the environment."));
  absl::Status status = ApplyEnvironmentToFlags(
      {"listen", "db", "currencies", "log_level", "workers", "metrics_listen", "otlp_endpoint"});
  if (status.ok()) status = ApplyEnvironmentToFlags(kTlsFlagNames);
  if (status.ok()) status = ApplyEnvironmentToFlags(kDatabaseFlagNames);
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
    absl::StatusOr<DatabaseOptions> database = DatabaseFromFlags(binary);
    if (!database.ok()) {
      LogError("bad configuration").With("error", database.status());
      return 2;
    }
    return RunMigrateOnly(*database, LedgerSchema());
  }
  absl::StatusOr<LedgerServerOptions> options = OptionsFromFlags(binary);
  if (!options.ok()) {
    LogError("bad configuration").With("error", options.status());
    return 2;
  }
  // Development only: the fault switch in front of the engine, and its service. Declared before
  // the server, so they outlive it.
  const bool dev_faults = absl::GetFlag(FLAGS_dev_faults);
  DevFaultSwitch fault_switch(SystemClock::Get());
  if (dev_faults) {
    fault_switch.ApplyTo(*options);
    // Loud on purpose: anyone who can reach the port can make this ledger look down.
    LogWarning(
        "dev faults are ON: fxmesh.v1.LedgerFaultService can make this ledger's Try, Confirm and "
        "Cancel calls fail on purpose; never use --dev_faults in production");
  }
  absl::StatusOr<std::unique_ptr<LedgerServer>> server =
      LedgerServer::Start(*options, SystemClock::Get());
  if (!server.ok()) {
    LogError("cannot start").With("error", server.status());
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  std::vector<std::string> codes;
  for (const Currency& currency : options->currencies) codes.push_back(currency.code);
  LogInfo("serving")
      .With("address", options->listen_address)
      .With("port", (*server)->port())
      .With("metrics_port", (*server)->metrics_port())
      .With("database", RedactDatabaseUrl(options->database.url))
      .With("currencies", absl::StrJoin(codes, ","))
      .With("dev_faults", dev_faults ? "on" : "off");
  absl::string_view signal = WaitForTerminationSignal();
  LogInfo("shutting down").With("signal", signal).With("grace_ms", limits::kShutdownGraceMs);
  (*server)->Shutdown(absl::Milliseconds(limits::kShutdownGraceMs));
  LogInfo("stopped");
  return 0;
}

}  // namespace fxmesh::ledger
