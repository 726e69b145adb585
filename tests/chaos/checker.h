// After the nemesis has healed the mesh: waits for it to quiesce (acting as the operator who
// replays dead letters), then checks every invariant of ARCHITECTURE.md §8 and the bank test's
// own on everything the clients were told and everything the services store.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chaos/chaos_mesh.h"
#include "tests/chaos/workload.h"

namespace fxmesh::chaos {

struct Quiescence {
  bool reached = false;
  absl::Duration took;
  // Dead letters the operator replayed while waiting.
  int dead_letters_replayed = 0;
  // What was still unsettled when the wait ended (all zero when reached).
  int64_t active_sagas = 0, held_holds = 0, relay_lag = 0, coordinator_lag = 0;
};

// Polls until no saga is non-terminal, no hold is HELD and both consumer groups' lag is zero, or
// `bound` passes. Dead letters not replayed yet are replayed (each once) as an operator would.
Quiescence AwaitQuiescence(ChaosMesh& mesh, absl::Duration bound);

// Invariant 1 on one ledger's balance sheet: per currency, Σ(available + held) equals deposits −
// withdrawals and Σ incoming equals the open credit holds, and the ledger says it balances. One
// violation per currency that does not hold (the prefix names where the sheet was read).
std::vector<Violation> CheckBalanceSheet(const std::string& where, const v1::BalanceSheet& sheet);

// Balances of every account, by account id.
using Balances = std::map<std::string, v1::Account>;
absl::StatusOr<Balances> ReadBalances(
    ChaosMesh& mesh, const std::map<std::string, std::vector<std::string>>& accounts);

struct Findings {
  int64_t sagas = 0, completed = 0, cancelled = 0, non_terminal = 0;
  // Sagas that had a branch command dead-lettered (parked until an operator replayed it).
  int64_t parked = 0;
  int64_t dead_letters = 0;
  std::vector<Violation> violations;
};

// Checks everything stored and everything answered against each other. `initial` are the
// balances before the workload started.
absl::StatusOr<Findings> CheckInvariants(
    ChaosMesh& mesh, const History& history, const Balances& initial,
    const std::map<std::string, std::vector<std::string>>& accounts);

}  // namespace fxmesh::chaos
