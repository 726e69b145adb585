// fxmesh-chaos: the bank test. Runs the whole mesh under a seeded fault plan, then checks that no
// money was lost or created and that every client was told the truth.
//
//   fxmesh-chaos --seed=7 --duration=120     one run (replays seed 7 exactly)
//   fxmesh-chaos --seed=1 --seeds=30         seeds 1..30, one after the other, and a summary
//   fxmesh-chaos --backend=postgres          the production shape: PostgreSQL and replicas
//   fxmesh-chaos --tls                       every gRPC call over mutual TLS
#include <iostream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "tests/chaos/chaos_run.h"

ABSL_FLAG(uint64_t, seed, 1, "the (first) seed of the fault plan and the workload");
ABSL_FLAG(int, seeds, 1, "how many seeds to run, from --seed on");
ABSL_FLAG(int, duration, 60, "seconds of workload under faults, per seed");
ABSL_FLAG(int, relays, 2, "relay processes");
ABSL_FLAG(int, clients, 16, "client threads");
ABSL_FLAG(std::string, backend, "sqlite",
          "sqlite (one coordinator, one process per ledger) or postgres (the harness's own "
          "PostgreSQL server, two replicas of the coordinator and of each ledger)");
ABSL_FLAG(std::string, bin, FXMESH_BIN_DIR, "folder of the fxmesh-* service binaries");
ABSL_FLAG(std::string, rates, FXMESH_SOURCE_DIR "/config/rates.txt",
          "the coordinator's rates file");
ABSL_FLAG(std::string, work_dir, "", "where run folders go (default: $TMPDIR or /tmp)");
ABSL_FLAG(bool, tls, false,
          "mutual TLS between every caller and every service: a CA and a certificate per "
          "identity are made in the run's folder");
ABSL_FLAG(bool, keep, false, "keep the run folder (logs, databases) even when the run passes");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("the fxmesh bank test: seeded faults against the whole mesh");
  absl::ParseCommandLine(argc, argv);
  const int seeds = absl::GetFlag(FLAGS_seeds);
  const int duration = absl::GetFlag(FLAGS_duration);
  if (seeds < 1 || duration < 5 || absl::GetFlag(FLAGS_relays) < 1 ||
      absl::GetFlag(FLAGS_clients) < 1) {
    std::cerr << "fxmesh-chaos: --seeds, --relays and --clients must be at least 1 and "
                 "--duration at least 5 seconds\n";
    return 2;
  }
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend != "sqlite" && backend != "postgres") {
    std::cerr << "fxmesh-chaos: --backend must be sqlite or postgres\n";
    return 2;
  }

  fxmesh::chaos::RunOptions options;
  options.duration = absl::Seconds(duration);
  options.relays = absl::GetFlag(FLAGS_relays);
  options.clients = absl::GetFlag(FLAGS_clients);
  options.backend =
      backend == "postgres" ? fxmesh::chaos::Backend::kPostgres : fxmesh::chaos::Backend::kSqlite;
  options.postgres_script = FXMESH_SOURCE_DIR "/scripts/test-postgres.sh";
  options.bin_dir = absl::GetFlag(FLAGS_bin);
  options.rates_path = absl::GetFlag(FLAGS_rates);
  options.work_dir = absl::GetFlag(FLAGS_work_dir);
  options.keep = absl::GetFlag(FLAGS_keep);
  options.tls = absl::GetFlag(FLAGS_tls);
  options.replay_prefix = absl::StrCat(argv[0], " --relays=", options.relays);
  options.progress = &std::cout;

  std::vector<std::string> summaries;
  int failed = 0;
  for (int i = 0; i < seeds; ++i) {
    options.seed = absl::GetFlag(FLAGS_seed) + static_cast<uint64_t>(i);
    absl::StatusOr<fxmesh::chaos::RunReport> report = fxmesh::chaos::RunChaos(options);
    if (!report.ok()) {
      std::cout << "seed " << options.seed
                << ": the run could not be carried out: " << report.status() << "\n";
      summaries.push_back(
          absl::StrCat("seed ", options.seed, ": ERROR ", report.status().message()));
      ++failed;
      continue;
    }
    std::cout << report->Format() << std::flush;
    summaries.push_back(report->Summary());
    if (!report->passed()) ++failed;
  }
  if (seeds > 1) {
    std::cout << "\nsummary of " << seeds << " runs of " << duration << " s:\n";
    for (const std::string& line : summaries) std::cout << "  " << line << "\n";
  }
  std::cout << (failed == 0 ? "all runs passed\n" : absl::StrCat(failed, " runs FAILED\n"));
  return failed == 0 ? 0 : 1;
}
