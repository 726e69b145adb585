// The operators' side of the coordinator's sagas (docs/operations.md): listing sagas and their
// history, retrying one now, pausing and resuming a participant, maker-checker resolutions (one
// operator proposes, a different one approves), the audit log and the alerts. Dead letters are
// dead_letter_actions.h.
//
// Every action names its `operator` and is written to the audit log. Applying a resolution holds
// the saga as a driver does (SagaLeases), so it never races a drive.
//
// Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "coordinator/engine_metrics.h"
#include "coordinator/engine_options.h"
#include "coordinator/participant_pauses.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_store.h"
#include "coordinator/saga_writer.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class OperatorActions {
 public:
  // Every reference must outlive the actions. `participants` names every participant there is;
  // `wake` hands the background a saga that became due (a retry, a resumed participant).
  OperatorActions(SagaStore& store, const Clock& clock, const EngineOptions& options,
                  std::vector<std::string> participants, ParticipantPauses& pauses,
                  SagaLeases& leases, SagaWriter& writer, const EngineMetrics& metrics,
                  std::function<void()> wake)
      : store_(store),
        clock_(clock),
        options_(options),
        participants_(std::move(participants)),
        pauses_(pauses),
        leases_(leases),
        writer_(writer),
        metrics_(metrics),
        wake_(std::move(wake)) {}

  // `operator` fields are required and recorded in the audit log.
  absl::StatusOr<v1::ListSagasResponse> ListSagas(const v1::ListSagasRequest& request);
  absl::StatusOr<v1::SagaHistory> GetSagaHistory(const v1::GetSagaHistoryRequest& request);
  absl::StatusOr<v1::Saga> RetrySaga(const v1::RetrySagaRequest& request);
  absl::StatusOr<v1::Participant> SetParticipantPaused(absl::string_view participant,
                                                       absl::string_view operator_name,
                                                       absl::string_view reason, bool paused);
  absl::StatusOr<v1::ListParticipantsResponse> ListParticipants();
  absl::StatusOr<v1::Resolution> ProposeResolution(const v1::ProposeResolutionRequest& request);
  // PERMISSION_DENIED when the approver is the proposer; UNAVAILABLE while a driver holds the saga.
  absl::StatusOr<v1::Resolution> ApproveResolution(const v1::ApproveResolutionRequest& request);
  absl::StatusOr<v1::ListAuditResponse> ListAudit(const v1::ListAuditRequest& request);
  absl::StatusOr<v1::Alerts> GetAlerts();

 private:
  // Moves `saga` to `to` in memory (checked against the state machine) and returns the step-log
  // row that records it; the caller persists both.
  StepRecord ApplyTransition(v1::Saga& saga, v1::SagaState to, std::string detail) const;
  void Annotate(v1::Saga& saga) const;
  void Wake() const {
    if (wake_) wake_();
  }

  SagaStore& store_;
  const Clock& clock_;
  const EngineOptions& options_;
  const std::vector<std::string> participants_;
  ParticipantPauses& pauses_;
  SagaLeases& leases_;
  SagaWriter& writer_;
  const EngineMetrics& metrics_;
  const std::function<void()> wake_;
};

}  // namespace fxmesh::coordinator
