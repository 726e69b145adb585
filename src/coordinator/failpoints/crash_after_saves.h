// The crash failpoint of the coordinator's crash tests (`--crash_after_saves`, development and
// tests only): a SagaStore decorator that kills the process with SIGKILL right after its Nth saga
// write is durable, so a test can restart the coordinator at that exact step and watch it recover.
// The engine does not know about it; only the coordinator binary's wiring puts it in front of the
// real store when the flag asks for it.
#pragma once

#include <atomic>

#include "coordinator/failpoints/forwarding_saga_store.h"

namespace fxmesh::coordinator {

class CrashAfterSavesStore final : public ForwardingSagaStore {
 public:
  // `inner` must outlive this; `saves` > 0.
  CrashAfterSavesStore(SagaStore& inner, int saves) : ForwardingSagaStore(inner), saves_(saves) {}

  // Counts the writes that committed; on the Nth it logs and raises SIGKILL before returning.
  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override;

 private:
  const int saves_;
  std::atomic<int> written_{0};
};

}  // namespace fxmesh::coordinator
