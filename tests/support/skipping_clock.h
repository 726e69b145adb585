// Real time that a test can move ahead. A coordinator under test computes its ledger calls'
// deadlines from its clock, so over real sockets a frozen fake clock makes every call's deadline
// lie in the past once the test has run longer than the call timeout (a slow start is enough);
// this clock keeps deadlines real and still lets a test make quotes expire without waiting.
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/clock.h"

namespace fxmesh::testing {

class SkippingClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return absl::Now() + skipped_;
  }
  void Skip(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    skipped_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Duration skipped_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
};

}  // namespace fxmesh::testing
