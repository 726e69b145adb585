// When `fxmesh dev` starts a crashed service again: a pure rule of the service's crash count and
// how long it ran, so it is tested by feeding it cases (the launcher does the waiting and the
// spawning).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/limits.h"

namespace fxmesh::cli::internal {

struct RestartDecision {
  // Crashes in a row, this one included.
  int crashes_in_row = 0;
  // Give up: stop the mesh instead of starting the service again.
  bool give_up = false;
  // How long to wait before starting it again.
  int64_t delay_ms = 0;
};

// A service that ran `uptime_ms` crashed after `crashes_before` crashes in a row. A run of the
// stable uptime clears the count; the delay doubles from kDevRestartDelayMsMin with each crash in
// a row, up to kDevRestartDelayMsMax; past kDevCrashesInRowMax the launcher gives up.
inline RestartDecision DecideRestart(int crashes_before, int64_t uptime_ms) {
  RestartDecision decision;
  decision.crashes_in_row = (uptime_ms >= limits::kDevStableUptimeMs ? 0 : crashes_before) + 1;
  decision.give_up = decision.crashes_in_row > limits::kDevCrashesInRowMax;
  int64_t delay_ms = limits::kDevRestartDelayMsMin;
  for (int crash = 1; crash < decision.crashes_in_row && delay_ms < limits::kDevRestartDelayMsMax;
       ++crash) {
    delay_ms *= 2;
  }
  decision.delay_ms = std::min(delay_ms, limits::kDevRestartDelayMsMax);
  return decision;
}

}  // namespace fxmesh::cli::internal
