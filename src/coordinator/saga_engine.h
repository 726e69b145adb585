// The coordinator's engine: quotes, exchanges as TCC sagas over the ledgers, recovery, and the
// operator actions (ARCHITECTURE.md §4).
//
// A saga is a list of branches, each naming its participant; the engine drives any such list, so a
// new participant (a fee ledger) is one more branch and one more client, not a new engine.
//
// Driving a saga: the driver first leases it (so one replica at a time acts on it), then asks the
// rules (saga_rules.h, where the state diagram and the retry rule live) what comes next, and
// performs it: the calls to the ledgers, or one write of the saga with its step-log row and its
// outbox commands. Every write is conditional on the lease and the saga's revision.
//
// Settling through Kafka (`settle_through_kafka`, ARCHITECTURE.md §5): the customer's drive still
// sends each Confirm once inline, but every other Confirm and every Cancel goes to the relay as a
// BranchCommand, queued in the outbox in the same transaction as the saga write that needs it
// (entering CANCELLING carries its Cancels). The relay owns the retries; ApplyBranchResult records
// its answers and finishes the saga; ApplyDeadLetter marks a branch the relay gave up on, until an
// operator replays it. A command the relay goes silent about (no result, no report of a retry
// tier move) past the time its next word was due is sent again (relay_expectation.h), and any
// command with no result after `redispatch_after`.
//
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/participant_client.h"
#include "common/tracing.h"
#include "coordinator/engine_metrics.h"
#include "coordinator/engine_options.h"
#include "coordinator/rates.h"
#include "coordinator/relay_answer_sink.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_store.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/relay.pb.h"

namespace fxmesh::coordinator {

// Participant names of an exchange's two legs.
inline constexpr absl::string_view kKrwParticipant = "krw-ledger";
inline constexpr absl::string_view kFxParticipant = "fx-ledger";

class SagaEngine : public RelayAnswerSink {
 public:
  // `store`, `clock`, `metrics` and every client in `participants` (keyed by participant name)
  // must outlive the engine.
  SagaEngine(SagaStore& store, const Clock& clock, RateTable rates,
             std::map<std::string, ParticipantClient*> participants, EngineOptions options,
             MetricsRegistry& metrics);

  // Called whenever a saga becomes due for background work (a cancellation to finish, a retry), so
  // the recovery loop need not wait for its next tick.
  void SetWakeBackground(std::function<void()> wake) { wake_background_ = std::move(wake); }

  // Customer API. Errors: INVALID_ARGUMENT (malformed), NOT_FOUND (unknown quote or saga),
  // FAILED_PRECONDITION (quote expired, daily limit exceeded), ALREADY_EXISTS (idempotency key
  // reused for a different exchange), UNAVAILABLE (a participant is paused, or storage is down).
  absl::StatusOr<v1::Quote> GetQuote(const v1::GetQuoteRequest& request);
  // Starts (or finds) the exchange and drives it until it is decided or `respond_by` passes.
  absl::StatusOr<v1::Exchange> Exchange(const v1::ExchangeRequest& request, absl::Time respond_by);
  absl::StatusOr<v1::Exchange> GetExchange(const v1::GetExchangeRequest& request);
  absl::StatusOr<v1::ListExchangesResponse> ListExchanges(const v1::ListExchangesRequest& request);

  // Drives one saga as far as it can go now; returns it as it then is. `respond_by` caps every
  // call's deadline (a customer is waiting); with `stop_at_cancel` the drive stops once CANCELLING
  // is durable and leaves the Cancels to the background.
  absl::StatusOr<v1::Saga> Drive(absl::string_view saga_id,
                                 absl::Time respond_by = absl::InfiniteFuture(),
                                 bool stop_at_cancel = false);
  // Leases up to `limit` due sagas to this replica; the caller drives each, then they are released.
  absl::StatusOr<std::vector<std::string>> ClaimDue(int limit);
  // Gives back the lease of a saga claimed by ClaimDue that will not be driven after all.
  void ReleaseClaim(absl::string_view saga_id);
  // On start, before any drive: frees the leases this replica held when it stopped (a crash, a
  // kill), so the other replicas need not wait for them to expire. Returns how many.
  absl::StatusOr<int> ReleaseOwnLeases();
  // Releases again the leases whose release failed (the database was away): until then the other
  // replicas cannot apply results to those sagas. The recovery loop calls it every pass.
  void RetryFailedReleases();
  // Raises an alert (log line and counter) for each saga newly found stuck.
  absl::Status CheckStuck();
  // Reloads which participants are paused (operators may pause them through another replica).
  absl::Status RefreshPausedParticipants();

  // Relay answers, consumed from Kafka. Idempotent: a result for a branch already settled, or a
  // saga already finished, changes nothing. ABORTED while another driver holds the saga: apply it
  // again later.
  absl::Status ApplyBranchResult(const v1::BranchResult& result) override;
  // Records a message of the dead-letter topic (once per position) and marks its branch.
  absl::Status ApplyDeadLetter(const v1::DeadLetter& dead_letter) override;

  // Operator API. `operator` fields are required and recorded in the audit log.
  absl::StatusOr<v1::ListSagasResponse> ListSagas(const v1::ListSagasRequest& request);
  absl::StatusOr<v1::SagaHistory> GetSagaHistory(const v1::GetSagaHistoryRequest& request);
  absl::StatusOr<v1::Saga> RetrySaga(const v1::RetrySagaRequest& request);
  absl::StatusOr<v1::Participant> SetParticipantPaused(absl::string_view participant,
                                                       absl::string_view operator_name,
                                                       absl::string_view reason, bool paused);
  absl::StatusOr<v1::ListParticipantsResponse> ListParticipants();
  absl::StatusOr<v1::Resolution> ProposeResolution(const v1::ProposeResolutionRequest& request);
  absl::StatusOr<v1::Resolution> ApproveResolution(const v1::ApproveResolutionRequest& request);
  absl::StatusOr<v1::ListAuditResponse> ListAudit(const v1::ListAuditRequest& request);
  absl::StatusOr<v1::Alerts> GetAlerts();
  absl::StatusOr<v1::ListDeadLettersResponse> ListDeadLetters(
      const v1::ListDeadLettersRequest& request);
  absl::StatusOr<v1::ReplayDeadLettersResponse> ReplayDeadLetters(
      const v1::ReplayDeadLettersRequest& request);
  // Maker-checker dismissal of a dead letter that must not be replayed; answers it as it then is.
  // PERMISSION_DENIED when the approver is the proposer.
  absl::StatusOr<v1::DeadLetter> ProposeDismissal(const v1::ProposeDismissalRequest& request);
  absl::StatusOr<v1::DeadLetter> ApproveDismissal(const v1::ApproveDismissalRequest& request);

  // What the customer sees of a saga.
  static v1::Exchange ToExchange(const v1::Saga& saga);

 private:
  // Records in the audit log that `operator_name` tried to approve their own proposal about
  // `saga_id`, and returns PERMISSION_DENIED with `why`.
  absl::Status RefuseSelfApproval(absl::string_view operator_name, absl::string_view saga_id,
                                  std::string why);
  struct DriveLimits {
    absl::Time respond_by;
    bool stop_at_cancel;
  };

  absl::StatusOr<v1::Saga> StartExchange(const v1::ExchangeRequest& request);
  // Runs `work` while this replica holds the saga: marked in flight here and leased in the store.
  // ABORTED when another driver holds it.
  absl::StatusOr<v1::Saga> WithSagaHeld(absl::string_view saga_id,
                                        absl::FunctionRef<absl::StatusOr<v1::Saga>()> work);
  // Releases the lease of a saga this replica has stopped working on; a failed release is
  // remembered and retried by RetryFailedReleases.
  void Release(absl::string_view saga_id);
  // The runner of the rules (saga_rules.h): asks Decide what to do, makes the calls or writes the
  // saga (once per decision), until the rules say wait.
  absl::StatusOr<v1::Saga> DriveLeased(absl::string_view saga_id, const DriveLimits& limits);
  // What the rules know of this drive now.
  DriveInput InputFor(const DriveLimits& limits, bool answered) const;
  // Sends `call` for each branch in `indexes`, in parallel, and records the answers on `saga`.
  void SendCalls(v1::Saga& saga, BranchCall call, const std::vector<int>& indexes,
                 absl::Time deadline);
  // Records a participant's answer (or the failure to get one) to `call` on `branch`, and counts
  // it.
  void RecordCall(v1::Branch& branch, BranchCall call,
                  const absl::StatusOr<v1::BranchResponse>& answer, absl::Time try_deadline);
  // Performs a decision to write: saves `saga` (expected in `from`) with the decision's step-log
  // row and outbox commands in one transaction, then its logs, metrics and wake-up.
  absl::Status Write(v1::Saga& saga, v1::SagaState from, const Decision& decision);
  // A ledger refused a Confirm or Cancel after the decision: the saga needs an operator.
  void RaiseInconsistency(const v1::Saga& saga, const std::vector<std::string>& open);
  // For a relay answer about `ref`: runs `update` on the branch if the saga is still in `op`'s
  // phase, the branch not settled yet and `needed` says the update would change something;
  // otherwise does nothing (a late or repeated copy). One read and at most one write, without the
  // lease: the write is fenced by the revision read, so a driver that came first makes it ABORTED
  // (the caller tries again later), as does a thread of this replica working on the saga;
  // NOT_FOUND for an unknown saga.
  absl::Status WithOpenBranch(const v1::BranchRef& ref, v1::BranchOp op,
                              absl::FunctionRef<bool(const v1::Branch&)> needed,
                              absl::FunctionRef<absl::Status(v1::Saga&, v1::Branch&)> update);
  // The relay moved a branch's command to a retry tier: the next word about it is now due after
  // that tier's due time.
  absl::Status ApplyRetryReport(const v1::BranchResult& report);
  // The outbox message that hands `command` to the relay.
  static OutboxMessage ToOutbox(const v1::BranchCommand& command);
  // Moves `saga` to `to` in memory (checked against the state machine) and returns the step-log
  // row that records it; the caller persists both.
  StepRecord ApplyTransition(v1::Saga& saga, v1::SagaState to, std::string detail) const;
  // For a saga just written in a terminal state, by a transition or an operator's resolution: the
  // finished count, the duration and the exchange's root span.
  void RecordFinished(const v1::Saga& saga);
  // Writes `saga` as read at its revision (then counts the write in it), with the lease this
  // thread holds on it, or with none (a relay result).
  absl::Status Save(v1::Saga& saga, v1::SagaState expected, const std::optional<StepRecord>& step,
                    const std::vector<OutboxMessage>& messages = {});
  // The first paused participant among `saga`'s branches, or "".
  std::string PausedParticipant(const v1::Saga& saga) const;
  void Annotate(v1::Saga& saga) const;
  void Wake() const {
    if (wake_background_) wake_background_();
  }

  SagaStore& store_;
  const Clock& clock_;
  const RateTable rates_;
  const std::map<std::string, ParticipantClient*> participants_;
  const EngineOptions options_;
  const RuleOptions rule_options_;
  std::function<void()> wake_background_;

  mutable absl::Mutex mu_;
  std::map<std::string, v1::Participant> paused_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> stuck_alerted_ ABSL_GUARDED_BY(mu_);
  // Sagas a thread of this replica is working on, each with whether that thread holds the lease.
  // The lease keeps other replicas away; this keeps a second thread of the same replica (which
  // would share the lease) away. Applying a relay result takes no lease: the saga's revision
  // fences its one write instead.
  std::map<std::string, bool> in_flight_ ABSL_GUARDED_BY(mu_);
  // Sagas whose lease this replica failed to release.
  std::set<std::string> unreleased_ ABSL_GUARDED_BY(mu_);
  const EngineMetrics metrics_;
};

}  // namespace fxmesh::coordinator
