// The clock seam. Logic takes a Clock& and never reads the time by itself, so a test can freeze or
// move time (Envoy's TimeSource pattern; the tests' FakeClock is in tests/support/).
#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fxmesh {

// Thread-safe in every implementation.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// Wall-clock time.
class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance; never destroyed.
  static Clock& Get();
};

}  // namespace fxmesh
