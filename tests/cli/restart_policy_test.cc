// Proves the rule by which `fxmesh dev` starts a crashed service again, case by case: the delay
// doubles from the minimum with each crash in a row and stops at the maximum, a service that ran
// for the stable uptime starts its count afresh, and past the allowed crashes in a row it gives up.
#include "cli/internal/restart_policy.h"

#include <catch2/catch.hpp>

namespace fxmesh::cli::internal {
namespace {

using limits::kDevCrashesInRowMax;
using limits::kDevRestartDelayMsMax;
using limits::kDevRestartDelayMsMin;
using limits::kDevStableUptimeMs;

TEST_CASE("A first crash is restarted after the shortest delay", "[unit][dev]") {
  const RestartDecision decision = DecideRestart(0, 1'000);
  CHECK(decision.crashes_in_row == 1);
  CHECK_FALSE(decision.give_up);
  CHECK(decision.delay_ms == kDevRestartDelayMsMin);
}

TEST_CASE("Crashes in a row double the delay up to the maximum", "[unit][dev]") {
  int crashes = 0;
  int64_t previous_ms = 0;
  for (int crash = 1; crash <= kDevCrashesInRowMax; ++crash) {
    const RestartDecision decision = DecideRestart(crashes, 100);
    INFO("crash " << crash);
    CHECK(decision.crashes_in_row == crash);
    CHECK_FALSE(decision.give_up);
    CHECK(decision.delay_ms == std::min(previous_ms == 0 ? kDevRestartDelayMsMin : previous_ms * 2,
                                        kDevRestartDelayMsMax));
    previous_ms = decision.delay_ms;
    crashes = decision.crashes_in_row;
  }
  // A long run of crashes never waits longer than the maximum.
  CHECK(DecideRestart(kDevCrashesInRowMax - 1, 0).delay_ms <= kDevRestartDelayMsMax);
}

TEST_CASE("Past the allowed crashes in a row the launcher gives up", "[unit][dev]") {
  const RestartDecision decision = DecideRestart(kDevCrashesInRowMax, 100);
  CHECK(decision.crashes_in_row == kDevCrashesInRowMax + 1);
  CHECK(decision.give_up);
}

TEST_CASE("A service that stayed up long enough starts its count afresh", "[unit][dev]") {
  const RestartDecision decision = DecideRestart(kDevCrashesInRowMax, kDevStableUptimeMs);
  CHECK(decision.crashes_in_row == 1);
  CHECK_FALSE(decision.give_up);
  CHECK(decision.delay_ms == kDevRestartDelayMsMin);
  // Just short of it, the count goes on.
  CHECK(DecideRestart(2, kDevStableUptimeMs - 1).crashes_in_row == 3);
}

}  // namespace
}  // namespace fxmesh::cli::internal
