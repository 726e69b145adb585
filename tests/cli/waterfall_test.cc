// Proves the trace waterfall: spans from several services are nested under their parents in start
// order, placed in time against the whole trace, and show their outcome or failure; spans whose
// parent is missing are drawn at the top level rather than lost.
#include "cli/waterfall.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/tracing.h"

namespace fxmesh::cli {
namespace {

const std::string kSaga = "0123456789abcdef0123456789abcdef";

v1::Span At(const std::string& service, const std::string& name, const std::string& id,
            const std::string& parent, int start_ms, int end_ms) {
  const absl::Time zero = absl::FromUnixSeconds(1'800'000'000);
  return MakeSpan(service, name, kSaga, id, parent, zero + absl::Milliseconds(start_ms),
                  zero + absl::Milliseconds(end_ms));
}

TEST_CASE("a waterfall nests spans under their parents and places them in time", "[unit]") {
  std::vector<v1::Span> spans = {
      At("krw-ledger", "Cancel", "00000000000000c1", "00000000000000b2", 60, 70),
      At("coordinator", "exchange KRW→USD", "0123456789abcdef", "", 0, 100),
      At("relay", "Cancel krw attempt 1", "00000000000000b1", "00000000000000a1", 50, 80),
      At("coordinator", "drive TRYING", "00000000000000a1", "0123456789abcdef", 0, 40),
      At("relay", "krw-ledger Cancel", "00000000000000b2", "00000000000000b1", 55, 75),
      At("fx-ledger", "Try", "00000000000000f1", "0000000000000999", 10, 20),
  };
  (*spans[0].mutable_attributes())["outcome"] = "OUTCOME_APPLIED";
  spans[3].set_error("DEADLINE_EXCEEDED: no answer");

  const std::string drawn = RenderWaterfall(spans, WaterfallOptions{20, false});
  const std::vector<std::string> lines = absl::StrSplit(drawn, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 7);
  CHECK_THAT(lines[0], Catch::StartsWith("trace " + kSaga + ": 6 spans over 100.0 ms"));
  // Tree order: the root, its drive, the relay attempt under the drive, its call, the ledger's
  // span; then the span whose parent was not gathered.
  CHECK_THAT(lines[1], Catch::StartsWith("coordinator  exchange KRW→USD"));
  CHECK_THAT(lines[2], Catch::StartsWith("coordinator    drive TRYING"));
  CHECK_THAT(lines[3], Catch::StartsWith("relay            Cancel krw attempt 1"));
  CHECK_THAT(lines[4], Catch::StartsWith("relay              krw-ledger Cancel"));
  CHECK_THAT(lines[5], Catch::StartsWith("krw-ledger           Cancel"));
  CHECK_THAT(lines[6], Catch::StartsWith("fx-ledger    Try"));
  // The root spans the whole bar; the ledger's Cancel sits at 60-70 % of it.
  CHECK_THAT(lines[1], Catch::Contains("|████████████████████|"));
  CHECK_THAT(lines[5], Catch::Contains("|            ██      |"));
  CHECK_THAT(lines[5], Catch::EndsWith("10.0 ms  OUTCOME_APPLIED"));
  CHECK_THAT(lines[2], Catch::EndsWith("✗ DEADLINE_EXCEEDED: no answer"));
  CHECK(RenderWaterfall({}, WaterfallOptions{}) == "no spans\n");
}

}  // namespace
}  // namespace fxmesh::cli
