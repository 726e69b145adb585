#include "tests/chaos/chaos_run.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "chaos_commit.h"
#include "common/status_macros.h"
#include "tests/chaos/chaos_mesh.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/workload.h"

namespace fxmesh::chaos {
namespace {

constexpr int kBrokers = 3;

void Say(const RunOptions& options, absl::string_view line) {
  if (options.progress != nullptr) *options.progress << line << std::endl;
}

// Every exchange call, one per line, for whoever digs into a failed run.
void WriteHistory(const History& history, const std::string& path) {
  std::ofstream out(path);
  for (const ExchangeCall& call : history.exchanges) {
    out << absl::ToDoubleSeconds(call.sent) << " " << absl::ToDoubleSeconds(call.answered)
        << " client=" << call.client << " coordinator=" << call.coordinator
        << (call.resubmission ? " resubmit" : "") << (call.failover ? " failover" : "")
        << " key=" << call.request.idempotency_key() << " code=" << call.code;
    if (call.code == grpc::StatusCode::OK) {
      out << " saga=" << call.answer.saga_id()
          << " status=" << v1::ExchangeStatus_Name(call.answer.status());
    } else {
      out << " error=\"" << call.error << "\"";
    }
    out << "\n";
  }
}

}  // namespace

absl::StatusOr<RunReport> RunChaos(const RunOptions& options) {
  RunReport report;
  report.commit = FXMESH_CHAOS_COMMIT;
  report.plan =
      MakeFaultPlan(options.seed, options.duration, {options.relays, kBrokers, options.backend});
  report.quiescence_bound = kQuiescenceBound + kChaosLongestTier;
  report.tls = options.tls;
  report.replay_command =
      absl::StrCat(options.replay_prefix, " --backend=", BackendName(options.backend),
                   options.tls ? " --tls" : "", " --seed=", options.seed,
                   " --duration=", absl::ToInt64Seconds(options.duration));
  Say(options, report.plan.Describe());
  Say(options, absl::StrCat("plan digest ", report.plan.Digest(), ", ", report.Transport()));

  std::string work_dir = options.work_dir;
  if (work_dir.empty()) work_dir = getenv("TMPDIR") != nullptr ? getenv("TMPDIR") : "/tmp";
  std::string dir_template = absl::StrCat(work_dir, "/fxmesh-chaos-", options.seed, "-XXXXXX");
  if (mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot make a run folder under ", work_dir));
  }
  report.run_dir = dir_template;

  MeshOptions mesh_options;
  mesh_options.bin_dir = options.bin_dir;
  mesh_options.run_dir = report.run_dir;
  mesh_options.rates_path = options.rates_path;
  mesh_options.relays = options.relays;
  mesh_options.brokers = kBrokers;
  mesh_options.backend = options.backend;
  mesh_options.postgres_script = options.postgres_script;
  mesh_options.tls = options.tls;
  mesh_options.tier_delays_ms = kChaosTierDelaysMs;
  // The daily limit would refuse most of the workload's exchanges by the end of a long run; this
  // test is about money moving under faults, so it is lifted.
  mesh_options.coordinator_flags = {"--daily_limit_krw=1000000000000000"};
  Say(options, absl::StrCat("starting the mesh in ", report.run_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<ChaosMesh> mesh, ChaosMesh::Start(mesh_options));

  WorkloadOptions workload_options;
  workload_options.seed = options.seed;
  workload_options.clients = options.clients;
  workload_options.duration = options.duration;
  Workload workload(*mesh, workload_options);
  RETURN_IF_ERROR(workload.Setup());
  const auto accounts = workload.Accounts();
  ASSIGN_OR_RETURN(Balances initial, ReadBalances(*mesh, accounts));

  Say(options, absl::StrCat("running ", options.clients, " clients for ",
                            absl::FormatDuration(options.duration), " under the fault plan"));
  Nemesis nemesis(*mesh, report.plan);
  const absl::Time start = absl::Now();
  nemesis.Start();
  workload.Run(start);
  const absl::Status healed = nemesis.Heal();
  if (!healed.ok()) report.heal_error = std::string(healed.message());
  report.faults = nemesis.applied();
  report.history = workload.TakeHistory();
  WriteHistory(report.history, absl::StrCat(report.run_dir, "/history.txt"));

  Say(options, "healed; waiting for every saga to finish");
  report.quiescence = AwaitQuiescence(*mesh, report.quiescence_bound);
  if (options.before_check) options.before_check(*mesh, report.history);
  Say(options, "checking invariants");
  ASSIGN_OR_RETURN(report.findings, CheckInvariants(*mesh, report.history, initial, accounts));
  for (const std::string& name : mesh->service_names()) {
    const Service& service = mesh->service(name);
    if (service.failed_starts() > 0) {
      report.failed_starts.push_back(absl::StrCat(name, " ", service.failed_starts()));
    }
    if (service.crashes() > 0) {
      report.crashes.push_back(
          absl::StrCat(name, ": ", service.crashes(), " exits, last ", service.last_crash()));
    }
  }
  mesh->StopAll();
  std::ofstream(absl::StrCat(report.run_dir, "/report.txt")) << report.Format();
  if (report.passed() && !options.keep) std::filesystem::remove_all(report.run_dir);
  return report;
}

}  // namespace fxmesh::chaos
