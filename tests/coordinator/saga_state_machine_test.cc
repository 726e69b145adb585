// Proves the saga transition table is exactly ARCHITECTURE.md §4's: every allowed pair, and that
// nothing else is allowed (no way back after a decision, nothing out of a final state).
#include "coordinator/saga_state_machine.h"

#include <catch2/catch.hpp>

namespace fxmesh::coordinator {
namespace {

TEST_CASE("the saga state machine allows exactly the documented transitions", "[unit]") {
  const v1::SagaState states[] = {v1::SAGA_STATE_CREATED,    v1::SAGA_STATE_TRYING,
                                  v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_COMPLETED,
                                  v1::SAGA_STATE_CANCELLING, v1::SAGA_STATE_CANCELLED};
  int allowed = 0;
  for (v1::SagaState from : states) {
    for (v1::SagaState to : states) allowed += IsAllowedTransition(from, to) ? 1 : 0;
  }
  CHECK(allowed == 6);
  CHECK(IsAllowedTransition(v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CONFIRMING));
  CHECK(IsAllowedTransition(v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CANCELLING));
  CHECK_FALSE(IsAllowedTransition(v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_CANCELLING));
  CHECK_FALSE(IsAllowedTransition(v1::SAGA_STATE_CANCELLING, v1::SAGA_STATE_CONFIRMING));
  CHECK_FALSE(IsAllowedTransition(v1::SAGA_STATE_COMPLETED, v1::SAGA_STATE_CANCELLING));
  CHECK(IsTerminal(v1::SAGA_STATE_CANCELLED));
  CHECK_FALSE(IsTerminal(v1::SAGA_STATE_CANCELLING));
  CHECK(CustomerStatus(v1::SAGA_STATE_CANCELLING) == v1::EXCHANGE_STATUS_FAILED);
  CHECK(CustomerStatus(v1::SAGA_STATE_CONFIRMING) == v1::EXCHANGE_STATUS_PENDING);
  CHECK(CustomerStatus(v1::SAGA_STATE_COMPLETED) == v1::EXCHANGE_STATUS_COMPLETED);
}

}  // namespace
}  // namespace fxmesh::coordinator
