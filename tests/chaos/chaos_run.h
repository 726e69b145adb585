// One whole chaos run: start the mesh, fund the customers, run the workload under the seed's
// fault plan, heal, wait for quiet, check every invariant and report. Used by the fxmesh-chaos
// binary (make chaos) and by the short runs in make test.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chaos/chaos_mesh.h"
#include "tests/chaos/report.h"

namespace fxmesh::chaos {

// The relays' retry tiers in chaos runs: short, so a run quiesces in seconds, yet long enough
// that a command waits out most faults in a tier rather than dead-lettering at once.
inline constexpr char kChaosTierDelaysMs[] = "1000,2000,4000,8000";
inline constexpr absl::Duration kChaosLongestTier = absl::Seconds(8);
// ARCHITECTURE.md §8's bound for a chaos run: every saga terminal, no hold HELD and no consumer
// lag within this long after healing (plus the longest retry tier).
inline constexpr absl::Duration kQuiescenceBound = absl::Seconds(60);

struct RunOptions {
  uint64_t seed = 1;
  absl::Duration duration = absl::Seconds(60);
  int relays = 2;
  int clients = 16;
  Backend backend = Backend::kSqlite;
  std::string bin_dir;
  // scripts/test-postgres.sh (PostgreSQL backend only).
  std::string postgres_script;
  std::string rates_path;
  // Mutual TLS between every caller and every service, the harness included (chaos_tls.h).
  bool tls = false;
  // The run's folder is made under this one (empty: $TMPDIR, or /tmp). It is removed after a run
  // that passed unless `keep` is set; a failed run's folder always stays, for its logs.
  std::string work_dir;
  bool keep = false;
  // How to run this again, for the report (the seed and duration are appended).
  std::string replay_prefix;
  // Progress lines (plan, phases) go here as they happen; null for none.
  std::ostream* progress = nullptr;
  // Called after quiescence and before the checker, to prove in tests that the checker notices
  // what it must: money moved behind its back, a client told something untrue.
  std::function<void(ChaosMesh&, History&)> before_check;
};

// Runs one seed. An error means the run could not be carried out (the mesh would not start);
// a run that found violations returns a report that did not pass.
absl::StatusOr<RunReport> RunChaos(const RunOptions& options);

}  // namespace fxmesh::chaos
