// Which participants operators have paused, as this replica last read them from the store. The
// driver sends them no call, new exchanges touching them are refused, and operators see the sagas
// that wait on them. Operators may pause a participant through another replica, so the recovery
// loop reloads the set on every pass.
//
// Thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/saga_store.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class ParticipantPauses {
 public:
  // `store` must outlive the set. It starts empty: call Refresh before serving.
  explicit ParticipantPauses(SagaStore& store) : store_(store) {}

  // Reloads the set from the store.
  absl::Status Refresh();

  // The paused participants, each with who paused it, when and why.
  std::map<std::string, v1::Participant> Paused() const;
  std::set<std::string, std::less<>> Names() const;
  // The first paused participant among `saga`'s branches, or "".
  std::string FirstPausedIn(const v1::Saga& saga) const;

  // Sets what operators see of `saga` beyond its row: whether, still running, it waits on a paused
  // participant, and whether it is stuck (running for longer than `stuck_after` at `now`).
  void Annotate(v1::Saga& saga, absl::Time now, absl::Duration stuck_after) const;

 private:
  SagaStore& store_;
  mutable absl::Mutex mu_;
  std::map<std::string, v1::Participant> paused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::coordinator
