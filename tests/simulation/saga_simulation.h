// A deterministic simulation of the saga (in the spirit of TigerBeetle's VOPR): the coordinator's
// pure rules (saga_rules.h) run by two simulated replicas over a simulated saga store, against two
// simulated ledgers that keep the TCC barrier of ARCHITECTURE.md §3, through a network that
// delays, drops, duplicates and reorders calls and answers, with replicas that crash, restart and
// stall past their leases, an operator who pauses a participant, and a relay that settles every
// Confirm and Cancel through the outbox and loses commands. Time is simulated; one seed is one run,
// the same bit for bit every time (its digest says so).
//
// After every step that changes state the invariants of ARCHITECTURE.md §8 are checked: money is
// conserved on each ledger and never negative (1, 2), a hold moves once (3), a COMPLETED saga has
// every hold confirmed and a CANCELLED one none, never one of each (4), stored states only move
// forward (5), and a customer's answer agrees with the end (7). Once the faults stop every saga
// must end with no hold HELD (8).
#pragma once

#include <cstdint>
#include <string>

namespace fxmesh::simulation {

struct SimulationOptions {
  // A bug to plant, to prove the simulator finds one: the ledgers forget the barrier a Cancel
  // leaves, so a Try that arrives after its Cancel holds money nobody releases.
  bool ledger_forgets_barrier = false;
};

struct SimulationResult {
  uint64_t seed = 0;
  // Empty when every invariant held; otherwise the first one broken, when, and on which saga.
  std::string failure;
  // FNV-1a over every event: two runs of one seed have the same digest.
  uint64_t digest = 0;
  int64_t events = 0;
  int sagas = 0;
  int completed = 0;
  int cancelled = 0;
  int crashes = 0;
  // How often the hard cases came up: a Try refused because its Cancel came first, a write refused
  // because another replica wrote or holds the lease, a relay command sent again after a silence.
  int late_trys_refused = 0;
  int writes_fenced = 0;
  int commands_resent = 0;
};

SimulationResult Simulate(uint64_t seed, const SimulationOptions& options = {});

}  // namespace fxmesh::simulation
