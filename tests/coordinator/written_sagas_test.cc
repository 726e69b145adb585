// Proves what a replica keeps of the sagas it wrote: each at its highest revision written, however
// its writers report, and no more than its bound, the oldest given up first.
#include "coordinator/written_sagas.h"

#include <catch2/catch.hpp>

namespace fxmesh::coordinator {
namespace {

v1::Saga Written(const std::string& saga_id, int64_t revision, v1::SagaState state) {
  v1::Saga saga;
  saga.set_saga_id(saga_id);
  saga.set_revision(revision);
  saga.set_state(state);
  return saga;
}

TEST_CASE("a written saga is kept at its highest revision", "[unit]") {
  WrittenSagas written(8);
  CHECK_FALSE(written.Find("a").has_value());
  written.Remember(Written("a", 2, v1::SAGA_STATE_CONFIRMING));
  written.Remember(Written("a", 3, v1::SAGA_STATE_COMPLETED));
  // The driver's report of revision 2 arrives after the relay's of revision 3.
  written.Remember(Written("a", 2, v1::SAGA_STATE_CONFIRMING));
  REQUIRE(written.Find("a").has_value());
  CHECK(written.Find("a")->revision() == 3);
  CHECK(written.Find("a")->state() == v1::SAGA_STATE_COMPLETED);
  CHECK(written.size() == 1);
}

TEST_CASE("written sagas past the bound give up the oldest first", "[unit]") {
  WrittenSagas written(3);
  for (const char* id : {"a", "b", "c"}) written.Remember(Written(id, 1, v1::SAGA_STATE_TRYING));
  written.Remember(Written("a", 2, v1::SAGA_STATE_CONFIRMING));  // Kept in its place.
  written.Remember(Written("d", 1, v1::SAGA_STATE_TRYING));
  CHECK(written.size() == 3);
  CHECK_FALSE(written.Find("a").has_value());
  CHECK(written.Find("b").has_value());
  CHECK(written.Find("d").has_value());
}

}  // namespace
}  // namespace fxmesh::coordinator
