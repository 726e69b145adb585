// The rows of the in-memory SagaStore (tests/support/in_memory_saga_store.h), shared by its four
// parts the way the SOCI store's parts share one database: one mutex guards every table, and a
// part's method holds it for its whole call, which makes each call one transaction. What a row
// keeps is what the SQL schema keeps (timestamps to the microsecond, a saga's stored columns only),
// so what reads back is what the SOCI store would read back.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/operator_store.h"
#include "coordinator/outbox_store.h"
#include "coordinator/retention_store.h"
#include "coordinator/saga_repository.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::testing::internal {

using coordinator::OutboxMessage;
using coordinator::StepRecord;

// Timestamps are kept as microseconds since the Unix epoch, as the SQL columns are.
int64_t Micros(const google::protobuf::Timestamp& timestamp);
google::protobuf::Timestamp TimestampFromMicros(int64_t micros);

// The states the SQL names as running: `state IN (1, 2, 3, 5)`.
bool IsActive(v1::SagaState state);

// Whether `count` rows fill a SQL LIMIT of `limit` (a negative LIMIT is none, as on SQLite).
bool Full(size_t count, int limit);

struct QuoteRow {
  v1::Quote quote;  // The stored fields only.
  std::string used_by_saga_id;
};

struct SagaRow {
  int64_t sequence = 0;
  v1::Saga saga;           // The stored columns only, as they read back (the customer's own key).
  std::string stored_key;  // "<customer>/<key>", unique.
  std::string request_digest;
  std::vector<std::string> participants;  // As the saga was created.
  std::string lease_owner;
  int64_t lease_until_us = 0;
  std::string limit_day;
  int64_t limit_krw_minor = 0;
  bool limit_released = false;
};

struct OutboxRow {
  OutboxMessage message;
  int64_t sent_at_us = 0;  // 0 while unsent.
};

struct DeadLetterRow {
  v1::DeadLetter inserted;  // As inserted: no id, replay or dismissal fields, no command.
  int64_t replayed_at_us = 0;
  std::string replayed_by;
  std::string dismissal_proposed_by;
  std::string dismissal_reason;
  std::string dismissed_by;
  int64_t dismissed_at_us = 0;
};

struct RoleRow {
  std::string owner;
  int64_t lease_until_us = 0;
};

// Every table of the coordinator's schema. Ids start at 1 and only grow, like the SQL ones.
struct InMemoryTables {
  absl::Mutex mu;
  std::map<std::string, QuoteRow> quotes ABSL_GUARDED_BY(mu);
  std::map<int64_t, SagaRow> sagas ABSL_GUARDED_BY(mu);  // By sequence: creation order.
  std::map<std::string, int64_t> saga_sequences ABSL_GUARDED_BY(mu);  // By saga id.
  std::map<std::string, int64_t> saga_keys ABSL_GUARDED_BY(mu);       // By stored key.
  int64_t last_sequence ABSL_GUARDED_BY(mu) = 0;
  std::map<std::pair<std::string, std::string>, int64_t> daily_usage ABSL_GUARDED_BY(mu);
  std::map<int64_t, std::pair<std::string, v1::Step>> steps ABSL_GUARDED_BY(mu);  // By step id.
  int64_t last_step_id ABSL_GUARDED_BY(mu) = 0;
  std::map<int64_t, OutboxRow> outbox ABSL_GUARDED_BY(mu);
  int64_t last_outbox_id ABSL_GUARDED_BY(mu) = 0;
  std::map<std::string, RoleRow> roles ABSL_GUARDED_BY(mu) = {
      {std::string(coordinator::kOutboxPublisherRole), RoleRow{}}};
  std::map<std::string, v1::Participant> participants ABSL_GUARDED_BY(mu);
  std::map<int64_t, v1::Resolution> resolutions ABSL_GUARDED_BY(mu);
  int64_t last_resolution_id ABSL_GUARDED_BY(mu) = 0;
  std::map<int64_t, DeadLetterRow> dead_letters ABSL_GUARDED_BY(mu);
  int64_t last_dead_letter_id ABSL_GUARDED_BY(mu) = 0;
  std::map<int64_t, v1::AuditEntry> audit ABSL_GUARDED_BY(mu);
  int64_t last_audit_id ABSL_GUARDED_BY(mu) = 0;

  // The saga's row, or null.
  SagaRow* FindSaga(absl::string_view saga_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The saga as it reads back: DATA_LOSS for one stored without branches.
  static absl::StatusOr<v1::Saga> ReadSaga(const SagaRow& row);

  // The fence of SagaRepository::SaveSaga alone (revision, expected state, lease): ok, or the
  // StaleReadError the SOCI store answers. Nothing changes.
  absl::Status CheckSagaWrite(const v1::Saga& saga, v1::SagaState expected_state,
                              absl::string_view owner, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // The write itself, once CheckSagaWrite passed: the saga's columns, the lease, the revision, the
  // daily-limit release on entering CANCELLING and `step` with its event.
  void ApplySagaWrite(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                      absl::Time lease_until, const std::optional<StepRecord>& step, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Appends the step-log row and, for a transition, its SagaEvent to the outbox.
  void InsertStep(const v1::Saga& saga, const StepRecord& step, int attempt, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void InsertOutbox(const OutboxMessage& message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void InsertAudit(absl::string_view operator_name, absl::string_view action,
                   absl::string_view saga_id, absl::string_view detail, int64_t at_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
};

// The four parts over `tables`, which must outlive them.
std::unique_ptr<coordinator::SagaRepository> NewInMemorySagaRepository(InMemoryTables& tables);
std::unique_ptr<coordinator::OutboxStore> NewInMemoryOutboxStore(InMemoryTables& tables);
std::unique_ptr<coordinator::OperatorStore> NewInMemoryOperatorStore(InMemoryTables& tables);
std::unique_ptr<coordinator::RetentionStore> NewInMemoryRetentionStore(InMemoryTables& tables);

}  // namespace fxmesh::testing::internal
