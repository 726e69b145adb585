#include "coordinator/failpoints/crash_after_saves.h"

#include <csignal>

#include "common/log.h"

namespace fxmesh::coordinator {

absl::Status CrashAfterSavesStore::SaveSaga(const v1::Saga& saga, v1::SagaState expected_state,
                                            absl::string_view owner, absl::Time lease_until,
                                            const std::optional<StepRecord>& step,
                                            const std::vector<OutboxMessage>& messages,
                                            absl::Time now) {
  absl::Status saved =
      inner().SaveSaga(saga, expected_state, owner, lease_until, step, messages, now);
  if (saved.ok() && ++written_ == saves_) {
    LogError("crash failpoint reached: killing this process").With("saga_id", saga.saga_id());
    raise(SIGKILL);
  }
  return saved;
}

}  // namespace fxmesh::coordinator
