// A token bucket per key (per customer): `per_second` calls a second on average, bursts of up to
// `burst`. Bounded memory: at most `keys_max` buckets, the least recently used dropped first (a
// dropped bucket starts full again, which only ever errs towards letting a call through).
#pragma once

#include <list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fxmesh {

class RateLimiter {
 public:
  // `per_second` <= 0: no limit.
  RateLimiter(int per_second, int burst, size_t keys_max);

  // Takes one call from `key`'s bucket: zero when the call may go ahead, else how long until the
  // bucket has a call again (the call is refused and takes nothing).
  absl::Duration Take(absl::string_view key, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  int per_second() const { return per_second_; }

 private:
  struct Bucket {
    double calls = 0;
    absl::Time refilled;
    std::list<std::string>::iterator used;
  };

  const int per_second_;
  const double burst_;
  const size_t keys_max_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> recently_used_ ABSL_GUARDED_BY(mu_);  // Most recent first.
};

}  // namespace fxmesh
