#include "coordinator/recovery.h"

#include <algorithm>

#include "common/limits.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fxmesh::coordinator {

absl::StatusOr<int> RecoverDueSagas(SagaLeases& leases, SagaDriver& driver, Executor& executor,
                                    std::function<void()> more_due) {
  const int room = std::min(limits::kRecoveryBatchMax, static_cast<int>(executor.IdleWorkers()));
  if (room == 0) return 0;
  ASSIGN_OR_RETURN(std::vector<std::string> due, leases.ClaimDue(room));
  const bool full = static_cast<int>(due.size()) == room;
  int started = 0;
  for (size_t i = 0; i < due.size(); ++i) {
    const bool queued = executor.Submit([&driver, saga_id = due[i], full, more_due] {
      absl::StatusOr<v1::Saga> driven = driver.Drive(saga_id);
      if (!driven.ok())
        LogWarning("drive failed").With("saga_id", saga_id).With("error", driven.status());
      if (full && more_due) more_due();
    });
    if (queued) {
      ++started;
      continue;
    }
    // The executor is stopping: hand the rest back at once rather than keep them leased.
    for (size_t j = i; j < due.size(); ++j) leases.Release(due[j]);
    break;
  }
  return started;
}

}  // namespace fxmesh::coordinator
