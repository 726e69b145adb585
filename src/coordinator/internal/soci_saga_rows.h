// What the SOCI store's parts share: reading a saga row, and the writes that one part's transaction
// makes in another part's tables (a saga write appends its step and its outbox messages; an
// operator action appends its audit row). Each function runs inside the caller's transaction on
// `sql` and lets SOCI exceptions through to Database, which turns them into a Status.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/soci_util.h"
#include "coordinator/outbox_store.h"
#include "coordinator/saga_repository.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator::internal {

// Timestamps are stored as microseconds since the Unix epoch.
long long Micros(const google::protobuf::Timestamp& timestamp);

// The columns SagaFromRow reads, in its order.
inline constexpr absl::string_view kSagaColumns =
    "saga_id, idempotency_key, customer_id, quote_id, source_account_id, target_account_id, "
    "sell_currency, sell_minor, buy_currency, buy_minor, rate_micros, state, failure_reason, "
    "failure_detail, attempt, next_attempt_at_us, try_deadline_us, created_at_us, updated_at_us, "
    "branches, sequence, revision";

// A saga row of kSagaColumns; `sequence`, if not null, receives its paging position. DATA_LOSS for
// branches that do not parse or are missing.
absl::StatusOr<v1::Saga> SagaFromRow(const soci::row& row, int64_t* sequence);

// The saga whose `column` (saga_id or idempotency_key) holds `value`, if any.
absl::StatusOr<std::optional<v1::Saga>> ReadSaga(soci::session& sql, absl::string_view column,
                                                 absl::string_view value);

// Idempotency keys are each customer's own: the column holds "<customer>/<key>".
std::string StoredKey(absl::string_view customer, absl::string_view key);

// The branches column: the saga's branches alone, as proto3 JSON.
std::string BranchesToJson(const v1::Saga& saga);

// Appends the step-log row and, for a transition, its SagaEvent to the outbox.
void InsertStep(soci::session& sql, const v1::Saga& saga, const StepRecord& step, int attempt,
                long long at_us);
void InsertOutbox(soci::session& sql, const OutboxMessage& message, long long at_us);
void InsertAudit(soci::session& sql, const std::string& operator_name, const std::string& action,
                 const std::string& saga_id, const std::string& detail, long long at_us);

// The fenced saga update of SagaRepository::SaveSaga, without the outbox messages: StaleReadError
// when the revision, the state or the lease do not match. Also releases the daily limit on entering
// CANCELLING and appends `step`.
absl::Status WriteSaga(soci::session& sql, const v1::Saga& saga, v1::SagaState expected_state,
                       absl::string_view owner, absl::Time lease_until,
                       const std::optional<StepRecord>& step, absl::Time now);

}  // namespace fxmesh::coordinator::internal
