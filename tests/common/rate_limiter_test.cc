#include "common/rate_limiter.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

namespace fxmesh {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

TEST_CASE("a customer gets a burst, then the rate, and says when to come back") {
  RateLimiter limiter(/*per_second=*/4, /*burst=*/2, /*keys_max=*/10);
  CHECK(limiter.Take("alice", kStart) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart) == absl::Milliseconds(250));
  // A refused call takes nothing: the wait does not grow by asking again.
  CHECK(limiter.Take("alice", kStart) == absl::Milliseconds(250));
  CHECK(limiter.Take("bob", kStart) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart + absl::Milliseconds(250)) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart + absl::Milliseconds(250)) > absl::ZeroDuration());
  // Idle time refills up to the burst, no further.
  CHECK(limiter.Take("alice", kStart + absl::Hours(1)) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart + absl::Hours(1)) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart + absl::Hours(1)) > absl::ZeroDuration());
}

TEST_CASE("the limiter keeps a bounded number of customers, dropping the least recent") {
  RateLimiter limiter(/*per_second=*/1, /*burst=*/1, /*keys_max=*/2);
  CHECK(limiter.Take("alice", kStart) == absl::ZeroDuration());
  CHECK(limiter.Take("bob", kStart) == absl::ZeroDuration());
  CHECK(limiter.Take("alice", kStart) > absl::ZeroDuration());   // Alice is now the most recent.
  CHECK(limiter.Take("carol", kStart) == absl::ZeroDuration());  // Bob's bucket is dropped.
  CHECK(limiter.Take("alice", kStart) > absl::ZeroDuration());   // Alice's is kept, still empty.
  CHECK(limiter.Take("bob", kStart) == absl::ZeroDuration());    // Bob starts full again.
  for (int i = 0; i < 1'000; ++i) limiter.Take(absl::StrCat("c", i), kStart);
}

TEST_CASE("a rate of zero limits nothing") {
  RateLimiter limiter(/*per_second=*/0, /*burst=*/1, /*keys_max=*/1);
  for (int i = 0; i < 100; ++i) CHECK(limiter.Take("alice", kStart) == absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh
