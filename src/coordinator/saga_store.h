// The coordinator's storage seam: quotes, sagas with their step log, daily limits, participants,
// resolutions and the audit log. SagaEngine holds the rules; a SagaStore reads and writes rows.
// Implementations are thread-safe and make each method one local transaction.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

// A step-log row to append with a saga write.
struct StepRecord {
  v1::SagaState from_state = v1::SAGA_STATE_UNSPECIFIED;
  v1::SagaState to_state = v1::SAGA_STATE_UNSPECIFIED;
  std::string detail;
};

struct NewSaga {
  v1::Saga saga;                      // State CREATED, with its branches.
  std::string request_digest;         // Identifies the request content behind the idempotency key.
  std::string limit_day;              // "2026-11-22": the customer's day the limit counts against.
  int64_t limit_krw_minor = 0;        // This exchange's KRW equivalent.
  int64_t daily_limit_krw_minor = 0;  // The customer's limit per day.
};

struct CreateResult {
  enum class Outcome {
    kCreated,
    kExisting,       // The key was used before for the same request: `saga` is that saga.
    kKeyConflict,    // The key was used before for a different request: `saga` is that saga.
    kLimitExceeded,  // Nothing written; `limit_used_krw_minor` is today's use so far.
    kQuoteUsed,      // Nothing written: another exchange used the quote (or it is gone).
  };
  Outcome outcome = Outcome::kCreated;
  v1::Saga saga;
  int64_t limit_used_krw_minor = 0;
};

struct SagaFilter {
  v1::SagaState state = v1::SAGA_STATE_UNSPECIFIED;
  std::string customer_id;
  std::string participant;
  std::optional<absl::Time> created_before;
  bool active_only = false;
  int64_t after_sequence = 0;  // Paging: sagas are listed in creation order.
  int limit = 100;
};

// What one SagaStore::PruneTerminalSagas call deleted.
struct PrunedSagas {
  int sagas = 0;
  int steps = 0;
  int resolutions = 0;
};

// A message waiting in the outbox to be published.
struct OutboxMessage {
  int64_t outbox_id = 0;
  std::string topic;
  std::string key;
  std::string payload;      // proto3 JSON.
  std::string traceparent;  // W3C trace context of the saga.
};

// The role of the one replica that publishes the outbox.
inline constexpr absl::string_view kOutboxPublisherRole = "outbox_publisher";

class SagaStore {
 public:
  virtual ~SagaStore() = default;

  virtual absl::Status Migrate() = 0;

  virtual absl::Status InsertQuote(const v1::Quote& quote) = 0;
  virtual absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) = 0;

  // In one transaction: finds the idempotency key, else marks the quote used by this saga
  // (kQuoteUsed if another saga used it), reserves the daily limit and inserts the saga with a
  // first step-log row.
  virtual absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) = 0;

  virtual absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) = 0;
  // Idempotency keys are each customer's own: `customer`'s saga for `key`, never another's.
  virtual absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                               absl::string_view key) = 0;
  // Sagas in creation order; `sequence` receives each one's paging position.
  virtual absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                          std::vector<int64_t>* sequences) = 0;
  virtual absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) = 0;
  // How many sagas are in each state (states with none are left out).
  virtual absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() = 0;

  // Writes `saga` (state, branches, failure, attempt, next attempt) and appends `step`, provided
  // the stored saga is still at `saga.revision()` (nobody wrote since it was read) and in
  // `expected_state`, and no other driver holds a live lease on it; queues `messages` (branch
  // commands) in the outbox. With `lease_until` after `now`, `owner` holds the lease until then;
  // otherwise the saga is left unleased (applying a relay result takes no lease: the revision
  // fences it). Moving into CANCELLING releases the saga's daily-limit reservation, in the same
  // transaction. The stored revision goes up by one. ABORTED when the revision, the state or the
  // lease do not match: another writer came first (or the saga moved on), and this one must read
  // again or stop.
  virtual absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state,
                                absl::string_view owner, absl::Time lease_until,
                                const std::optional<StepRecord>& step,
                                const std::vector<OutboxMessage>& messages, absl::Time now) = 0;

  // Outbox: every transition (and every saga's creation) also appends a SagaEvent message in the
  // same transaction. Unsent messages, oldest first, after `after_id`.
  virtual absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                                      int limit) = 0;
  virtual absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) = 0;
  virtual absl::StatusOr<int64_t> CountUnsentOutbox() = 0;
  // Takes or renews a role only one replica may hold at a time (kOutboxPublisherRole) for `owner`
  // until `lease_until`, if it is free, expired at `now`, or already `owner`'s. Returns whether
  // `owner` holds it now.
  virtual absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner,
                                         absl::Time now, absl::Time lease_until) = 0;
  // Deletes up to `limit` rows sent before `sent_before`; never an unsent row. Returns how many.
  virtual absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) = 0;

  // Retention, each call one transaction. Deletes up to `limit` COMPLETED or CANCELLED sagas last
  // written before `finished_before`, each with its step log, its resolutions and its idempotency
  // key; never a non-terminal saga, nor one with a dead letter not yet replayed. Audit rows stay
  // (the database refuses to delete them; they name the saga by id only).
  virtual absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) = 0;
  // Deletes up to `limit` quotes that expired before `expired_before` and that no non-terminal
  // saga names. Returns how many.
  virtual absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) = 0;
  // Deletes up to `limit` dead letters replayed before `replayed_before`; never one still waiting
  // for an operator. Returns how many.
  virtual absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) = 0;

  // Leases up to `limit` non-terminal sagas due at `now` (next attempt passed, lease free, expired
  // or already `owner`'s, as after a restart) to `owner` until `lease_until`, oldest due first;
  // returns their ids. Replicas never get the same saga while a lease lasts (FOR UPDATE SKIP LOCKED
  // on PostgreSQL).
  virtual absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner,
                                                                 absl::Time now,
                                                                 absl::Time lease_until,
                                                                 int limit) = 0;
  // Leases one saga to `owner` if its lease is free, expired or already `owner`'s.
  virtual absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner,
                                         absl::Time now, absl::Time lease_until) = 0;
  virtual absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) = 0;
  // Frees every lease `owner` holds; returns how many. A replica calls it when it starts, before it
  // drives anything: what it held when it crashed is free for the other replicas at once, instead
  // of holding up their work on those sagas until the leases expire. Owner ids are unique per
  // replica (ClaimSaga already lets an owner take back its own lease).
  virtual absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) = 0;
  // Makes a non-terminal saga due at `at` (the operator's "retry now").
  virtual absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) = 0;

  virtual absl::Status SetParticipantPaused(const v1::Participant& participant) = 0;
  virtual absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() = 0;

  virtual absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) = 0;
  virtual absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) = 0;
  virtual absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(
      absl::string_view saga_id) = 0;
  // In one transaction: marks the resolution approved (FAILED_PRECONDITION unless it is still
  // PROPOSED), writes the audit row, and saves `saga` as SaveSaga does (revision included). Either
  // all of it happens or none, so an approval is never recorded without its effect.
  virtual absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                                const v1::Saga& saga, v1::SagaState expected_state,
                                                absl::string_view owner, absl::Time lease_until,
                                                const StepRecord& step, absl::Time now) = 0;

  // Dead letters: the messages of fxmesh.branch.dlq, recorded once per position in the topic (a
  // redelivered message writes nothing). Returns whether `dead_letter` was new; its id, replay
  // fields and parsed command are ignored.
  virtual absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) = 0;
  virtual absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) = 0;
  // In id order after `after_id`; `saga_id` empty means every saga's.
  virtual absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                                      bool include_replayed,
                                                                      int64_t after_id,
                                                                      int limit) = 0;
  // Dead letters neither replayed nor dismissed: each still needs an operator.
  virtual absl::StatusOr<int64_t> CountPendingDeadLetters() = 0;
  // In one transaction: marks the dead letter replayed by `operator_name` (FAILED_PRECONDITION if
  // it already was), appends the audit row, and queues `command` in the outbox.
  virtual absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                        absl::string_view reason, const OutboxMessage& command,
                                        absl::Time now) = 0;

  // Dismissal, maker-checker. Propose: records who and why on a dead letter neither replayed,
  // dismissed nor already proposed, with an audit row. Approve: marks it dismissed by `approver`
  // (who must differ from the proposer) if a dismissal was proposed and it is still pending, with
  // an audit row. FAILED_PRECONDITION otherwise; NOT_FOUND for an unknown id.
  virtual absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id,
                                                  absl::string_view operator_name,
                                                  absl::string_view reason, absl::Time now) = 0;
  virtual absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id,
                                                  absl::string_view approver, absl::Time now) = 0;

  // Appends to the audit log, whose rows the database itself refuses to update or delete.
  virtual absl::Status AppendAudit(const v1::AuditEntry& entry) = 0;
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id,
                                                                int64_t after_id, int limit) = 0;
};

// The SOCI-backed store over `database`, which must outlive it.
std::unique_ptr<SagaStore> NewSociSagaStore(Database& database);

}  // namespace fxmesh::coordinator
