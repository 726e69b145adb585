// The commands about the mesh as a whole: `dev` runs it, `demo` tours it, `trace` draws one
// exchange's spans from every service.
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cli/demo.h"
#include "cli/dev.h"
#include "cli/internal/command_support.h"
#include "cli/output.h"
#include "cli/session.h"
#include "cli/waterfall.h"
#include "common/ids.h"
#include "fxmesh/v1/trace.grpc.pb.h"

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
  return static_cast<ExitCode>(RunDev(options));
}

absl::StatusOr<ExitCode> Demo(const CommandLine&, Session& session) { return RunDemo(session); }

absl::StatusOr<ExitCode> Trace(const CommandLine& line, Session& session) {
  const std::string& saga_id = line.arguments[0];
  if (absl::Status valid = ValidateSagaId(saga_id); !valid.ok()) return UsageError(valid.message());
  const std::vector<std::pair<std::string, std::string>> services = {
      {"coordinator", line.options.coordinator},
      {"krw-ledger", line.options.krw_ledger},
      {"fx-ledger", line.options.fx_ledger},
      {"relay", line.Get("relay", "127.0.0.1:50081")},
  };
  std::vector<v1::Span> spans;
  for (const auto& [name, address] : services) {
    auto traces =
        v1::TraceService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(session.TimeoutMs(limits::kCliTimeoutMsDefault)));
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
                  {"tier-delays-ms", "LIST", "the relay's retry tiers, e.g. 2000,2000"}},
      .summary = "run the whole mesh here: Kafka, both ledgers, the coordinator and the relay",
      .details = "Starts every service on its usual loopback port with SQLite files under one\n"
                 "data folder, prefixes their log lines with their names, waits until each is\n"
                 "healthy and prints the endpoints. Ctrl-C stops them all gracefully; the data\n"
                 "is kept for the next run. Exits 1 if a service fails to start or dies.",
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
