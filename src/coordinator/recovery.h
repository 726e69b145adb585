// One pass of the coordinator's recovery loop: find the due sagas (a retry whose time came, a
// saga left unfinished by a crash or by another replica's expired lease) and start driving them.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "common/executor.h"
#include "coordinator/saga_driver.h"
#include "coordinator/saga_leases.h"

namespace fxmesh::coordinator {

// Leases to this replica only as many due sagas as `executor` can start now (at most
// limits::kRecoveryBatchMax) and hands each to it to be driven. A saga this replica cannot start
// stays unleased, so another replica takes it: claiming more than it can drive would extend
// leases on sagas nobody drives. Returns how many drives it started. `leases`, `driver` and
// `executor` must outlive the drives.
//
// When the pass took as many as it had room for, more sagas may be due: each of its drives then
// calls `more_due` when it ends, so the caller passes again as soon as a worker is free instead of
// a whole recovery interval later (a backlog, such as the sagas left behind by an outage, drains
// at the speed of the workers, not of the timer).
absl::StatusOr<int> RecoverDueSagas(SagaLeases& leases, SagaDriver& driver, Executor& executor,
                                    std::function<void()> more_due = nullptr);

}  // namespace fxmesh::coordinator
