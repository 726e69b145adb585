// Which sagas this replica works on, and its leases on them in the store.
//
// A saga is driven only by the replica holding its lease (lease_owner, lease_until), and within
// one replica by one thread at a time: a thread marks the saga in flight here before it acts, so a
// second thread of the same replica (which would share the lease) stays away. A driver and an
// operator's approval hold the saga with the lease (WithSagaHeld); applying a relay answer holds
// it without one (WithSagaHeldUnleased), because the saga's revision fences its one write instead.
//
// A lease is given back as soon as its work ends; a release that failed (the database was away)
// is remembered and made again by RetryFailedReleases.
//
// Thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "coordinator/saga_store.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class SagaLeases {
 public:
  // `store` and `clock` must outlive the leases. `owner_id` names this replica in the store.
  SagaLeases(SagaStore& store, const Clock& clock, std::string owner_id)
      : store_(store), clock_(clock), owner_id_(std::move(owner_id)) {}

  const std::string& owner_id() const { return owner_id_; }

  // Leases up to `limit` due sagas to this replica; the caller drives each, then they are released.
  absl::StatusOr<std::vector<std::string>> ClaimDue(int limit);
  // Gives back the lease of a saga this replica has stopped working on, or claimed by ClaimDue and
  // will not drive after all. A failed release is remembered and retried by RetryFailedReleases.
  void Release(absl::string_view saga_id);
  // On start, before any drive: frees the leases this replica held when it stopped (a crash, a
  // kill), so the other replicas need not wait for them to expire. Returns how many.
  absl::StatusOr<int> ReleaseOwnLeases();
  // Releases again the leases whose release failed (the database was away): until then the other
  // replicas cannot apply results to those sagas. The recovery loop calls it every pass.
  void RetryFailedReleases();

  // Runs `work` while this replica holds the saga: marked in flight here and leased in the store,
  // released afterwards. ABORTED when another driver holds it.
  absl::StatusOr<v1::Saga> WithSagaHeld(absl::string_view saga_id,
                                        absl::FunctionRef<absl::StatusOr<v1::Saga>()> work);
  // WithSagaHeld for a saga this replica has just created already leased to itself
  // (NewSaga::lease_owner, until NewLeaseUntil()): no claim is made. ABORTED when a thread of this
  // replica (a recovery pass) took it first.
  absl::StatusOr<v1::Saga> WithNewSagaHeld(absl::string_view saga_id,
                                           absl::FunctionRef<absl::StatusOr<v1::Saga>()> work);
  // Until when a saga created now for this replica to drive is leased to it.
  absl::Time NewLeaseUntil() const;
  // Runs `work` while the saga is marked in flight here, without taking its lease: the one write
  // `work` makes is fenced by the revision it read. ABORTED when a thread of this replica holds it.
  absl::Status WithSagaHeldUnleased(absl::string_view saga_id,
                                    absl::FunctionRef<absl::Status()> work);
  // Whether a write of the saga keeps this replica's lease on it: not while it is held without one
  // (then the write leaves it free for any driver).
  bool WriteKeepsLease(absl::string_view saga_id) const;
  // A write of the saga held here ended its lease in the store (SagaWriter's `gives_back_lease`):
  // the hold ends without a release of its own.
  void LeaseGivenBack(absl::string_view saga_id);

 private:
  SagaStore& store_;
  const Clock& clock_;
  const std::string owner_id_;

  mutable absl::Mutex mu_;
  // Sagas a thread of this replica is working on, each with whether that thread holds the lease.
  // The lease keeps other replicas away; this keeps a second thread of the same replica (which
  // would share the lease) away. Applying a relay result takes no lease: the saga's revision
  // fences its one write instead. A lease a write already gave back is kLeaseGivenBack.
  enum class Holding { kLeased, kUnleased, kLeaseGivenBack };
  std::map<std::string, Holding, std::less<>> in_flight_ ABSL_GUARDED_BY(mu_);
  // WithSagaHeld and WithNewSagaHeld: claims the lease first unless `already_leased`.
  absl::StatusOr<v1::Saga> Hold(absl::string_view saga_id, bool already_leased,
                                absl::FunctionRef<absl::StatusOr<v1::Saga>()> work);

  // Sagas whose lease this replica failed to release.
  std::set<std::string> unreleased_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::coordinator
