#include "common/rate_limiter.h"

#include <algorithm>

namespace fxmesh {

RateLimiter::RateLimiter(int per_second, int burst, size_t keys_max)
    : per_second_(per_second),
      burst_(std::max(burst, 1)),
      keys_max_(std::max<size_t>(keys_max, 1)) {}

absl::Duration RateLimiter::Take(absl::string_view key, absl::Time now) {
  if (per_second_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  auto [it, added] = buckets_.try_emplace(std::string(key));
  Bucket& bucket = it->second;
  if (added) {
    bucket.calls = burst_;
    bucket.refilled = now;
    recently_used_.push_front(it->first);
    bucket.used = recently_used_.begin();
    if (buckets_.size() > keys_max_) {
      buckets_.erase(recently_used_.back());
      recently_used_.pop_back();
    }
  } else {
    recently_used_.splice(recently_used_.begin(), recently_used_, bucket.used);
  }
  if (now > bucket.refilled) {
    bucket.calls =
        std::min(burst_, bucket.calls + absl::ToDoubleSeconds(now - bucket.refilled) * per_second_);
    bucket.refilled = now;
  }
  if (bucket.calls >= 1) {
    bucket.calls -= 1;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1 - bucket.calls) / per_second_);
}

}  // namespace fxmesh
