// Proves the rules for when a command handed to the relay counts as lost: each send after a
// silence waits twice as long as the one before, never past the outer bound, and a late report
// never makes a command look lost sooner.
#include "coordinator/relay_expectation.h"

#include <catch2/catch.hpp>

namespace fxmesh::coordinator {
namespace {

TEST_CASE("each send after a silence waits twice as long, up to the outer bound", "[unit]") {
  const WordTimings timings{absl::Seconds(17), absl::Seconds(12), absl::Minutes(15)};
  const absl::Time sent = absl::FromUnixSeconds(1'000);
  CHECK(ExpectAfterSend(sent, timings) == sent + absl::Seconds(17));
  CHECK(ExpectAfterSend(sent, timings, 1) == sent + absl::Seconds(34));
  CHECK(ExpectAfterSend(sent, timings, 3) == sent + absl::Seconds(136));
  CHECK(ExpectAfterSend(sent, timings, 40) == sent + absl::Minutes(15));
  CHECK(ExpectAfterReport(sent + absl::Seconds(60), sent, timings) == sent + absl::Seconds(60));
  CHECK(ExpectAfterReport(sent, sent + absl::Seconds(30), timings) == sent + absl::Seconds(42));
}

}  // namespace
}  // namespace fxmesh::coordinator
