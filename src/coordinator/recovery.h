// One pass of the coordinator's recovery loop: find the due sagas (a retry whose time came, a
// saga left unfinished by a crash or by another replica's expired lease) and start driving them.
#pragma once

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
absl::StatusOr<int> RecoverDueSagas(SagaLeases& leases, SagaDriver& driver, Executor& executor);

}  // namespace fxmesh::coordinator
