// A SagaStore that passes every call to another one: the base of decorators that change one or
// two calls (a failpoint, a fault) and leave the rest as they are.
#pragma once

#include "coordinator/saga_store.h"

namespace fxmesh::coordinator {

class ForwardingSagaStore : public SagaStore {
 public:
  // `inner` must outlive this.
  explicit ForwardingSagaStore(SagaStore& inner) : inner_(inner) {}

  absl::Status Migrate() override { return inner_.Migrate(); }
  absl::Status InsertQuote(const v1::Quote& quote) override { return inner_.InsertQuote(quote); }
  absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) override {
    return inner_.GetQuote(quote_id);
  }
  absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) override {
    return inner_.CreateSaga(request, now);
  }
  absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) override {
    return inner_.GetSaga(saga_id);
  }
  absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                       absl::string_view key) override {
    return inner_.GetSagaByKey(customer, key);
  }
  absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                  std::vector<int64_t>* sequences) override {
    return inner_.ListSagas(filter, sequences);
  }
  absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) override {
    return inner_.ListSteps(saga_id);
  }
  absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() override {
    return inner_.CountSagasByState();
  }
  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override {
    return inner_.SaveSaga(saga, expected_state, owner, lease_until, step, messages, now);
  }
  absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                              int limit) override {
    return inner_.ListUnsentOutbox(after_id, limit);
  }
  absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) override {
    return inner_.MarkOutboxSent(outbox_ids, now);
  }
  absl::StatusOr<int64_t> CountUnsentOutbox() override { return inner_.CountUnsentOutbox(); }
  absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    return inner_.ClaimRole(role, owner, now, lease_until);
  }
  absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) override {
    return inner_.PruneSentOutbox(sent_before, limit);
  }
  absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) override {
    return inner_.PruneTerminalSagas(finished_before, limit);
  }
  absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) override {
    return inner_.PruneQuotes(expired_before, limit);
  }
  absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) override {
    return inner_.PruneReplayedDeadLetters(replayed_before, limit);
  }
  absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner, absl::Time now,
                                                         absl::Time lease_until,
                                                         int limit) override {
    return inner_.ClaimDueSagas(owner, now, lease_until, limit);
  }
  absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    return inner_.ClaimSaga(saga_id, owner, now, lease_until);
  }
  absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) override {
    return inner_.ReleaseSaga(saga_id, owner);
  }
  absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) override {
    return inner_.ReleaseLeasesOf(owner);
  }
  absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) override {
    return inner_.ScheduleSaga(saga_id, at);
  }
  absl::Status SetParticipantPaused(const v1::Participant& participant) override {
    return inner_.SetParticipantPaused(participant);
  }
  absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() override {
    return inner_.ListPausedParticipants();
  }
  absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) override {
    return inner_.InsertResolution(resolution);
  }
  absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) override {
    return inner_.GetResolution(resolution_id);
  }
  absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(absl::string_view saga_id) override {
    return inner_.ListResolutions(saga_id);
  }
  absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                        const v1::Saga& saga, v1::SagaState expected_state,
                                        absl::string_view owner, absl::Time lease_until,
                                        const StepRecord& step, absl::Time now) override {
    return inner_.ApproveResolutionAndSave(resolution_id, approver, saga, expected_state, owner,
                                           lease_until, step, now);
  }
  absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) override {
    return inner_.InsertDeadLetter(dead_letter);
  }
  absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) override {
    return inner_.GetDeadLetter(dead_letter_id);
  }
  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                              bool include_replayed,
                                                              int64_t after_id,
                                                              int limit) override {
    return inner_.ListDeadLetters(saga_id, include_replayed, after_id, limit);
  }
  absl::StatusOr<int64_t> CountPendingDeadLetters() override {
    return inner_.CountPendingDeadLetters();
  }
  absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                absl::string_view reason, const OutboxMessage& command,
                                absl::Time now) override {
    return inner_.ReplayDeadLetter(dead_letter_id, operator_name, reason, command, now);
  }
  absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id, absl::string_view operator_name,
                                          absl::string_view reason, absl::Time now) override {
    return inner_.ProposeDeadLetterDismissal(dead_letter_id, operator_name, reason, now);
  }
  absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id, absl::string_view approver,
                                          absl::Time now) override {
    return inner_.ApproveDeadLetterDismissal(dead_letter_id, approver, now);
  }
  absl::Status AppendAudit(const v1::AuditEntry& entry) override {
    return inner_.AppendAudit(entry);
  }
  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id, int64_t after_id,
                                                        int limit) override {
    return inner_.ListAudit(saga_id, after_id, limit);
  }

 protected:
  SagaStore& inner() { return inner_; }

 private:
  SagaStore& inner_;
};

}  // namespace fxmesh::coordinator
