// A SagaStore assembled from one implementation of each part, passing every call to the part that
// owns it; Migrate is left to the subclass. The SOCI store is its four parts over one database; a
// decorator (failpoints/forwarding_saga_store.h) is another store given as all four parts.
// Thread-safe when the parts are; the parts must outlive it.
#pragma once

#include "coordinator/saga_store.h"

namespace fxmesh::coordinator {

class ComposedSagaStore : public SagaStore {
 public:
  ComposedSagaStore(SagaRepository& sagas, OutboxStore& outbox, OperatorStore& operators,
                    RetentionStore& retention)
      : sagas_(sagas), outbox_(outbox), operators_(operators), retention_(retention) {}

  // SagaRepository.
  absl::Status InsertQuote(const v1::Quote& quote) override { return sagas_.InsertQuote(quote); }
  absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) override {
    return sagas_.GetQuote(quote_id);
  }
  absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) override {
    return sagas_.CreateSaga(request, now);
  }
  absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) override {
    return sagas_.GetSaga(saga_id);
  }
  absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                       absl::string_view key) override {
    return sagas_.GetSagaByKey(customer, key);
  }
  absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                  std::vector<int64_t>* sequences) override {
    return sagas_.ListSagas(filter, sequences);
  }
  absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) override {
    return sagas_.ListSteps(saga_id);
  }
  absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() override {
    return sagas_.CountSagasByState();
  }
  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override {
    return sagas_.SaveSaga(saga, expected_state, owner, lease_until, step, messages, now);
  }
  absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner, absl::Time now,
                                                         absl::Time lease_until,
                                                         int limit) override {
    return sagas_.ClaimDueSagas(owner, now, lease_until, limit);
  }
  absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    return sagas_.ClaimSaga(saga_id, owner, now, lease_until);
  }
  absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) override {
    return sagas_.ReleaseSaga(saga_id, owner);
  }
  absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) override {
    return sagas_.ReleaseLeasesOf(owner);
  }
  absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) override {
    return sagas_.ScheduleSaga(saga_id, at);
  }

  // OutboxStore.
  absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                              int limit) override {
    return outbox_.ListUnsentOutbox(after_id, limit);
  }
  absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) override {
    return outbox_.MarkOutboxSent(outbox_ids, now);
  }
  absl::StatusOr<int64_t> CountUnsentOutbox() override { return outbox_.CountUnsentOutbox(); }
  absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    return outbox_.ClaimRole(role, owner, now, lease_until);
  }

  // OperatorStore.
  absl::Status SetParticipantPaused(const v1::Participant& participant) override {
    return operators_.SetParticipantPaused(participant);
  }
  absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() override {
    return operators_.ListPausedParticipants();
  }
  absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) override {
    return operators_.InsertResolution(resolution);
  }
  absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) override {
    return operators_.GetResolution(resolution_id);
  }
  absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(absl::string_view saga_id) override {
    return operators_.ListResolutions(saga_id);
  }
  absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                        const v1::Saga& saga, v1::SagaState expected_state,
                                        absl::string_view owner, absl::Time lease_until,
                                        const StepRecord& step, absl::Time now) override {
    return operators_.ApproveResolutionAndSave(resolution_id, approver, saga, expected_state, owner,
                                               lease_until, step, now);
  }
  absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) override {
    return operators_.InsertDeadLetter(dead_letter);
  }
  absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) override {
    return operators_.GetDeadLetter(dead_letter_id);
  }
  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                              bool include_replayed,
                                                              int64_t after_id,
                                                              int limit) override {
    return operators_.ListDeadLetters(saga_id, include_replayed, after_id, limit);
  }
  absl::StatusOr<int64_t> CountPendingDeadLetters() override {
    return operators_.CountPendingDeadLetters();
  }
  absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                absl::string_view reason, const OutboxMessage& command,
                                absl::Time now) override {
    return operators_.ReplayDeadLetter(dead_letter_id, operator_name, reason, command, now);
  }
  absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id, absl::string_view operator_name,
                                          absl::string_view reason, absl::Time now) override {
    return operators_.ProposeDeadLetterDismissal(dead_letter_id, operator_name, reason, now);
  }
  absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id, absl::string_view approver,
                                          absl::Time now) override {
    return operators_.ApproveDeadLetterDismissal(dead_letter_id, approver, now);
  }
  absl::Status AppendAudit(const v1::AuditEntry& entry) override {
    return operators_.AppendAudit(entry);
  }
  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id, int64_t after_id,
                                                        int limit) override {
    return operators_.ListAudit(saga_id, after_id, limit);
  }

  // RetentionStore.
  absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) override {
    return retention_.PruneTerminalSagas(finished_before, limit);
  }
  absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) override {
    return retention_.PruneQuotes(expired_before, limit);
  }
  absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) override {
    return retention_.PruneSentOutbox(sent_before, limit);
  }
  absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) override {
    return retention_.PruneReplayedDeadLetters(replayed_before, limit);
  }

 private:
  SagaRepository& sagas_;
  OutboxStore& outbox_;
  OperatorStore& operators_;
  RetentionStore& retention_;
};

}  // namespace fxmesh::coordinator
