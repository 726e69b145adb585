// The runner of the saga's rules (saga_rules.h, ARCHITECTURE.md §4): it holds a saga (SagaLeases,
// so one replica and one thread at a time act on it), asks Decide what comes next, and performs
// it: the calls to the ledgers, in parallel, or one write of the saga with its step-log row and
// its outbox commands (SagaWriter). It repeats until the rules say wait.
//
// A saga is a list of branches, each naming its participant; the driver drives any such list, so
// a new participant (a fee ledger) is one more branch and one more client, not a new driver.
//
// Also raises the stuck-saga alert, which the recovery loop checks on a timer.
//
// Thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/participant_client.h"
#include "coordinator/engine_metrics.h"
#include "coordinator/engine_options.h"
#include "coordinator/participant_pauses.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_store.h"
#include "coordinator/saga_writer.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class SagaDriver {
 public:
  // Every reference, and every client in `participants` (keyed by participant name), must outlive
  // the driver.
  SagaDriver(SagaStore& store, const Clock& clock,
             std::map<std::string, ParticipantClient*> participants, const EngineOptions& options,
             const RuleOptions& rules, const EngineMetrics& metrics,
             const ParticipantPauses& pauses, SagaLeases& leases, SagaWriter& writer)
      : store_(store),
        clock_(clock),
        participants_(std::move(participants)),
        options_(options),
        rules_(rules),
        metrics_(metrics),
        pauses_(pauses),
        leases_(leases),
        writer_(writer) {}

  // Drives one saga as far as it can go now; returns it as it then is. `respond_by` caps every
  // call's deadline (a customer is waiting). Another driver holding the saga, or storage failing
  // mid-way, answers with the saga as stored.
  absl::StatusOr<v1::Saga> Drive(absl::string_view saga_id,
                                 absl::Time respond_by = absl::InfiniteFuture());
  // Drive, for a saga this replica has just created leased to itself (NewSaga::lease_owner is
  // owner_id(), until new_lease_until()); `created` is the saga as stored. Its first step needs no
  // claim and no read.
  absl::StatusOr<v1::Saga> DriveCreated(v1::Saga created, absl::Time respond_by);
  const std::string& owner_id() const { return leases_.owner_id(); }
  absl::Time new_lease_until() const { return leases_.NewLeaseUntil(); }

  // Raises an alert (log line and counter) for each saga newly found stuck.
  absl::Status CheckStuck();

 private:
  struct DriveLimits {
    absl::Time respond_by;
  };

  // Asks Decide what to do, makes the calls or writes the saga (once per decision), until the
  // rules say wait. The caller holds the saga: DriveLeased reads it first, DriveHeld is given it as
  // stored.
  absl::StatusOr<v1::Saga> DriveLeased(absl::string_view saga_id, const DriveLimits& limits);
  absl::StatusOr<v1::Saga> DriveHeld(v1::Saga saga, const DriveLimits& limits);
  // What Drive answers once the drive of `saga_id` ended with `driven`.
  absl::StatusOr<v1::Saga> AfterDrive(absl::string_view saga_id, absl::StatusOr<v1::Saga> driven);
  // What the rules know of this drive now.
  DriveInput InputFor(const DriveLimits& limits, bool answered) const;
  // Sends `call` for each branch in `indexes`, in parallel, and records the answers on `saga`.
  void SendCalls(v1::Saga& saga, BranchCall call, const std::vector<int>& indexes,
                 absl::Time deadline);

  SagaStore& store_;
  const Clock& clock_;
  const std::map<std::string, ParticipantClient*> participants_;
  const EngineOptions& options_;
  const RuleOptions& rules_;
  const EngineMetrics& metrics_;
  const ParticipantPauses& pauses_;
  SagaLeases& leases_;
  SagaWriter& writer_;

  absl::Mutex mu_;
  std::set<std::string> stuck_alerted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::coordinator
