// Proves that proto3 JSON written by a newer version is read by this one: fields this version does
// not know are ignored (a rolling upgrade), while text that is not such JSON at all is refused.
#include "common/proto_json.h"

#include <catch2/catch.hpp>

#include "fxmesh/v1/relay.pb.h"

namespace fxmesh {
namespace {

TEST_CASE("a newer version's fields are ignored and garbage is refused", "[unit]") {
  v1::BranchResult result;
  REQUIRE(ParseProtoJson(R"({"branch":{"sagaId":"ab","branch":"fx"},"outcome":"OUTCOME_APPLIED",)"
                         R"("addedLater":{"x":1},"alsoNew":"y"})",
                         result)
              .ok());
  CHECK(result.branch().branch() == "fx");
  CHECK(result.outcome() == v1::OUTCOME_APPLIED);
  v1::BranchCommand command;
  CHECK(absl::IsInvalidArgument(ParseProtoJson("{this is not json", command)));
  CHECK(absl::IsInvalidArgument(ParseProtoJson(R"({"op":42.5})", command)));
}

}  // namespace
}  // namespace fxmesh
