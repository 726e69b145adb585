#include "coordinator/saga_leases.h"

#include "common/limits.h"
#include "common/log.h"

namespace fxmesh::coordinator {

absl::StatusOr<std::vector<std::string>> SagaLeases::ClaimDue(int limit) {
  const absl::Time now = clock_.Now();
  return store_.ClaimDueSagas(owner_id_, now, now + absl::Milliseconds(limits::kSagaLeaseMs),
                              limit);
}

absl::StatusOr<v1::Saga> SagaLeases::WithSagaHeld(
    absl::string_view saga_id, absl::FunctionRef<absl::StatusOr<v1::Saga>()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, /*leased=*/true).second)
      return absl::AbortedError("another driver holds the saga");
  }
  absl::StatusOr<v1::Saga> result = absl::AbortedError("another driver holds the saga");
  const absl::Time now = clock_.Now();
  absl::StatusOr<bool> leased =
      store_.ClaimSaga(saga_id, owner_id_, now, now + absl::Milliseconds(limits::kSagaLeaseMs));
  if (!leased.ok()) {
    result = leased.status();
    // The claim may have committed before its answer was lost: release it later to be sure.
    absl::MutexLock lock(&mu_);
    unreleased_.insert(std::string(saga_id));
  } else if (*leased) {
    result = work();
    Release(saga_id);
  }
  absl::MutexLock lock(&mu_);
  in_flight_.erase(std::string(saga_id));
  return result;
}

absl::Status SagaLeases::WithSagaHeldUnleased(absl::string_view saga_id,
                                              absl::FunctionRef<absl::Status()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, /*leased=*/false).second)
      return absl::AbortedError("another driver holds the saga");
  }
  absl::Status result = work();
  absl::MutexLock lock(&mu_);
  in_flight_.erase(std::string(saga_id));
  return result;
}

bool SagaLeases::WriteKeepsLease(absl::string_view saga_id) const {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(saga_id);
  return it == in_flight_.end() || it->second;
}

void SagaLeases::Release(absl::string_view saga_id) {
  absl::Status released = store_.ReleaseSaga(saga_id, owner_id_);
  absl::MutexLock lock(&mu_);
  if (released.ok()) {
    unreleased_.erase(std::string(saga_id));
    return;
  }
  unreleased_.insert(std::string(saga_id));
  LogWarning("cannot release saga lease; retried on the next recovery pass")
      .With("saga_id", saga_id)
      .With("error", released);
}

absl::StatusOr<int> SagaLeases::ReleaseOwnLeases() { return store_.ReleaseLeasesOf(owner_id_); }

void SagaLeases::RetryFailedReleases() {
  std::set<std::string> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(unreleased_);
  }
  for (const std::string& saga_id : pending) {
    {
      // A drive of this replica that took the saga again holds its lease now, and releases it
      // itself; releasing here would free the lease under it.
      absl::MutexLock lock(&mu_);
      if (!in_flight_.emplace(saga_id, /*leased=*/true).second) continue;
    }
    Release(saga_id);
    absl::MutexLock lock(&mu_);
    in_flight_.erase(saga_id);
  }
}

}  // namespace fxmesh::coordinator
