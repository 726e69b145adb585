// The deterministic simulation of the saga (saga_simulation.h) as a test: ten thousand seeds must
// hold every invariant, a seed must replay bit for bit, and a planted ledger bug must be found.
#include "tests/simulation/saga_simulation.h"

#include <catch2/catch.hpp>

namespace fxmesh::simulation {
namespace {

TEST_CASE("ten thousand seeds of the saga simulation hold every invariant", "[unit]") {
  constexpr uint64_t kSeeds = 10'000;
  int crashed = 0, completed = 0, cancelled = 0, resent = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const SimulationResult result = Simulate(seed);
    if (!result.failure.empty()) FAIL(result.failure);
    resent += result.commands_resent > 0;
    crashed += result.crashes > 0;
    completed += result.completed;
    cancelled += result.cancelled;
  }
  // The seeds cover lost relay commands, crashes, and both ends of a saga.
  CHECK(resent > static_cast<int>(kSeeds) / 20);
  CHECK(crashed > static_cast<int>(kSeeds) / 10);
  CHECK(completed > static_cast<int>(kSeeds) / 2);
  CHECK(cancelled > static_cast<int>(kSeeds) / 2);
}

TEST_CASE("a seed of the saga simulation runs the same bit for bit", "[unit]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const SimulationResult first = Simulate(seed);
    const SimulationResult second = Simulate(seed);
    INFO("seed " << seed);
    CHECK(first.digest == second.digest);
    CHECK(first.events == second.events);
  }
  CHECK(Simulate(1).digest != Simulate(2).digest);
}

TEST_CASE("the saga simulation finds a ledger that forgets the barrier a Cancel leaves", "[unit]") {
  SimulationOptions broken;
  broken.ledger_forgets_barrier = true;
  std::string found;
  for (uint64_t seed = 1; seed <= 10'000 && found.empty(); ++seed)
    found = Simulate(seed, broken).failure;
  INFO(found);
  CHECK(found.find("invariant") != std::string::npos);
}

}  // namespace
}  // namespace fxmesh::simulation
