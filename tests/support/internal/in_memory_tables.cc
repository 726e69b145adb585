#include "tests/support/internal/in_memory_tables.h"

#include <google/protobuf/util/time_util.h>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "coordinator/saga_event.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::testing::internal {

using google::protobuf::util::TimeUtil;

int64_t Micros(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::TimestampToMicroseconds(timestamp);
}

google::protobuf::Timestamp TimestampFromMicros(int64_t micros) {
  return TimeUtil::MicrosecondsToTimestamp(micros);
}

bool IsActive(v1::SagaState state) {
  return state == v1::SAGA_STATE_CREATED || state == v1::SAGA_STATE_TRYING ||
         state == v1::SAGA_STATE_CONFIRMING || state == v1::SAGA_STATE_CANCELLING;
}

bool Full(size_t count, int limit) { return limit >= 0 && count >= static_cast<size_t>(limit); }

SagaRow* InMemoryTables::FindSaga(absl::string_view saga_id) {
  auto sequence = saga_sequences.find(std::string(saga_id));
  return sequence == saga_sequences.end() ? nullptr : &sagas.at(sequence->second);
}

absl::StatusOr<v1::Saga> InMemoryTables::ReadSaga(const SagaRow& row) {
  // The SOCI store cannot read a row without branches back either: such a saga would look settled.
  if (row.saga.branches().empty()) {
    return absl::DataLossError(
        absl::StrCat("saga ", row.saga.saga_id(), ": its stored row has no branches"));
  }
  return row.saga;
}

absl::Status InMemoryTables::CheckSagaWrite(const v1::Saga& saga, v1::SagaState expected_state,
                                            absl::string_view owner, absl::Time now) {
  const SagaRow* row = FindSaga(saga.saga_id());
  const bool fenced_out =
      row == nullptr || row->saga.state() != expected_state ||
      row->saga.revision() != saga.revision() ||
      (row->lease_owner != owner && row->lease_until_us >= absl::ToUnixMicros(now));
  if (!fenced_out) return absl::OkStatus();
  return StaleReadError(absl::StrCat("saga ", saga.saga_id(), " changed since revision ",
                                     saga.revision(), " was read, left state ",
                                     coordinator::StateName(expected_state),
                                     ", or is leased to another driver; read it again"));
}

void InMemoryTables::ApplySagaWrite(const v1::Saga& saga, v1::SagaState expected_state,
                                    absl::string_view owner, absl::Time lease_until,
                                    const std::optional<StepRecord>& step, absl::Time now) {
  SagaRow& row = *FindSaga(saga.saga_id());
  const bool keeps_lease = lease_until > now;
  v1::Saga& stored = row.saga;
  stored.set_state(saga.state());
  stored.set_failure_reason(saga.failure_reason());
  stored.set_failure_detail(saga.failure_detail());
  stored.set_attempt(saga.attempt());
  *stored.mutable_next_attempt_at() = TimestampFromMicros(Micros(saga.next_attempt_at()));
  *stored.mutable_branches() = saga.branches();
  *stored.mutable_updated_at() = TimestampFromMicros(absl::ToUnixMicros(now));
  stored.set_revision(stored.revision() + 1);
  row.lease_owner = keeps_lease ? std::string(owner) : "";
  row.lease_until_us = keeps_lease ? absl::ToUnixMicros(lease_until) : 0;
  if (saga.state() == v1::SAGA_STATE_CANCELLING && expected_state != v1::SAGA_STATE_CANCELLING &&
      !row.limit_released) {
    daily_usage[{stored.customer_id(), row.limit_day}] -= row.limit_krw_minor;
    row.limit_released = true;
  }
  if (step) InsertStep(saga, *step, saga.attempt(), now);
}

void InMemoryTables::InsertStep(const v1::Saga& saga, const StepRecord& step, int attempt,
                                absl::Time at) {
  v1::Step row;
  row.set_step_id(++last_step_id);
  *row.mutable_at() = TimestampFromMicros(absl::ToUnixMicros(at));
  row.set_from_state(step.from_state);
  row.set_to_state(step.to_state);
  row.set_attempt(attempt);
  row.set_detail(step.detail);
  steps[row.step_id()] = {saga.saga_id(), row};
  if (step.from_state == step.to_state) return;
  InsertOutbox(coordinator::SagaEventMessage(saga, step, attempt, at));
}

void InMemoryTables::InsertOutbox(const OutboxMessage& message) {
  OutboxRow& row = outbox[++last_outbox_id];
  row.message = message;
  row.message.outbox_id = last_outbox_id;
}

void InMemoryTables::InsertAudit(absl::string_view operator_name, absl::string_view action,
                                 absl::string_view saga_id, absl::string_view detail,
                                 int64_t at_us) {
  v1::AuditEntry& entry = audit[++last_audit_id];
  entry.set_audit_id(last_audit_id);
  *entry.mutable_at() = TimestampFromMicros(at_us);
  entry.set_operator_(std::string(operator_name));
  entry.set_action(std::string(action));
  entry.set_saga_id(std::string(saga_id));
  entry.set_detail(std::string(detail));
}

}  // namespace fxmesh::testing::internal
