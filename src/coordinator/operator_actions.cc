#include "coordinator/operator_actions.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/internal/self_approval.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {

absl::StatusOr<v1::ListSagasResponse> OperatorActions::ListSagas(
    const v1::ListSagasRequest& request) {
  SagaFilter filter;
  if (request.state() != v1::SAGA_STATE_UNSPECIFIED && !v1::SagaState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state is not a saga state");
  }
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  }
  if (!request.participant().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.participant(), "participant", limits::kAccountIdLengthMax));
  }
  filter.state = request.state();
  filter.customer_id = request.customer_id();
  filter.participant = request.participant();
  filter.active_only = request.active_only();
  if (request.older_than_seconds() < 0)
    return absl::InvalidArgumentError("older_than_seconds must not be negative");
  if (request.older_than_seconds() > 0) {
    filter.created_before = clock_.Now() - absl::Seconds(request.older_than_seconds());
  }
  ASSIGN_OR_RETURN(filter.limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter.after_sequence, ParsePageToken(request.page_token()));
  std::vector<int64_t> sequences;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> sagas, store_.ListSagas(filter, &sequences));
  v1::ListSagasResponse response;
  for (v1::Saga& saga : sagas) {
    Annotate(saga);
    *response.add_sagas() = std::move(saga);
  }
  if (static_cast<int>(sequences.size()) == filter.limit) {
    response.set_next_page_token(absl::StrCat(sequences.back()));
  }
  return response;
}

absl::StatusOr<v1::SagaHistory> OperatorActions::GetSagaHistory(
    const v1::GetSagaHistoryRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", request.saga_id()));
  Annotate(*saga);
  v1::SagaHistory history;
  *history.mutable_saga() = *saga;
  ASSIGN_OR_RETURN(std::vector<v1::Step> steps, store_.ListSteps(request.saga_id()));
  for (v1::Step& step : steps) *history.add_steps() = std::move(step);
  ASSIGN_OR_RETURN(std::vector<v1::Resolution> resolutions,
                   store_.ListResolutions(request.saga_id()));
  for (v1::Resolution& resolution : resolutions) *history.add_resolutions() = std::move(resolution);
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> audit,
                   store_.ListAudit(request.saga_id(), 0, limits::kListPageSizeMax));
  for (v1::AuditEntry& entry : audit) *history.add_audit() = std::move(entry);
  return history;
}

absl::StatusOr<v1::Saga> OperatorActions::RetrySaga(const v1::RetrySagaRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(bool scheduled, store_.ScheduleSaga(request.saga_id(), clock_.Now()));
  if (!scheduled) {
    return absl::FailedPreconditionError(
        absl::StrCat("saga ", request.saga_id(), " does not exist or is already final"));
  }
  v1::AuditEntry audit;
  *audit.mutable_at() = ToTimestamp(clock_.Now());
  audit.set_operator_(request.operator_());
  audit.set_action("retry_saga");
  audit.set_saga_id(request.saga_id());
  audit.set_detail("scheduled for an immediate attempt");
  RETURN_IF_ERROR(store_.AppendAudit(audit));
  Wake();
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  Annotate(*saga);
  return *saga;
}

absl::StatusOr<v1::Participant> OperatorActions::SetParticipantPaused(
    absl::string_view participant, absl::string_view operator_name, absl::string_view reason,
    bool paused) {
  if (std::find(participants_.begin(), participants_.end(), participant) == participants_.end()) {
    return absl::NotFoundError(absl::StrCat("no participant ", QuoteForMessage(participant),
                                            "; participants are ",
                                            absl::StrJoin(participants_, ", ")));
  }
  RETURN_IF_ERROR(ValidateOperator(operator_name));
  RETURN_IF_ERROR(ValidateNote(reason, "reason"));
  v1::Participant record;
  record.set_participant(std::string(participant));
  record.set_paused(paused);
  record.set_paused_by(std::string(operator_name));
  record.set_pause_reason(std::string(reason));
  *record.mutable_paused_at() = ToTimestamp(clock_.Now());
  RETURN_IF_ERROR(store_.SetParticipantPaused(record));
  v1::AuditEntry audit;
  *audit.mutable_at() = record.paused_at();
  audit.set_operator_(std::string(operator_name));
  audit.set_action(paused ? "pause_participant" : "resume_participant");
  audit.set_detail(absl::StrCat(participant, paused ? ": " : "", paused ? reason : ""));
  RETURN_IF_ERROR(store_.AppendAudit(audit));
  RETURN_IF_ERROR(pauses_.Refresh());
  LogWarning(paused ? "participant paused" : "participant resumed")
      .With("participant", participant)
      .With("operator", operator_name);
  if (!paused) Wake();
  return record;
}

absl::StatusOr<v1::ListParticipantsResponse> OperatorActions::ListParticipants() {
  v1::ListParticipantsResponse response;
  const std::map<std::string, v1::Participant> paused = pauses_.Paused();
  for (const std::string& name : participants_) {
    v1::Participant* participant = response.add_participants();
    if (auto found = paused.find(name); found != paused.end()) *participant = found->second;
    participant->set_participant(name);
  }
  return response;
}

absl::StatusOr<v1::Resolution> OperatorActions::ProposeResolution(
    const v1::ProposeResolutionRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  RETURN_IF_ERROR(ValidateKey(request.reason_code(), "reason_code", limits::kAccountIdLengthMax));
  RETURN_IF_ERROR(ValidateNote(request.note(), "note"));
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", request.saga_id()));
  const v1::SagaState state = saga->state();
  switch (request.action()) {
    case v1::RESOLUTION_ACTION_MARK_COMPLETED:
      if (state != v1::SAGA_STATE_CONFIRMING) {
        return absl::FailedPreconditionError(absl::StrCat(
            "MARK_COMPLETED applies to a saga in CONFIRMING; this one is ", StateName(state)));
      }
      break;
    case v1::RESOLUTION_ACTION_CANCEL:
      if (state != v1::SAGA_STATE_CREATED && state != v1::SAGA_STATE_TRYING &&
          state != v1::SAGA_STATE_CANCELLING) {
        return absl::FailedPreconditionError(absl::StrCat(
            "CANCEL applies to a saga in CREATED, TRYING or CANCELLING; this one is ",
            StateName(state),
            IsDecided(state) ? " (after the decision to confirm, a saga only goes forward)" : ""));
      }
      break;
    default:
      return absl::InvalidArgumentError("action must be MARK_COMPLETED or CANCEL");
  }
  v1::Resolution resolution;
  resolution.set_saga_id(request.saga_id());
  resolution.set_action(request.action());
  resolution.set_reason_code(request.reason_code());
  resolution.set_note(request.note());
  resolution.set_state(v1::RESOLUTION_STATE_PROPOSED);
  resolution.set_proposed_by(request.operator_());
  *resolution.mutable_proposed_at() = ToTimestamp(clock_.Now());
  ASSIGN_OR_RETURN(int64_t id, store_.InsertResolution(resolution));
  resolution.set_resolution_id(id);
  return resolution;
}

absl::StatusOr<v1::Resolution> OperatorActions::ApproveResolution(
    const v1::ApproveResolutionRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(std::optional<v1::Resolution> resolution,
                   store_.GetResolution(request.resolution_id()));
  if (!resolution)
    return absl::NotFoundError(absl::StrCat("no resolution ", request.resolution_id()));
  if (resolution->state() != v1::RESOLUTION_STATE_PROPOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("resolution ", request.resolution_id(), " was already approved"));
  }
  if (SameOperator(resolution->proposed_by(), request.operator_())) {
    return internal::RefuseSelfApproval(
        store_, clock_.Now(), request.operator_(), resolution->saga_id(),
        absl::StrCat("maker-checker: resolution ", request.resolution_id(), " was proposed by ",
                     resolution->proposed_by(), "; a different operator must approve it"));
  }
  // Apply while holding the saga as a driver does: no other replica (the lease) and no other
  // thread of this one (which holds the same lease) acts on it meanwhile, and the lease is
  // released afterwards only because this approval took it.
  const absl::Time now = clock_.Now();
  auto apply = [&]() -> absl::StatusOr<v1::Saga> {
    ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(resolution->saga_id()));
    if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", resolution->saga_id()));
    const std::string detail = absl::StrCat(
        "manual resolution ", resolution->resolution_id(), " (", resolution->reason_code(),
        ") proposed by ", resolution->proposed_by(), ", approved by ", request.operator_());
    v1::SagaState to;
    if (resolution->action() == v1::RESOLUTION_ACTION_MARK_COMPLETED &&
        saga->state() == v1::SAGA_STATE_CONFIRMING) {
      to = v1::SAGA_STATE_COMPLETED;
    } else if (resolution->action() == v1::RESOLUTION_ACTION_CANCEL &&
               saga->state() == v1::SAGA_STATE_CANCELLING) {
      to = v1::SAGA_STATE_CANCELLED;
    } else if (resolution->action() == v1::RESOLUTION_ACTION_CANCEL &&
               (saga->state() == v1::SAGA_STATE_CREATED ||
                saga->state() == v1::SAGA_STATE_TRYING)) {
      to = v1::SAGA_STATE_CANCELLING;
      saga->set_failure_reason("MANUAL");
      saga->set_failure_detail(detail);
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          "the saga moved to ", StateName(saga->state()), " since the proposal; propose again"));
    }
    const v1::SagaState from = saga->state();
    const StepRecord step = ApplyTransition(*saga, to, detail);
    RETURN_IF_ERROR(store_.ApproveResolutionAndSave(
        resolution->resolution_id(), request.operator_(), *saga, from, leases_.owner_id(),
        now + absl::Milliseconds(limits::kSagaLeaseMs), step, now));
    saga->set_revision(saga->revision() + 1);
    if (IsTerminal(to)) writer_.RecordFinished(*saga);
    LogWarning("saga resolved by operators")
        .With("saga_id", saga->saga_id())
        .With("trace_id", saga->saga_id())
        .With("to", StateName(to))
        .With("detail", detail);
    return *saga;
  };
  absl::StatusOr<v1::Saga> applied = leases_.WithSagaHeld(resolution->saga_id(), apply);
  if (absl::IsAborted(applied.status()))
    return absl::UnavailableError("the saga is being driven right now; approve again in a moment");
  RETURN_IF_ERROR(applied.status());
  Wake();
  ASSIGN_OR_RETURN(resolution, store_.GetResolution(request.resolution_id()));
  return *resolution;
}

absl::StatusOr<v1::ListAuditResponse> OperatorActions::ListAudit(
    const v1::ListAuditRequest& request) {
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(int limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(int64_t after, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                   store_.ListAudit(request.saga_id(), after, limit));
  v1::ListAuditResponse response;
  for (v1::AuditEntry& entry : entries) *response.add_entries() = std::move(entry);
  if (static_cast<int>(entries.size()) == limit) {
    response.set_next_page_token(absl::StrCat(response.entries(limit - 1).audit_id()));
  }
  return response;
}

absl::StatusOr<v1::Alerts> OperatorActions::GetAlerts() {
  SagaFilter filter;
  filter.active_only = true;
  filter.created_before = clock_.Now() - options_.stuck_after;
  filter.limit = limits::kListPageSizeMax;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> stuck, store_.ListSagas(filter, nullptr));
  v1::Alerts alerts;
  alerts.set_stuck_threshold_seconds(absl::ToInt64Seconds(options_.stuck_after));
  for (v1::Saga& saga : stuck) {
    Annotate(saga);
    *alerts.add_stuck_sagas() = std::move(saga);
  }
  alerts.set_stuck_alerts_total(static_cast<int64_t>(metrics_.alerts.With({"stuck"}).value()));
  alerts.set_inconsistency_alerts_total(
      static_cast<int64_t>(metrics_.alerts.With({"inconsistency"}).value()));
  alerts.set_unreadable_saga_alerts_total(
      static_cast<int64_t>(metrics_.alerts.With({"unreadable_saga"}).value()));
  ASSIGN_OR_RETURN(int64_t backlog, store_.CountUnsentOutbox());
  alerts.set_outbox_backlog(backlog);
  ASSIGN_OR_RETURN(int64_t dead_letters, store_.CountPendingDeadLetters());
  alerts.set_dead_letters_pending(dead_letters);
  return alerts;
}

StepRecord OperatorActions::ApplyTransition(v1::Saga& saga, v1::SagaState to,
                                            std::string detail) const {
  const v1::SagaState from = saga.state();
  EnterState(saga, to, clock_.Now());
  return StepRecord{from, to, std::move(detail)};
}

void OperatorActions::Annotate(v1::Saga& saga) const {
  pauses_.Annotate(saga, clock_.Now(), options_.stuck_after);
}

}  // namespace fxmesh::coordinator
