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
  return Hold(saga_id, /*already_leased=*/false, work);
}

absl::StatusOr<v1::Saga> SagaLeases::WithNewSagaHeld(
    absl::string_view saga_id, absl::FunctionRef<absl::StatusOr<v1::Saga>()> work) {
  return Hold(saga_id, /*already_leased=*/true, work);
}

absl::Time SagaLeases::NewLeaseUntil() const {
  return clock_.Now() + absl::Milliseconds(limits::kSagaLeaseMs);
}

absl::StatusOr<v1::Saga> SagaLeases::Hold(absl::string_view saga_id, bool already_leased,
                                          absl::FunctionRef<absl::StatusOr<v1::Saga>()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, Holding::kLeased).second)
      return absl::AbortedError("another driver holds the saga");
  }
  absl::StatusOr<v1::Saga> result = absl::AbortedError("another driver holds the saga");
  absl::StatusOr<bool> leased = true;
  if (!already_leased) {
    const absl::Time now = clock_.Now();
    leased =
        store_.ClaimSaga(saga_id, owner_id_, now, now + absl::Milliseconds(limits::kSagaLeaseMs));
  }
  if (!leased.ok()) {
    result = leased.status();
    // The claim may have committed before its answer was lost: release it later to be sure.
    absl::MutexLock lock(&mu_);
    unreleased_.insert(std::string(saga_id));
  } else if (*leased) {
    result = work();
    bool given_back = false;
    {
      absl::MutexLock lock(&mu_);
      given_back = in_flight_.find(saga_id)->second == Holding::kLeaseGivenBack;
    }
    if (!given_back) Release(saga_id);
  }
  absl::MutexLock lock(&mu_);
  in_flight_.erase(std::string(saga_id));
  return result;
}

absl::Status SagaLeases::WithSagaHeldUnleased(absl::string_view saga_id,
                                              absl::FunctionRef<absl::Status()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, Holding::kUnleased).second)
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
  return it == in_flight_.end() || it->second == Holding::kLeased;
}

void SagaLeases::LeaseGivenBack(absl::string_view saga_id) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(saga_id);
  if (it != in_flight_.end() && it->second == Holding::kLeased)
    it->second = Holding::kLeaseGivenBack;
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
      if (!in_flight_.emplace(saga_id, Holding::kLeased).second) continue;
    }
    Release(saga_id);
    absl::MutexLock lock(&mu_);
    in_flight_.erase(saga_id);
  }
}

}  // namespace fxmesh::coordinator
