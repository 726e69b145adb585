// fxmesh-simulate: runs the deterministic simulation of the saga over many seeds (make simulate).
// Prints every failure with its seed (replay one with --seed=N --seeds=1) and a summary.
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "tests/simulation/saga_simulation.h"

ABSL_FLAG(uint64_t, seed, 1, "the first seed");
ABSL_FLAG(uint64_t, seeds, 10'000, "how many seeds to run, from --seed on");
ABSL_FLAG(bool, plant_ledger_bug, false,
          "run with ledgers that forget the barrier a Cancel leaves, to see a failure reported");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const uint64_t first = absl::GetFlag(FLAGS_seed);
  const uint64_t count = absl::GetFlag(FLAGS_seeds);
  const absl::Time started = absl::Now();
  fxmesh::simulation::SimulationOptions options;
  options.ledger_forgets_barrier = absl::GetFlag(FLAGS_plant_ledger_bug);
  uint64_t failed = 0, crashes = 0, completed = 0, cancelled = 0;
  uint64_t late_trys = 0, fenced = 0, resent = 0;
  int64_t events = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const fxmesh::simulation::SimulationResult result = fxmesh::simulation::Simulate(seed, options);
    if (!result.failure.empty()) {
      ++failed;
      std::printf("FAILED %s\n", result.failure.c_str());
    }
    crashes += result.crashes;
    completed += result.completed;
    cancelled += result.cancelled;
    events += result.events;
    late_trys += result.late_trys_refused;
    fenced += result.writes_fenced;
    resent += result.commands_resent;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - started);
  std::printf(
      "%llu seeds from %llu: %llu failed; %llu replica crashes; "
      "%llu sagas completed, %llu cancelled; %llu late Trys refused by the barrier, %llu writes "
      "fenced, %llu relay commands sent again after a silence; %lld events in %.1f s\n",
      static_cast<unsigned long long>(count), static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(failed), static_cast<unsigned long long>(crashes),
      static_cast<unsigned long long>(completed), static_cast<unsigned long long>(cancelled),
      static_cast<unsigned long long>(late_trys), static_cast<unsigned long long>(fenced),
      static_cast<unsigned long long>(resent), static_cast<long long>(events), seconds);
  return failed == 0 ? 0 : 1;
}
