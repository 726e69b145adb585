// The sagas themselves: quotes, creation (idempotency key, quote used once, daily limit), reads of
// sagas and their step log, fenced writes, and the leases that give each saga one driver at a time.
// Every transition a write records also queues its SagaEvent in the outbox (OutboxStore), in the
// same transaction. Implementations are thread-safe and make each method one local transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/outbox_store.h"
#include "fxmesh/v1/exchange.pb.h"
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
  // Stored already leased to this driver until `lease_until`, when the replica that creates the
  // saga drives it at once (SagaDriver::DriveCreated): no claim before its first step. Empty: the
  // saga is stored unleased.
  std::string lease_owner;
  absl::Time lease_until = absl::InfinitePast();
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

class SagaRepository {
 public:
  virtual ~SagaRepository() = default;

  virtual absl::Status InsertQuote(const v1::Quote& quote) = 0;
  virtual absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) = 0;

  // In one transaction: finds the idempotency key, else marks the quote used by this saga
  // (kQuoteUsed if another saga used it), reserves the daily limit and inserts the saga with a
  // first step-log row (and its SagaEvent in the outbox).
  virtual absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) = 0;

  // A saga whose stored branches cannot be read (or that has none) is DATA_LOSS, never a saga
  // without branches, which would look settled and move on with no ledger call.
  virtual absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) = 0;
  // Idempotency keys are each customer's own: `customer`'s saga for `key`, never another's.
  virtual absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                               absl::string_view key) = 0;
  // Sagas in creation order; `sequence` receives each one's paging position. A saga that cannot
  // be read is logged and left out, so it does not hide the others.
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
  // transaction. The stored revision goes up by one. ABORTED (StaleReadError, common/db.h) when
  // the revision, the state or the lease do not match: another writer came first (or the saga
  // moved on), and this one must read again or stop.
  virtual absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state,
                                absl::string_view owner, absl::Time lease_until,
                                const std::optional<StepRecord>& step,
                                const std::vector<OutboxMessage>& messages, absl::Time now) = 0;

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
  // Makes a non-terminal saga due at `at` (the operator's "retry now"). A write like SaveSaga's:
  // the revision goes up by one, so a writer holding the saga as it was cannot undo it.
  virtual absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) = 0;
};

}  // namespace fxmesh::coordinator
