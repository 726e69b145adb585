// Seeded random runs of the real engine (SagaEngine, its driver, writer, settlement and in-process
// relay over the in-memory store; in_process_mesh.h): many exchanges, some unaffordable, some asked
// twice, driven and settled in a random order while the ledgers lose calls and replies and time
// jumps. Then the faults stop and every saga must end, and end right: a COMPLETED saga has both
// holds confirmed, a CANCELLED one none, no hold is left held, and each ledger conserves money.
// Where tests/simulation runs the pure rules against a model of the store, this runs the code that
// ships. Each seed takes one path (the relay runs one saga at a time and every wait is for work
// the test started); a failure names its seed.
#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/saga_state_machine.h"
#include "tests/coordinator/in_process_mesh.h"

namespace fxmesh::coordinator {
namespace {

using simulation::HoldState;

constexpr int kSeeds = 20;
constexpr int kSteps = 400;

std::string RunSeed(uint64_t seed) {
  LocalRelayOptions relay;
  relay.in_flight_max = 1;
  // Enough tiers that a command outlasts any run of lost calls: nothing is dead-lettered.
  relay.tiers.clear();
  for (int tier = 0; tier < 12; ++tier) {
    relay.tiers.push_back({absl::StrCat("sim.retry.", tier), absl::Seconds(1 << (tier % 4))});
  }
  EngineOptions engine;
  engine.daily_limit_krw_minor = limits::kAmountMinorMax;
  InProcessMesh mesh(std::move(relay), engine);
  mesh.krw().Deposit("alice-krw", 50'000'000);
  mesh.krw().SetFaults(seed * 2 + 1, 15, 10);
  mesh.fx().SetFaults(seed * 2 + 2, 15, 10);

  std::mt19937_64 random(seed);
  auto percent = [&](int p) { return static_cast<int>(random() % 100) < p; };
  std::vector<std::string> sagas;
  std::vector<std::pair<std::string, v1::Quote>> asked;
  for (int step = 0; step < kSteps; ++step) {
    const int action = static_cast<int>(random() % 100);
    if (action < 25) {
      // A new exchange; one in five costs more than alice has.
      const int64_t cents =
          percent(20) ? 100'000'000 : 1'000 + static_cast<int64_t>(random() % 9'000);
      const v1::Quote quote = mesh.Quote(cents);
      const std::string key = absl::StrCat("ex-", step);
      sagas.push_back(mesh.Exchange(key, quote).saga_id());
      asked.emplace_back(key, quote);
    } else if (action < 30 && !asked.empty()) {
      // The customer asks again with the same key and quote: the same saga answers.
      const auto& [key, quote] = asked[random() % asked.size()];
      const std::string again = mesh.Exchange(key, quote).saga_id();
      if (std::find(sagas.begin(), sagas.end(), again) == sagas.end())
        return absl::StrCat("a repeated request made a new saga ", again);
    } else if (action < 60 && !sagas.empty()) {
      mesh.Drive(sagas[random() % sagas.size()]);
    } else if (action < 85) {
      mesh.Settle();
    } else {
      mesh.clock().Advance(absl::Milliseconds(static_cast<int64_t>(random() % 3'000)));
    }
    if (std::string broken = mesh.krw().CheckInvariants(); !broken.empty()) return broken;
    if (std::string broken = mesh.fx().CheckInvariants(); !broken.empty()) return broken;
  }

  // The faults stop; recovery and the relay finish everything.
  mesh.krw().SetFaults(0, 0, 0);
  mesh.fx().SetFaults(0, 0, 0);
  for (int round = 0; round < 200; ++round) {
    bool active = false;
    for (const std::string& saga_id : sagas) {
      if (IsTerminal(mesh.Saga(saga_id).state())) continue;
      active = true;
      mesh.Drive(saga_id);
    }
    while (mesh.Settle() > 0) {
    }
    if (!active) break;
    mesh.clock().Advance(absl::Seconds(5));
  }
  for (const std::string& saga_id : sagas) {
    const v1::Saga saga = mesh.Saga(saga_id);
    if (!IsTerminal(saga.state()))
      return absl::StrCat("saga ", saga_id, " never ended: ", v1::SagaState_Name(saga.state()));
    for (const auto& [ledger, branch] :
         {std::pair{&mesh.krw(), "krw"}, std::pair{&mesh.fx(), "fx"}}) {
      const std::optional<HoldState> hold = ledger->HoldOf(saga_id, branch);
      const bool completed = saga.state() == v1::SAGA_STATE_COMPLETED;
      if (completed && hold != HoldState::kConfirmed)
        return absl::StrCat("COMPLETED saga ", saga_id, " has its ", branch, " hold not confirmed");
      if (!completed && hold.has_value() && *hold != HoldState::kCancelled)
        return absl::StrCat("CANCELLED saga ", saga_id, " kept its ", branch, " hold");
    }
  }
  if (std::string broken = mesh.krw().CheckInvariants(); !broken.empty()) return broken;
  return mesh.fx().CheckInvariants();
}

TEST_CASE("seeded random runs of the real engine end every saga right", "[coordinator][unit]") {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    CHECK(RunSeed(seed) == "");
  }
}

}  // namespace
}  // namespace fxmesh::coordinator
