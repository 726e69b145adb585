// Lets a customer's call wait for its saga to finish. Once decided, an exchange is settled by the
// relay, not by the call that decided it; the call waits (while its deadline allows) for the
// write that finishes the saga, which this replica announces here with the saga as written, so the
// waiter answers from it without reading the row again. A saga finished by another replica is not
// announced: the waiter reads the saga again every limits::kSettleRecheckMs.
//
// Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class FinishSignal {
 public:
  // Interest in one saga, from construction (before the work that may finish it) to destruction.
  class Watch {
   public:
    Watch(FinishSignal& signal, absl::string_view saga_id);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // The saga as its finishing write left it, once that was announced since the watch began;
    // nothing after `timeout`.
    std::optional<v1::Saga> Wait(absl::Duration timeout);

   private:
    FinishSignal& signal_;
    const std::string saga_id_;
  };

  // Announces that this replica wrote `saga` (as stored) in a terminal state.
  void Finished(const v1::Saga& saga);

 private:
  absl::Mutex mu_;
  // Watchers per saga; only watched sagas are remembered as finished, with their last write.
  std::map<std::string, int, std::less<>> watchers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::Saga, std::less<>> finished_ ABSL_GUARDED_BY(mu_);
};

inline FinishSignal::Watch::Watch(FinishSignal& signal, absl::string_view saga_id)
    : signal_(signal), saga_id_(saga_id) {
  absl::MutexLock lock(&signal_.mu_);
  ++signal_.watchers_[saga_id_];
}

inline FinishSignal::Watch::~Watch() {
  absl::MutexLock lock(&signal_.mu_);
  auto it = signal_.watchers_.find(saga_id_);
  if (--it->second > 0) return;
  signal_.watchers_.erase(it);
  signal_.finished_.erase(saga_id_);
}

inline std::optional<v1::Saga> FinishSignal::Watch::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&signal_.mu_);
  auto finished = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(signal_.mu_) {
    return signal_.finished_.count(saga_id_) > 0;
  };
  if (!signal_.mu_.AwaitWithTimeout(absl::Condition(&finished), timeout)) return std::nullopt;
  return signal_.finished_.find(saga_id_)->second;
}

inline void FinishSignal::Finished(const v1::Saga& saga) {
  absl::MutexLock lock(&mu_);
  if (watchers_.count(saga.saga_id()) > 0) finished_.insert_or_assign(saga.saga_id(), saga);
}

}  // namespace fxmesh::coordinator
