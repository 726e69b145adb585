// The SagaEvent a recorded transition announces on fxmesh.saga.events, as the outbox row that
// carries it. Every SagaStore implementation queues exactly this with the step-log row it appends,
// so what consumers see does not depend on the store.
#pragma once

#include "absl/time/time.h"
#include "coordinator/outbox_store.h"
#include "coordinator/saga_repository.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

// The event of `step` (a transition: from_state differs from to_state) of `saga` at `at` (to the
// microsecond, as stored), keyed by the saga's id and carrying its traceparent.
OutboxMessage SagaEventMessage(const v1::Saga& saga, const StepRecord& step, int attempt,
                               absl::Time at);

}  // namespace fxmesh::coordinator
