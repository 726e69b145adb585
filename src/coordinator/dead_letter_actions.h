// The operators' side of dead letters (docs/operations.md): the branch commands the relay gave up
// on. Operators list them, replay them once the cause is fixed (the command goes back to the relay
// through the outbox as a first attempt, and its saga stops waiting for an operator), or dismiss
// one that must not be replayed (a poison message, a command settled by hand): one operator
// proposes with a reason, a different one approves. The store writes each step with its audit row.
//
// Thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "coordinator/relay_expectation.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_store.h"
#include "coordinator/saga_writer.h"
#include "fxmesh/v1/ops.pb.h"

namespace fxmesh::coordinator {

class DeadLetterActions {
 public:
  // Every reference must outlive the actions. `timings` says when the relay should first speak of
  // a replayed command.
  DeadLetterActions(SagaStore& store, const Clock& clock, const WordTimings& timings,
                    SagaLeases& leases, SagaWriter& writer)
      : store_(store), clock_(clock), timings_(timings), leases_(leases), writer_(writer) {}

  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(
      const v1::ListDeadLettersRequest& request);
  absl::StatusOr<v1::ReplayDeadLettersResponse> ReplayDeadLetters(
      const v1::ReplayDeadLettersRequest& request);
  // Maker-checker dismissal of a dead letter that must not be replayed; answers it as it then is.
  // PERMISSION_DENIED when the approver is the proposer.
  absl::StatusOr<v1::DeadLetter> ProposeDismissal(const v1::ProposeDismissalRequest& request);
  absl::StatusOr<v1::DeadLetter> ApproveDismissal(const v1::ApproveDismissalRequest& request);

 private:
  SagaStore& store_;
  const Clock& clock_;
  const WordTimings& timings_;
  SagaLeases& leases_;
  SagaWriter& writer_;
};

}  // namespace fxmesh::coordinator
