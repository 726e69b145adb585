// The commands about the mesh as a whole: `dev` runs it, `demo` tours it, `trace` draws one
// exchange's spans from every service, `health` asks every service whether it is ready.
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/demo.h"
#include "cli/dev.h"
#include "cli/internal/command_support.h"
#include "cli/output.h"
#include "cli/session.h"
#include "cli/waterfall.h"
#include "common/grpc_channel.h"
#include "common/grpc_server.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "fxmesh/v1/trace.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace fxmesh::cli::internal {
namespace {

// The service binaries sit next to this one (a build's src/ folder, or /usr/local/bin).
std::string OwnDirectory() {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "." : self.parent_path().string();
}

absl::StatusOr<ExitCode> Dev(const CommandLine& line, Session&) {
  DevOptions options;
  options.bin_dir = line.Get("bin", OwnDirectory());
  options.data_dir = line.Get("data", options.data_dir);
  options.rates = line.Get("rates", options.rates);
  options.tier_delays_ms = line.Get("tier-delays-ms");
  options.tls = line.Has("tls");
  options.tls_dir = line.Get("tls-certs");
  // The highest well-known port (50092) moved by the offset must still be a port.
  constexpr int64_t kPortOffsetMax = 65'535 - kDevKafkaPort;
  if (line.Has("port-offset")) {
    absl::StatusOr<int64_t> offset =
        ParseCount(line.Get("port-offset"), "--port-offset", /*positive=*/false);
    if (!offset.ok()) return offset.status();
    if (*offset > kPortOffsetMax)
      return UsageError(absl::StrCat("--port-offset is at most ", kPortOffsetMax));
    options.port_offset = static_cast<int>(*offset);
  }
  if (line.Has("kafka-port")) {
    absl::StatusOr<int64_t> kafka_port =
        ParseCount(line.Get("kafka-port"), "--kafka-port", /*positive=*/true);
    if (!kafka_port.ok()) return kafka_port.status();
    if (*kafka_port > 65'535) return UsageError("--kafka-port is at most 65535");
    options.kafka_port = static_cast<int>(*kafka_port);
  }
  return static_cast<ExitCode>(RunDev(options));
}

absl::StatusOr<ExitCode> Demo(const CommandLine&, Session& session) { return RunDemo(session); }

// Every service of the mesh by name and address, in the order `trace` and `health` ask them. The
// relay is not one of the session's services: it serves no API of its own, only traces and health.
std::vector<std::pair<std::string, std::string>> MeshServices(const CommandLine& line) {
  return {
      {"coordinator", line.options.coordinator},
      {"krw-ledger", line.options.krw_ledger},
      {"fx-ledger", line.options.fx_ledger},
      {"relay", line.Get("relay", "127.0.0.1:50081")},
  };
}

// A stub over a new channel to `address`, for one call, as an operator.
template <typename Service>
auto StubFor(const std::string& address, const Session& session) {
  return Service::NewStub(NewChannel(address, CredentialsFor(session.options(), Role::kOperator)));
}

// Gives a call the deadline Session::Call would give it: --timeout, or the tool's default.
void SetCallDeadline(grpc::ClientContext& context, const Session& session) {
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(session.TimeoutMs(limits::kCliTimeoutMsDefault)));
}

absl::StatusOr<ExitCode> Health(const CommandLine& line, Session& session) {
  std::vector<std::pair<std::string, std::string>> services = MeshServices(line);
  if (!line.arguments.empty()) {
    const std::string& wanted = line.arguments[0];
    std::erase_if(services, [&](const auto& service) { return service.first != wanted; });
    if (services.empty()) {
      return UsageError(absl::StrCat(
          "SERVICE is coordinator, krw-ledger, fx-ledger or relay; got '", wanted, "'"));
    }
  }
  const bool liveness = line.Has("liveness");
  grpc::health::v1::HealthCheckRequest request;
  if (liveness) request.set_service(kLivenessService);
  Printer& printer = session.printer();
  Table table({"SERVICE", "ADDRESS", liveness ? "LIVE" : "READY"});
  std::vector<std::string> not_serving;
  absl::Status unanswered;
  for (const auto& [name, address] : services) {
    grpc::ClientContext context;
    SetCallDeadline(context, session);
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status =
        StubFor<grpc::health::v1::Health>(address, session)->Check(&context, request, &response);
    if (!status.ok()) {
      const absl::Status error = FromGrpcStatus(status);
      table.AddRow(
          {name, address,
           Cell(absl::StrCat("no answer: ", absl::StatusCodeToString(error.code())), Style::kBad)});
      // The other services' answers are still worth showing; the error is reported at the end.
      if (unanswered.ok()) {
        unanswered =
            absl::Status(error.code(), absl::StrCat("no answer from ", name, " at ", address, ": ",
                                                    absl::StatusCodeToString(error.code()), ": ",
                                                    error.message()));
      }
      continue;
    }
    printer.Json(response);
    const bool serving = response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    table.AddRow({name, address,
                  Cell(grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()),
                       serving ? Style::kGood : Style::kBad)});
    if (!serving) not_serving.push_back(name);
  }
  printer.Print(table);
  // As with reconcile: not knowing whether a service is ready is worse than knowing it is not.
  if (!unanswered.ok()) return unanswered;
  if (not_serving.empty()) return ExitCode::kOk;
  printer.Error(absl::StrCat("not serving: ", absl::StrJoin(not_serving, ", ")));
  return ExitCode::kFailed;
}

absl::StatusOr<ExitCode> Trace(const CommandLine& line, Session& session) {
  const std::string& saga_id = line.arguments[0];
  if (absl::Status valid = ValidateSagaId(saga_id); !valid.ok()) return UsageError(valid.message());
  std::vector<v1::Span> spans;
  for (const auto& [name, address] : MeshServices(line)) {
    auto traces = StubFor<v1::TraceService>(address, session);
    grpc::ClientContext context;
    SetCallDeadline(context, session);
    v1::ListSpansRequest request;
    request.set_trace_id(saga_id);
    v1::ListSpansResponse response;
    grpc::Status status = traces->ListSpans(&context, request, &response);
    if (!status.ok()) {
      // One service away still leaves a useful picture; say whose spans are missing.
      session.printer().Note(
          absl::StrCat("no spans from ", name, " at ", address, ": ", status.error_message()));
      continue;
    }
    spans.insert(spans.end(), response.spans().begin(), response.spans().end());
  }
  if (spans.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no service keeps spans of ", saga_id,
                     " (spans live in memory: a restarted service forgets its own)"));
  }
  if (session.printer().json()) {
    for (const v1::Span& span : spans) session.printer().Json(span);
  } else {
    session.printer().Text(RenderWaterfall(
        spans,
        WaterfallOptions{.bar_width = 40, .color = session.printer().options().stdout_colors}));
  }
  return ExitCode::kOk;
}

}  // namespace

std::vector<CommandSpec> MeshCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back({
      .name = "dev",
      .options = {{"data", "DIR", "where the SQLite files go (default .fxmesh/data)"},
                  {"bin", "DIR", "where the service binaries are (default: next to fxmesh)"},
                  {"rates", "FILE", "the coordinator's rates file (default config/rates.txt)"},
                  {"tier-delays-ms", "LIST", "the relay's retry tiers, e.g. 2000,2000"},
                  {"kafka-port", "PORT", "the embedded Kafka's bootstrap port (default 50092)"},
                  {"port-offset", "N", "add N to every port, to run beside another mesh"},
                  {"tls", "", "every service over mutual TLS, with a local CA's certificates"},
                  {"tls-certs", "DIR", "where --tls keeps them (default .fxmesh/tls)"}},
      .summary = "run the whole mesh here: Kafka, both ledgers, the coordinator and the relay",
      .details = "Starts every service on its usual loopback port with SQLite files under one\n"
                 "data folder, prefixes their log lines with their names, waits until each is\n"
                 "healthy and prints the endpoints. A service that dies is started again after\n"
                 "a backoff, and the log says so. Kafka's bootstrap address (127.0.0.1:50092)\n"
                 "is the same every run; its topics live in memory and start empty each time\n"
                 "Kafka starts. Ctrl-C stops them all gracefully; the data is kept for the next\n"
                 "run. Exits 1 if a service fails to start or keeps crashing.",
      .example = "fxmesh dev",
      .run = Dev,
  });
  commands.push_back({
      .name = "demo",
      .summary = "a scripted tour against a running mesh: exchanges, a compensation, operators",
      .details = "Creates a fresh customer each run: accounts and deposits, a quote, an exchange\n"
                 "each way, a failing exchange and its compensation through the relay, an\n"
                 "operator pausing a ledger, and a stuck exchange that two operators resolve.\n"
                 "The stuck exchange needs ledgers started with --dev_faults (fxmesh dev does):\n"
                 "the demo makes the FX ledger answer Trys with UNAVAILABLE, then clears that.\n"
                 "Exits 1 if the story goes wrong.",
      .example = "fxmesh demo",
      .run = Demo,
  });
  commands.push_back({
      .name = "health",
      .arguments = {"[SERVICE]"},
      .options = {{"liveness", "", "ask whether it serves at all, not whether it is ready"},
                  {"relay", "HOST:PORT", "the relay's gRPC address (default 127.0.0.1:50081)"}},
      .summary = "whether each service is ready (its gRPC health check), or one service",
      .details = "Asks the standard grpc.health.v1.Health service of the coordinator, both\n"
                 "ledgers and the relay, or only SERVICE (coordinator, krw-ledger, fx-ledger or\n"
                 "relay). Ready (SERVING): its database is reachable (the relay has none);\n"
                 "--liveness asks fxmesh.liveness instead, which stays SERVING while the\n"
                 "process serves at all. Exits 1 if one is NOT_SERVING, 4 if one does not answer.",
      .example = "fxmesh health krw-ledger",
      .operator_command = true,
      .run = Health,
  });
  commands.push_back({
      .name = "trace",
      .arguments = {"SAGA_ID"},
      .options = {{"relay", "HOST:PORT", "the relay's gRPC address (default 127.0.0.1:50081)"}},
      .summary = "one exchange's spans from every service, as a waterfall",
      .details = "Asks the coordinator, both ledgers and the relay for the spans of the saga\n"
                 "(its id is the trace id) and draws them nested under their parents, retries\n"
                 "and compensations included. --json prints the spans instead.",
      .example = "fxmesh trace 0123456789abcdef0123456789abcdef",
      .operator_command = true,
      .run = Trace,
  });
  return commands;
}

}  // namespace fxmesh::cli::internal
