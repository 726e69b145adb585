// The coordinator's tables on SQLite or PostgreSQL via SOCI. Every SOCI exception is caught here.

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/soci_util.h"
#include "common/status_macros.h"
#include "common/tracing.h"
#include "coordinator/internal/soci_saga_pruning.h"
#include "coordinator/saga_state_machine.h"
#include "coordinator/saga_store.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::string_view kSchemaV1 = R"sql(
CREATE TABLE quotes (
  quote_id TEXT PRIMARY KEY,
  sell_currency TEXT NOT NULL,
  sell_minor BIGINT NOT NULL,
  buy_currency TEXT NOT NULL,
  buy_minor BIGINT NOT NULL,
  rate_micros BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  expires_at_us BIGINT NOT NULL);
CREATE TABLE sagas (
  sequence ${ID_PK},
  saga_id TEXT NOT NULL UNIQUE,
  idempotency_key TEXT NOT NULL UNIQUE,
  request_digest TEXT NOT NULL,
  customer_id TEXT NOT NULL,
  quote_id TEXT NOT NULL,
  source_account_id TEXT NOT NULL,
  target_account_id TEXT NOT NULL,
  sell_currency TEXT NOT NULL,
  sell_minor BIGINT NOT NULL,
  buy_currency TEXT NOT NULL,
  buy_minor BIGINT NOT NULL,
  rate_micros BIGINT NOT NULL,
  state INTEGER NOT NULL,
  failure_reason TEXT NOT NULL,
  failure_detail TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  next_attempt_at_us BIGINT NOT NULL,
  try_deadline_us BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  lease_owner TEXT NOT NULL,
  lease_until_us BIGINT NOT NULL,
  participants TEXT NOT NULL,
  branches TEXT NOT NULL,
  limit_day TEXT NOT NULL,
  limit_krw_minor BIGINT NOT NULL,
  limit_released INTEGER NOT NULL);
CREATE INDEX sagas_due ON sagas (state, next_attempt_at_us);
CREATE INDEX sagas_by_customer ON sagas (customer_id, sequence);
CREATE TABLE saga_steps (
  step_id ${ID_PK},
  saga_id TEXT NOT NULL,
  at_us BIGINT NOT NULL,
  from_state INTEGER NOT NULL,
  to_state INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX saga_steps_by_saga ON saga_steps (saga_id, step_id);
CREATE TABLE daily_usage (
  customer_id TEXT NOT NULL,
  day TEXT NOT NULL,
  used_krw_minor BIGINT NOT NULL CHECK (used_krw_minor >= 0),
  PRIMARY KEY (customer_id, day));
CREATE TABLE participants (
  participant TEXT PRIMARY KEY,
  paused INTEGER NOT NULL,
  paused_by TEXT NOT NULL,
  pause_reason TEXT NOT NULL,
  paused_at_us BIGINT NOT NULL);
CREATE TABLE resolutions (
  resolution_id ${ID_PK},
  saga_id TEXT NOT NULL,
  action INTEGER NOT NULL,
  reason_code TEXT NOT NULL,
  note TEXT NOT NULL,
  state INTEGER NOT NULL,
  proposed_by TEXT NOT NULL,
  proposed_at_us BIGINT NOT NULL,
  approved_by TEXT NOT NULL,
  approved_at_us BIGINT NOT NULL);
CREATE TABLE audit_log (
  audit_id ${ID_PK},
  at_us BIGINT NOT NULL,
  operator TEXT NOT NULL,
  action TEXT NOT NULL,
  saga_id TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql";

// The audit log is append-only, enforced by the database itself so no code path can change it.
constexpr absl::string_view kAuditTriggersSqlite = R"sql(
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit rows are never changed'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit rows are never deleted'); END;
)sql";
constexpr absl::string_view kAuditTriggersPostgres = R"sql(
CREATE FUNCTION fxmesh_audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit rows are never changed or deleted'; END $$;
CREATE TRIGGER audit_log_immutable BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION fxmesh_audit_log_immutable();
)sql";

// The transactional outbox: messages written with the state change they announce.
constexpr absl::string_view kSchemaV2 = R"sql(
CREATE TABLE outbox (
  outbox_id ${ID_PK},
  topic TEXT NOT NULL,
  message_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  traceparent TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  sent_at_us BIGINT NOT NULL);
CREATE INDEX outbox_unsent ON outbox (sent_at_us, outbox_id);
)sql";

// Dead letters, as consumed from fxmesh.branch.dlq: one row per position in the topic.
constexpr absl::string_view kSchemaV3 = R"sql(
CREATE TABLE dead_letters (
  dead_letter_id ${ID_PK},
  saga_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  source_topic TEXT NOT NULL,
  kafka_partition INTEGER NOT NULL,
  kafka_offset BIGINT NOT NULL,
  dead_lettered_at_us BIGINT NOT NULL,
  replayed_at_us BIGINT NOT NULL,
  replayed_by TEXT NOT NULL,
  UNIQUE (kafka_partition, kafka_offset));
CREATE INDEX dead_letters_saga ON dead_letters (saga_id, dead_letter_id);
)sql";

// Dismissal of a dead letter that must not be replayed, maker-checker.
constexpr absl::string_view kSchemaV5 = R"sql(
ALTER TABLE dead_letters ADD COLUMN dismissal_proposed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN dismissal_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN dismissed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE dead_letters ADD COLUMN dismissed_at_us BIGINT NOT NULL DEFAULT 0;
)sql";

constexpr absl::string_view kSchemaV6 = R"sql(
CREATE TABLE replica_roles (
  role TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  lease_until_us BIGINT NOT NULL
);
INSERT INTO replica_roles (role, owner, lease_until_us) VALUES ('outbox_publisher', '', 0);
)sql";

// Quotes bound to the customer who asked, and used by one exchange at most.
constexpr absl::string_view kSchemaV8 = R"sql(
ALTER TABLE quotes ADD COLUMN customer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE quotes ADD COLUMN used_by_saga_id TEXT NOT NULL DEFAULT '';
)sql";

// Optimistic fencing: a relay result is applied without taking the saga's lease.
constexpr absl::string_view kSchemaV7 = R"sql(
ALTER TABLE sagas ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
)sql";

// Idempotency keys scoped to their customer: stored as "<customer>/<key>" (see SagaEngine).
constexpr absl::string_view kSchemaV9 = R"sql(
UPDATE sagas SET idempotency_key = customer_id || '/' || idempotency_key
  WHERE idempotency_key NOT LIKE '%/%';
)sql";

constexpr std::array<Migration, 9> kMigrations = {{
    {1, "quotes, sagas, step log, limits, participants, resolutions, audit", kSchemaV1,
     kAuditTriggersSqlite, kAuditTriggersPostgres},
    {2, "outbox", kSchemaV2},
    {3, "dead letters", kSchemaV3},
    {4, "indexes for retention", internal::kRetentionIndexesSql},
    {5, "dead letter dismissal", kSchemaV5},
    {6, "replica roles: one outbox publisher", kSchemaV6},
    {7, "saga revisions", kSchemaV7},
    {8, "quotes bound to a customer, used once", kSchemaV8},
    {9, "idempotency keys scoped to their customer", kSchemaV9},
}};

constexpr absl::string_view kDeadLetterColumns =
    "dead_letter_id, saga_id, payload, error, attempts, source_topic, kafka_partition,"
    " kafka_offset, dead_lettered_at_us, replayed_at_us, replayed_by, dismissal_proposed_by,"
    " dismissal_reason, dismissed_by, dismissed_at_us";

v1::DeadLetter DeadLetterFromRow(const soci::row& row) {
  v1::DeadLetter dead_letter;
  dead_letter.set_dead_letter_id(RowInt64(row, 0));
  // Rows written before payloads were made printable may hold any bytes.
  dead_letter.set_saga_id(PrintableText(RowString(row, 1), limits::kQuotedTextBytesMax));
  dead_letter.set_payload(PrintableText(RowString(row, 2), limits::kDeadLetterPayloadBytesMax));
  // A payload that is not a BranchCommand (poison) leaves `command` unset.
  v1::BranchCommand command;
  if (ParseProtoJson(dead_letter.payload(), command).ok()) *dead_letter.mutable_command() = command;
  dead_letter.set_error(PrintableText(RowString(row, 3), limits::kQuotedTextBytesMax));
  dead_letter.set_attempts(static_cast<int32_t>(RowInt64(row, 4)));
  dead_letter.set_source_topic(RowString(row, 5));
  dead_letter.set_partition(static_cast<int32_t>(RowInt64(row, 6)));
  dead_letter.set_offset(RowInt64(row, 7));
  *dead_letter.mutable_dead_lettered_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 8));
  if (const int64_t replayed = RowInt64(row, 9); replayed > 0)
    *dead_letter.mutable_replayed_at() = TimeUtil::MicrosecondsToTimestamp(replayed);
  dead_letter.set_replayed_by(RowString(row, 10));
  dead_letter.set_dismissal_proposed_by(RowString(row, 11));
  dead_letter.set_dismissal_reason(RowString(row, 12));
  dead_letter.set_dismissed_by(RowString(row, 13));
  if (const int64_t dismissed = RowInt64(row, 14); dismissed > 0)
    *dead_letter.mutable_dismissed_at() = TimeUtil::MicrosecondsToTimestamp(dismissed);
  return dead_letter;
}

constexpr absl::string_view kSagaColumns =
    "saga_id, idempotency_key, customer_id, quote_id, source_account_id, target_account_id, "
    "sell_currency, sell_minor, buy_currency, buy_minor, rate_micros, state, failure_reason, "
    "failure_detail, attempt, next_attempt_at_us, try_deadline_us, created_at_us, updated_at_us, "
    "branches, sequence, revision";

std::string BranchesToJson(const v1::Saga& saga) {
  v1::Saga branches_only;
  *branches_only.mutable_branches() = saga.branches();
  return ProtoToJson(branches_only);
}

std::string ParticipantsColumn(const v1::Saga& saga) {
  std::vector<std::string> names;
  for (const v1::Branch& branch : saga.branches()) names.push_back(branch.participant());
  return absl::StrCat(",", absl::StrJoin(names, ","), ",");
}

// Idempotency keys are each customer's own: two customers may use the same key, and neither learns
// of the other's. The column holds "<customer>/<key>" ('/' is not a key character); a Saga carries
// the customer's key.
std::string StoredKey(absl::string_view customer, absl::string_view key) {
  return absl::StrCat(customer, "/", key);
}

absl::string_view CustomerKey(absl::string_view stored) {
  const size_t slash = stored.find('/');
  return slash == absl::string_view::npos ? stored : stored.substr(slash + 1);
}

// A saga row. The branches column is read forward-compatibly (fields a newer version added are
// ignored); a column that does not parse at all is DATA_LOSS, never a saga without branches, which
// would look settled and move on with no ledger call.
absl::StatusOr<v1::Saga> SagaFromRow(const soci::row& row, int64_t* sequence) {
  v1::Saga saga;
  saga.set_saga_id(RowString(row, 0));
  saga.set_idempotency_key(std::string(CustomerKey(RowString(row, 1))));
  saga.set_customer_id(RowString(row, 2));
  saga.set_quote_id(RowString(row, 3));
  saga.set_source_account_id(RowString(row, 4));
  saga.set_target_account_id(RowString(row, 5));
  saga.mutable_sell()->set_currency(RowString(row, 6));
  saga.mutable_sell()->set_amount_minor(RowInt64(row, 7));
  saga.mutable_buy()->set_currency(RowString(row, 8));
  saga.mutable_buy()->set_amount_minor(RowInt64(row, 9));
  saga.set_rate_micros(RowInt64(row, 10));
  saga.set_state(static_cast<v1::SagaState>(RowInt64(row, 11)));
  saga.set_failure_reason(RowString(row, 12));
  saga.set_failure_detail(RowString(row, 13));
  saga.set_attempt(static_cast<int32_t>(RowInt64(row, 14)));
  *saga.mutable_next_attempt_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 15));
  *saga.mutable_try_deadline() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 16));
  *saga.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 17));
  *saga.mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 18));
  v1::Saga branches_only;
  if (absl::Status parsed = ParseProtoJson(RowString(row, 19), branches_only); !parsed.ok()) {
    return absl::DataLossError(absl::StrCat(
        "saga ", saga.saga_id(), ": its stored branches cannot be read (", parsed.message(), ")"));
  }
  if (branches_only.branches().empty()) {
    return absl::DataLossError(
        absl::StrCat("saga ", saga.saga_id(), ": its stored row has no branches"));
  }
  *saga.mutable_branches() = branches_only.branches();
  if (sequence != nullptr) *sequence = RowInt64(row, 20);
  saga.set_revision(RowInt64(row, 21));
  return saga;
}

long long Micros(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::TimestampToMicroseconds(timestamp);
}

class SociSagaStore final : public SagaStore {
 public:
  explicit SociSagaStore(Database& database) : database_(database) {}

  absl::Status Migrate() override { return database_.Migrate("coordinator", kMigrations); }

  absl::Status InsertQuote(const v1::Quote& quote) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long sell = quote.sell().amount_minor(), buy = quote.buy().amount_minor(),
                rate = quote.rate_micros(), created = Micros(quote.created_at()),
                expires = Micros(quote.expires_at());
      sql << "INSERT INTO quotes (quote_id, sell_currency, sell_minor, buy_currency, buy_minor,"
             " rate_micros, created_at_us, expires_at_us, customer_id) VALUES (:q, :sc, :s, :bc,"
             " :b, :r, :c, :e, :cu)",
          soci::use(quote.quote_id()), soci::use(quote.sell().currency()), soci::use(sell),
          soci::use(quote.buy().currency()), soci::use(buy), soci::use(rate), soci::use(created),
          soci::use(expires), soci::use(quote.customer_id());
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) override {
    std::optional<v1::Quote> quote;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      std::string id(quote_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT quote_id, sell_currency, sell_minor, buy_currency, buy_minor,"
                          " rate_micros, created_at_us, expires_at_us, customer_id FROM quotes"
                          " WHERE quote_id = :q",
           soci::use(id));
      for (const soci::row& row : rows) {
        v1::Quote& found = quote.emplace();
        found.set_quote_id(RowString(row, 0));
        found.mutable_sell()->set_currency(RowString(row, 1));
        found.mutable_sell()->set_amount_minor(RowInt64(row, 2));
        found.mutable_buy()->set_currency(RowString(row, 3));
        found.mutable_buy()->set_amount_minor(RowInt64(row, 4));
        found.set_rate_micros(RowInt64(row, 5));
        *found.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 6));
        *found.mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 7));
        found.set_customer_id(RowString(row, 8));
      }
      return absl::OkStatus();
    }));
    return quote;
  }

  absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) override {
    CreateResult result;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      result = CreateResult();
      const v1::Saga& saga = request.saga;
      const std::string stored_key = StoredKey(saga.customer_id(), saga.idempotency_key());
      // The idempotency key first: a repeat returns the saga it made.
      {
        std::string digest;
        soci::indicator digest_indicator;
        sql << "SELECT request_digest FROM sagas WHERE idempotency_key = :k", soci::use(stored_key),
            soci::into(digest, digest_indicator);
        if (sql.got_data()) {
          ASSIGN_OR_RETURN(std::optional<v1::Saga> existing,
                           ReadSaga(sql, "idempotency_key", stored_key));
          result.saga = *existing;
          result.outcome = digest == request.request_digest ? CreateResult::Outcome::kExisting
                                                            : CreateResult::Outcome::kKeyConflict;
          return Completion::kRollback;
        }
      }
      // The quote, used once: a second exchange on it is refused, unless it is the same key's
      // saga that a concurrent call committed first.
      {
        soci::statement claim = (sql.prepare << "UPDATE quotes SET used_by_saga_id = :s"
                                                " WHERE quote_id = :q AND used_by_saga_id = ''",
                                 soci::use(saga.saga_id()), soci::use(saga.quote_id()));
        claim.execute(true);
        if (claim.get_affected_rows() != 1) {
          std::string used_by;
          sql << "SELECT used_by_saga_id FROM quotes WHERE quote_id = :q",
              soci::use(saga.quote_id()), soci::into(used_by);
          std::optional<v1::Saga> user;
          if (!used_by.empty()) {
            ASSIGN_OR_RETURN(user, ReadSaga(sql, "saga_id", used_by));
          }
          result.outcome = CreateResult::Outcome::kQuoteUsed;
          if (user && user->customer_id() == saga.customer_id() &&
              user->idempotency_key() == saga.idempotency_key()) {
            result.saga = *user;
            result.outcome = CreateResult::Outcome::kExisting;
          }
          return Completion::kRollback;
        }
      }
      // The daily limit: make sure the row exists, then lock it, so concurrent exchanges of one
      // customer are counted one after the other.
      long long amount = request.limit_krw_minor;
      sql << "INSERT INTO daily_usage (customer_id, day, used_krw_minor) VALUES (:c, :d, 0)"
             " ON CONFLICT DO NOTHING",
          soci::use(saga.customer_id()), soci::use(request.limit_day);
      long long used = 0;
      sql << "SELECT used_krw_minor FROM daily_usage WHERE customer_id = :c AND day = :d"
          << database_.ForUpdate(),
          soci::use(saga.customer_id()), soci::use(request.limit_day), soci::into(used);
      if (used + amount > request.daily_limit_krw_minor) {
        result.outcome = CreateResult::Outcome::kLimitExceeded;
        result.limit_used_krw_minor = used;
        return Completion::kRollback;
      }
      sql << "UPDATE daily_usage SET used_krw_minor = used_krw_minor + :a"
             " WHERE customer_id = :c AND day = :d",
          soci::use(amount), soci::use(saga.customer_id()), soci::use(request.limit_day);

      const long long now_us = absl::ToUnixMicros(now);
      int state = saga.state(), attempt = saga.attempt(), released = 0;
      long long sell = saga.sell().amount_minor(), buy = saga.buy().amount_minor(),
                rate = saga.rate_micros(), next = Micros(saga.next_attempt_at()),
                deadline = Micros(saga.try_deadline()), lease_until = 0;
      const std::string empty, participants = ParticipantsColumn(saga),
                               branches = BranchesToJson(saga);
      sql << "INSERT INTO sagas (saga_id, idempotency_key, request_digest, customer_id, quote_id,"
             " source_account_id, target_account_id, sell_currency, sell_minor, buy_currency,"
             " buy_minor, rate_micros, state, failure_reason, failure_detail, attempt,"
             " next_attempt_at_us, try_deadline_us, created_at_us, updated_at_us, lease_owner,"
             " lease_until_us, participants, branches, limit_day, limit_krw_minor, limit_released)"
             " VALUES (:id, :k, :dg, :c, :q, :src, :dst, :sc, :s, :bc, :b, :r, :st, :fr, :fd, :a,"
             " :n, :dl, :ct, :ut, :lo, :lu, :p, :br, :ld, :la, :rl)",
          soci::use(saga.saga_id()), soci::use(stored_key), soci::use(request.request_digest),
          soci::use(saga.customer_id()), soci::use(saga.quote_id()),
          soci::use(saga.source_account_id()), soci::use(saga.target_account_id()),
          soci::use(saga.sell().currency()), soci::use(sell), soci::use(saga.buy().currency()),
          soci::use(buy), soci::use(rate), soci::use(state), soci::use(empty), soci::use(empty),
          soci::use(attempt), soci::use(next), soci::use(deadline), soci::use(now_us),
          soci::use(now_us), soci::use(empty), soci::use(lease_until), soci::use(participants),
          soci::use(branches), soci::use(request.limit_day), soci::use(amount), soci::use(released);
      InsertStep(sql, saga,
                 StepRecord{v1::SAGA_STATE_UNSPECIFIED, v1::SAGA_STATE_CREATED,
                            absl::StrCat("created; ", amount, " KRW of the daily limit reserved")},
                 attempt, now_us);
      result.outcome = CreateResult::Outcome::kCreated;
      result.saga = saga;
      return Completion::kCommit;
    }));
    return result;
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) override {
    std::optional<v1::Saga> saga;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) -> absl::Status {
      ASSIGN_OR_RETURN(saga, ReadSaga(sql, "saga_id", saga_id));
      return absl::OkStatus();
    }));
    return saga;
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                       absl::string_view key) override {
    std::optional<v1::Saga> saga;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) -> absl::Status {
      ASSIGN_OR_RETURN(saga, ReadSaga(sql, "idempotency_key", StoredKey(customer, key)));
      return absl::OkStatus();
    }));
    return saga;
  }

  absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                  std::vector<int64_t>* sequences) override {
    std::vector<v1::Saga> sagas;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      // Unset filters compare against values that match everything, so one statement serves all.
      int state = filter.state, active = filter.active_only ? 1 : 0;
      long long after = filter.after_sequence;
      long long created_before =
          filter.created_before ? absl::ToUnixMicros(*filter.created_before) : INT64_MAX;
      const std::string participant =
          filter.participant.empty() ? "" : absl::StrCat("%,", filter.participant, ",%");
      int limit = filter.limit;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kSagaColumns
                       << " FROM sagas WHERE sequence > :after"
                          " AND (:st = 0 OR state = :st2)"
                          " AND (:cu = '' OR customer_id = :cu2)"
                          " AND (:pa = '' OR participants LIKE :pa2)"
                          " AND (:ac = 0 OR state IN (1, 2, 3, 5))"
                          " AND created_at_us <= :cb ORDER BY sequence LIMIT :lim",
           soci::use(after), soci::use(state), soci::use(state), soci::use(filter.customer_id),
           soci::use(filter.customer_id), soci::use(participant), soci::use(participant),
           soci::use(active), soci::use(created_before), soci::use(limit));
      for (const soci::row& row : rows) {
        int64_t sequence = 0;
        absl::StatusOr<v1::Saga> saga = SagaFromRow(row, &sequence);
        if (!saga.ok()) {
          // A listing shows the sagas it can read; the unreadable one fails its own drive (and
          // raises the alert) rather than hiding every other saga from the operators.
          LogError("a stored saga cannot be read").With("error", saga.status());
          continue;
        }
        sagas.push_back(std::move(*saga));
        if (sequences != nullptr) sequences->push_back(sequence);
      }
      return absl::OkStatus();
    }));
    return sagas;
  }

  absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) override {
    std::vector<v1::Step> steps;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      std::string id(saga_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT step_id, at_us, from_state, to_state, attempt, detail"
                          " FROM saga_steps WHERE saga_id = :s ORDER BY step_id",
           soci::use(id));
      for (const soci::row& row : rows) {
        v1::Step& step = steps.emplace_back();
        step.set_step_id(RowInt64(row, 0));
        *step.mutable_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 1));
        step.set_from_state(static_cast<v1::SagaState>(RowInt64(row, 2)));
        step.set_to_state(static_cast<v1::SagaState>(RowInt64(row, 3)));
        step.set_attempt(static_cast<int32_t>(RowInt64(row, 4)));
        step.set_detail(RowString(row, 5));
      }
      return absl::OkStatus();
    }));
    return steps;
  }

  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      RETURN_IF_ERROR(WriteSaga(sql, saga, expected_state, owner, lease_until, step, now));
      for (const OutboxMessage& message : messages)
        InsertOutbox(sql, message, absl::ToUnixMicros(now));
      return Completion::kCommit;
    });
  }

  absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                        const v1::Saga& saga, v1::SagaState expected_state,
                                        absl::string_view owner, absl::Time lease_until,
                                        const StepRecord& step, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = resolution_id, now_us = absl::ToUnixMicros(now);
      int approved = v1::RESOLUTION_STATE_APPROVED, proposed = v1::RESOLUTION_STATE_PROPOSED;
      const std::string approver_text(approver);
      soci::statement update =
          (sql.prepare << "UPDATE resolutions SET state = :st, approved_by = :ab,"
                          " approved_at_us = :aa WHERE resolution_id = :id AND state = :pr",
           soci::use(approved), soci::use(approver_text), soci::use(now_us), soci::use(id),
           soci::use(proposed));
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("resolution ", resolution_id, " is not awaiting approval"));
      }
      InsertAudit(sql, approver_text, "approve_resolution", saga.saga_id(),
                  absl::StrCat("resolution ", resolution_id, " approved"), now_us);
      RETURN_IF_ERROR(WriteSaga(sql, saga, expected_state, owner, lease_until, step, now));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                              int limit) override {
    std::vector<OutboxMessage> messages;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long after = after_id;
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT outbox_id, topic, message_key, payload, traceparent FROM outbox"
                  " WHERE sent_at_us = 0 AND outbox_id > :after ORDER BY outbox_id LIMIT :lim",
           soci::use(after), soci::use(limit));
      for (const soci::row& row : rows) {
        messages.push_back(OutboxMessage{RowInt64(row, 0), RowString(row, 1), RowString(row, 2),
                                         RowString(row, 3), RowString(row, 4)});
      }
      return absl::OkStatus();
    }));
    return messages;
  }

  absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) override {
    if (outbox_ids.empty()) return absl::OkStatus();
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      std::vector<long long> ids(outbox_ids.begin(), outbox_ids.end());
      std::vector<long long> times(ids.size(), absl::ToUnixMicros(now));
      sql << "UPDATE outbox SET sent_at_us = :s WHERE outbox_id = :id", soci::use(times),
          soci::use(ids);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() override {
    std::map<v1::SagaState, int64_t> counts;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      soci::rowset<soci::row> rows = sql.prepare
                                     << "SELECT state, COUNT(*) FROM sagas GROUP BY state";
      for (const soci::row& row : rows)
        counts[static_cast<v1::SagaState>(RowInt64(row, 0))] = RowInt64(row, 1);
      return absl::OkStatus();
    }));
    return counts;
  }

  absl::StatusOr<int64_t> CountUnsentOutbox() override {
    long long unsent = 0;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      sql << "SELECT COUNT(*) FROM outbox WHERE sent_at_us = 0", soci::into(unsent);
      return absl::OkStatus();
    }));
    return unsent;
  }

  absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) override {
    int deleted = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long before = absl::ToUnixMicros(sent_before);
      soci::statement prune =
          (sql.prepare
               << "DELETE FROM outbox WHERE outbox_id IN (SELECT outbox_id FROM outbox"
                  " WHERE sent_at_us > 0 AND sent_at_us < :b ORDER BY outbox_id LIMIT :lim)",
           soci::use(before), soci::use(limit));
      prune.execute(true);
      deleted = static_cast<int>(prune.get_affected_rows());
      return Completion::kCommit;
    }));
    return deleted;
  }

  // Retention lives in soci_saga_pruning.cc.
  absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time before, int limit) override {
    return internal::PruneTerminalSagas(database_, before, limit);
  }
  absl::StatusOr<int> PruneQuotes(absl::Time before, int limit) override {
    return internal::PruneQuotes(database_, before, limit);
  }
  absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time before, int limit) override {
    return internal::PruneReplayedDeadLetters(database_, before, limit);
  }

  absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner, absl::Time now,
                                                         absl::Time lease_until,
                                                         int limit) override {
    std::vector<std::string> claimed;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      claimed.clear();
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      const std::string owner_text(owner);
      const char* skip_locked =
          database_.kind() == DbKind::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT saga_id FROM sagas WHERE state IN (1, 2, 3, 5)"
                  " AND next_attempt_at_us <= :n AND (lease_until_us < :n2 OR lease_owner = :o)"
                  " ORDER BY next_attempt_at_us LIMIT :lim"
               << skip_locked,
           soci::use(now_us), soci::use(now_us), soci::use(owner_text), soci::use(limit));
      for (const soci::row& row : rows) claimed.push_back(RowString(row, 0));
      for (const std::string& id : claimed) {
        sql << "UPDATE sagas SET lease_owner = :o, lease_until_us = :lu WHERE saga_id = :id",
            soci::use(owner_text), soci::use(lease), soci::use(id);
      }
      return claimed.empty() ? Completion::kRollback : Completion::kCommit;
    }));
    return claimed;
  }

  absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    bool claimed = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      const std::string id(saga_id), owner_text(owner);
      soci::statement update =
          (sql.prepare << "UPDATE sagas SET lease_owner = :o, lease_until_us = :lu"
                          " WHERE saga_id = :id AND (lease_until_us < :n OR lease_owner = :o2)",
           soci::use(owner_text), soci::use(lease), soci::use(id), soci::use(now_us),
           soci::use(owner_text));
      update.execute(true);
      claimed = update.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return claimed;
  }

  absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string id(saga_id), owner_text(owner), empty;
      long long zero = 0;
      sql << "UPDATE sagas SET lease_owner = :e, lease_until_us = :z"
             " WHERE saga_id = :id AND lease_owner = :o",
          soci::use(empty), soci::use(zero), soci::use(id), soci::use(owner_text);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    bool held = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string role_text(role), owner_text(owner);
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      soci::statement update =
          (sql.prepare << "UPDATE replica_roles SET owner = :o, lease_until_us = :lu"
                          " WHERE role = :r AND (owner = :o2 OR lease_until_us < :n)",
           soci::use(owner_text), soci::use(lease), soci::use(role_text), soci::use(owner_text),
           soci::use(now_us));
      update.execute(true);
      held = update.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return held;
  }

  absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) override {
    int released = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string owner_text(owner), empty;
      long long zero = 0;
      soci::statement update =
          (sql.prepare << "UPDATE sagas SET lease_owner = :e, lease_until_us = :z"
                          " WHERE lease_owner = :o",
           soci::use(empty), soci::use(zero), soci::use(owner_text));
      update.execute(true);
      released = static_cast<int>(update.get_affected_rows());
      return Completion::kCommit;
    }));
    return released;
  }

  absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) override {
    bool scheduled = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string id(saga_id);
      long long at_us = absl::ToUnixMicros(at);
      soci::statement update = (sql.prepare << "UPDATE sagas SET next_attempt_at_us = :n"
                                               " WHERE saga_id = :id AND state IN (1, 2, 3, 5)",
                                soci::use(at_us), soci::use(id));
      update.execute(true);
      scheduled = update.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return scheduled;
  }

  absl::Status SetParticipantPaused(const v1::Participant& participant) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int paused = participant.paused() ? 1 : 0;
      long long at = Micros(participant.paused_at());
      sql << "INSERT INTO participants (participant, paused, paused_by, pause_reason, paused_at_us)"
             " VALUES (:p, :pa, :by, :r, :at) ON CONFLICT (participant) DO UPDATE SET"
             " paused = excluded.paused, paused_by = excluded.paused_by,"
             " pause_reason = excluded.pause_reason, paused_at_us = excluded.paused_at_us",
          soci::use(participant.participant()), soci::use(paused),
          soci::use(participant.paused_by()), soci::use(participant.pause_reason()), soci::use(at);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() override {
    std::vector<v1::Participant> paused;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      soci::rowset<soci::row> rows =
          sql.prepare
          << "SELECT participant, paused_by, pause_reason, paused_at_us FROM participants"
             " WHERE paused = 1 ORDER BY participant";
      for (const soci::row& row : rows) {
        v1::Participant& participant = paused.emplace_back();
        participant.set_participant(RowString(row, 0));
        participant.set_paused(true);
        participant.set_paused_by(RowString(row, 1));
        participant.set_pause_reason(RowString(row, 2));
        *participant.mutable_paused_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 3));
      }
      return absl::OkStatus();
    }));
    return paused;
  }

  absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) override {
    int64_t id = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int action = resolution.action(), state = v1::RESOLUTION_STATE_PROPOSED;
      long long proposed = Micros(resolution.proposed_at()), zero = 0, inserted_id = 0;
      const std::string empty;
      sql << "INSERT INTO resolutions (saga_id, action, reason_code, note, state, proposed_by,"
             " proposed_at_us, approved_by, approved_at_us)"
             " VALUES (:s, :a, :r, :n, :st, :pb, :pa, :ab, :aa) RETURNING resolution_id",
          soci::use(resolution.saga_id()), soci::use(action), soci::use(resolution.reason_code()),
          soci::use(resolution.note()), soci::use(state), soci::use(resolution.proposed_by()),
          soci::use(proposed), soci::use(empty), soci::use(zero), soci::into(inserted_id);
      // The id this very insert got: reading back the largest id would race with another
      // proposal for the same saga committing in between.
      id = inserted_id;
      InsertAudit(
          sql, resolution.proposed_by(), "propose_resolution", resolution.saga_id(),
          absl::StrCat("resolution ", id, ": ", v1::ResolutionAction_Name(resolution.action()),
                       " reason ", resolution.reason_code(), "; ", resolution.note()),
          proposed);
      return Completion::kCommit;
    }));
    return id;
  }

  absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) override {
    std::optional<v1::Resolution> found;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long id = resolution_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << kResolutionSelect << " WHERE resolution_id = :id", soci::use(id));
      for (const soci::row& row : rows) found = ResolutionFromRow(row);
      return absl::OkStatus();
    }));
    return found;
  }

  absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(absl::string_view saga_id) override {
    std::vector<v1::Resolution> resolutions;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << kResolutionSelect << " WHERE saga_id = :s ORDER BY resolution_id",
           soci::use(id));
      for (const soci::row& row : rows) resolutions.push_back(ResolutionFromRow(row));
      return absl::OkStatus();
    }));
    return resolutions;
  }

  absl::Status AppendAudit(const v1::AuditEntry& entry) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      InsertAudit(sql, entry.operator_(), entry.action(), entry.saga_id(), entry.detail(),
                  Micros(entry.at()));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) override {
    bool inserted = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int attempts = dead_letter.attempts(), partition = dead_letter.partition();
      long long offset = dead_letter.offset(), at = Micros(dead_letter.dead_lettered_at()),
                zero = 0;
      const std::string nobody;
      soci::statement insert =
          (sql.prepare << "INSERT INTO dead_letters (saga_id, payload, error, attempts,"
                          " source_topic, kafka_partition, kafka_offset, dead_lettered_at_us,"
                          " replayed_at_us, replayed_by)"
                          " VALUES (:s, :p, :e, :a, :t, :pa, :o, :at, :r, :rb)"
                          " ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING",
           soci::use(dead_letter.saga_id()), soci::use(dead_letter.payload()),
           soci::use(dead_letter.error()), soci::use(attempts),
           soci::use(dead_letter.source_topic()), soci::use(partition), soci::use(offset),
           soci::use(at), soci::use(zero), soci::use(nobody));
      insert.execute(true);
      inserted = insert.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return inserted;
  }

  absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) override {
    std::optional<v1::DeadLetter> found;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long id = dead_letter_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kDeadLetterColumns
                       << " FROM dead_letters WHERE dead_letter_id = :id",
           soci::use(id));
      for (const soci::row& row : rows) found = DeadLetterFromRow(row);
      return absl::OkStatus();
    }));
    return found;
  }

  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                              bool include_replayed,
                                                              int64_t after_id,
                                                              int limit) override {
    std::vector<v1::DeadLetter> dead_letters;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      long long after = after_id;
      int all = include_replayed ? 1 : 0;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kDeadLetterColumns
                       << " FROM dead_letters WHERE dead_letter_id > :after"
                          " AND (:s = '' OR saga_id = :s2)"
                          " AND (:all = 1 OR (replayed_at_us = 0 AND dismissed_at_us = 0))"
                          " ORDER BY dead_letter_id LIMIT :lim",
           soci::use(after), soci::use(id), soci::use(id), soci::use(all), soci::use(limit));
      for (const soci::row& row : rows) dead_letters.push_back(DeadLetterFromRow(row));
      return absl::OkStatus();
    }));
    return dead_letters;
  }

  absl::StatusOr<int64_t> CountPendingDeadLetters() override {
    long long pending = 0;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      sql << "SELECT COUNT(*) FROM dead_letters WHERE replayed_at_us = 0 AND dismissed_at_us = 0",
          soci::into(pending);
      return absl::OkStatus();
    }));
    return pending;
  }

  absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                absl::string_view reason, const OutboxMessage& command,
                                absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(operator_name);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET replayed_at_us = :at, replayed_by = :by"
                          " WHERE dead_letter_id = :id AND replayed_at_us = 0"
                          " AND dismissed_at_us = 0",
           soci::use(now_us), soci::use(by), soci::use(id));
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("dead letter ", dead_letter_id, " was already replayed or dismissed"));
      }
      InsertAudit(sql, by, "replay_dead_letter", command.key,
                  absl::StrCat("dead letter ", dead_letter_id, " replayed: ", reason), now_us);
      InsertOutbox(sql, command, now_us);
      return Completion::kCommit;
    });
  }

  absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id, absl::string_view operator_name,
                                          absl::string_view reason, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(operator_name), why(reason);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET dismissal_proposed_by = :by,"
                          " dismissal_reason = :why WHERE dead_letter_id = :id"
                          " AND replayed_at_us = 0 AND dismissed_at_us = 0"
                          " AND dismissal_proposed_by = ''",
           soci::use(by), soci::use(why), soci::use(id));
      update.execute(true);
      if (update.get_affected_rows() != 1) return DismissalRefused(sql, dead_letter_id);
      AuditDeadLetter(
          sql, dead_letter_id, by, "propose_dismissal",
          absl::StrCat("dead letter ", dead_letter_id, " proposed for dismissal: ", why), now_us);
      return Completion::kCommit;
    });
  }

  absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id, absl::string_view approver,
                                          absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(approver);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET dismissed_by = :by, dismissed_at_us = :at"
                          " WHERE dead_letter_id = :id AND replayed_at_us = 0"
                          " AND dismissed_at_us = 0 AND dismissal_proposed_by <> ''"
                          " AND LOWER(dismissal_proposed_by) <> LOWER(:by2)",
           soci::use(by), soci::use(now_us), soci::use(id), soci::use(by));
      update.execute(true);
      if (update.get_affected_rows() != 1) return DismissalRefused(sql, dead_letter_id);
      AuditDeadLetter(sql, dead_letter_id, by, "approve_dismissal",
                      absl::StrCat("dead letter ", dead_letter_id, " dismissed"), now_us);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id, int64_t after_id,
                                                        int limit) override {
    std::vector<v1::AuditEntry> entries;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      long long after = after_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT audit_id, at_us, operator, action, saga_id, detail FROM audit_log"
                          " WHERE audit_id > :after AND (:s = '' OR saga_id = :s2)"
                          " ORDER BY audit_id LIMIT :lim",
           soci::use(after), soci::use(id), soci::use(id), soci::use(limit));
      for (const soci::row& row : rows) {
        v1::AuditEntry& entry = entries.emplace_back();
        entry.set_audit_id(RowInt64(row, 0));
        *entry.mutable_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 1));
        entry.set_operator_(RowString(row, 2));
        entry.set_action(RowString(row, 3));
        entry.set_saga_id(RowString(row, 4));
        entry.set_detail(RowString(row, 5));
      }
      return absl::OkStatus();
    }));
    return entries;
  }

 private:
  static constexpr absl::string_view kResolutionSelect =
      "SELECT resolution_id, saga_id, action, reason_code, note, state, proposed_by,"
      " proposed_at_us, approved_by, approved_at_us FROM resolutions";

  // Appends an audit row about a dead letter, under its saga.
  static void AuditDeadLetter(soci::session& sql, int64_t dead_letter_id, const std::string& by,
                              const std::string& action, const std::string& detail,
                              long long at_us) {
    long long id = dead_letter_id;
    std::string saga_id;
    sql << "SELECT saga_id FROM dead_letters WHERE dead_letter_id = :id", soci::use(id),
        soci::into(saga_id);
    InsertAudit(sql, by, action, saga_id, detail, at_us);
  }

  // Why a dismissal's update matched no row, as the status to answer with.
  static absl::Status DismissalRefused(soci::session& sql, int64_t dead_letter_id) {
    long long id = dead_letter_id, replayed = 0, dismissed = 0;
    std::string proposed_by;
    sql << "SELECT replayed_at_us, dismissed_at_us, dismissal_proposed_by FROM dead_letters"
           " WHERE dead_letter_id = :id",
        soci::use(id), soci::into(replayed), soci::into(dismissed), soci::into(proposed_by);
    const std::string name = absl::StrCat("dead letter ", dead_letter_id);
    if (!sql.got_data()) return absl::NotFoundError(absl::StrCat("no ", name));
    if (replayed > 0) return absl::FailedPreconditionError(name + " was already replayed");
    if (dismissed > 0) return absl::FailedPreconditionError(name + " was already dismissed");
    if (proposed_by.empty()) {
      return absl::FailedPreconditionError(name + " has no proposed dismissal to approve");
    }
    return absl::FailedPreconditionError(
        absl::StrCat(name, " has a dismissal proposed by ", proposed_by,
                     " already; maker-checker: a different operator approves it"));
  }

  static v1::Resolution ResolutionFromRow(const soci::row& row) {
    v1::Resolution resolution;
    resolution.set_resolution_id(RowInt64(row, 0));
    resolution.set_saga_id(RowString(row, 1));
    resolution.set_action(static_cast<v1::ResolutionAction>(RowInt64(row, 2)));
    resolution.set_reason_code(RowString(row, 3));
    resolution.set_note(RowString(row, 4));
    resolution.set_state(static_cast<v1::ResolutionState>(RowInt64(row, 5)));
    resolution.set_proposed_by(RowString(row, 6));
    *resolution.mutable_proposed_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 7));
    resolution.set_approved_by(RowString(row, 8));
    if (RowInt64(row, 9) > 0) {
      *resolution.mutable_approved_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 9));
    }
    return resolution;
  }

  absl::StatusOr<std::optional<v1::Saga>> ReadSaga(soci::session& sql, absl::string_view column,
                                                   absl::string_view value) {
    return CatchSociErrors("reading a saga", [&]() -> absl::StatusOr<std::optional<v1::Saga>> {
      const std::string key(value);
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kSagaColumns << " FROM sagas WHERE " << column << " = :v",
           soci::use(key));
      for (const soci::row& row : rows) {
        ASSIGN_OR_RETURN(v1::Saga saga, SagaFromRow(row, nullptr));
        return saga;
      }
      return std::nullopt;
    });
  }

  // Appends the step-log row and, for a transition, the SagaEvent for the outbox.
  static void InsertStep(soci::session& sql, const v1::Saga& saga, const StepRecord& step,
                         int attempt, long long at_us) {
    const std::string& saga_id = saga.saga_id();
    int from = step.from_state, to = step.to_state;
    sql << "INSERT INTO saga_steps (saga_id, at_us, from_state, to_state, attempt, detail)"
           " VALUES (:s, :at, :f, :t, :a, :d)",
        soci::use(saga_id), soci::use(at_us), soci::use(from), soci::use(to), soci::use(attempt),
        soci::use(step.detail);
    if (step.from_state == step.to_state) return;
    v1::SagaEvent event;
    event.set_saga_id(saga_id);
    event.set_from_state(step.from_state);
    event.set_to_state(step.to_state);
    event.set_attempt(attempt);
    event.set_detail(step.detail);
    *event.mutable_at() = TimeUtil::MicrosecondsToTimestamp(at_us);
    event.set_customer_id(saga.customer_id());
    event.set_failure_reason(saga.failure_reason());
    const std::string payload = ProtoToJson(event);
    InsertOutbox(sql,
                 OutboxMessage{0, std::string(kafka::kSagaEventsTopic), saga_id, payload,
                               TraceContext{saga_id, RootSpanId(saga_id)}.ToTraceparent()},
                 at_us);
  }

  static void InsertOutbox(soci::session& sql, const OutboxMessage& message, long long at_us) {
    long long unsent = 0;
    sql << "INSERT INTO outbox (topic, message_key, payload, traceparent, created_at_us, "
           "sent_at_us) VALUES (:t, :k, :p, :tp, :c, :s)",
        soci::use(message.topic), soci::use(message.key), soci::use(message.payload),
        soci::use(message.traceparent), soci::use(at_us), soci::use(unsent);
  }

  static void InsertAudit(soci::session& sql, const std::string& operator_name,
                          const std::string& action, const std::string& saga_id,
                          const std::string& detail, long long at_us) {
    sql << "INSERT INTO audit_log (at_us, operator, action, saga_id, detail)"
           " VALUES (:at, :o, :a, :s, :d)",
        soci::use(at_us), soci::use(operator_name), soci::use(action), soci::use(saga_id),
        soci::use(detail);
  }

  // The saga update shared by every write, fenced twice: by the revision the writer read (a write
  // in between makes this one ABORTED, so none is lost) and by the lease (the writer's, or none
  // live: an expired lease holds nobody off). With `lease_until` after `now` the writer holds the
  // lease on; otherwise the saga is left unleased. A driver that lost its lease, or a saga that
  // moved on, gets ABORTED: retrying the same write cannot help, reading again and deciding again
  // can. Also the daily-limit release on entering CANCELLING and the step-log row (and its event).
  static absl::Status WriteSaga(soci::session& sql, const v1::Saga& saga,
                                v1::SagaState expected_state, absl::string_view owner,
                                absl::Time lease_until, const std::optional<StepRecord>& step,
                                absl::Time now) {
    int state = saga.state(), expected = expected_state, attempt = saga.attempt();
    const bool keeps_lease = lease_until > now;
    long long next = Micros(saga.next_attempt_at()),
              lease = keeps_lease ? absl::ToUnixMicros(lease_until) : 0,
              now_us = absl::ToUnixMicros(now), revision = saga.revision();
    const std::string writer(owner), holder = keeps_lease ? writer : "",
                                     branches = BranchesToJson(saga);
    soci::statement update =
        (sql.prepare << "UPDATE sagas SET state = :st, failure_reason = :fr, failure_detail = :fd,"
                        " attempt = :a, next_attempt_at_us = :n, branches = :br,"
                        " lease_owner = :h, lease_until_us = :lu, updated_at_us = :ut,"
                        " revision = revision + 1"
                        " WHERE saga_id = :id AND state = :ex AND revision = :rev"
                        " AND (lease_owner = :o OR lease_until_us < :now)",
         soci::use(state), soci::use(saga.failure_reason()), soci::use(saga.failure_detail()),
         soci::use(attempt), soci::use(next), soci::use(branches), soci::use(holder),
         soci::use(lease), soci::use(now_us), soci::use(saga.saga_id()), soci::use(expected),
         soci::use(revision), soci::use(writer), soci::use(now_us));
    update.execute(true);
    if (update.get_affected_rows() != 1) {
      return StaleReadError(absl::StrCat(
          "saga ", saga.saga_id(), " changed since revision ", revision, " was read, left state ",
          StateName(expected_state), ", or is leased to another driver; read it again"));
    }
    if (saga.state() == v1::SAGA_STATE_CANCELLING && expected_state != v1::SAGA_STATE_CANCELLING) {
      ReleaseLimit(sql, saga.saga_id());
    }
    if (step) InsertStep(sql, saga, *step, attempt, now_us);
    return absl::OkStatus();
  }

  // Gives the saga's reservation back to the customer's day, once.
  static void ReleaseLimit(soci::session& sql, const std::string& saga_id) {
    std::string customer, day;
    long long amount = 0;
    int released = 0;
    sql << "SELECT customer_id, limit_day, limit_krw_minor, limit_released FROM sagas"
           " WHERE saga_id = :s",
        soci::use(saga_id), soci::into(customer), soci::into(day), soci::into(amount),
        soci::into(released);
    if (released != 0) return;
    sql << "UPDATE daily_usage SET used_krw_minor = used_krw_minor - :a"
           " WHERE customer_id = :c AND day = :d",
        soci::use(amount), soci::use(customer), soci::use(day);
    sql << "UPDATE sagas SET limit_released = 1 WHERE saga_id = :s", soci::use(saga_id);
  }

  Database& database_;
};

}  // namespace

std::unique_ptr<SagaStore> NewSociSagaStore(Database& database) {
  return std::make_unique<SociSagaStore>(database);
}

}  // namespace fxmesh::coordinator
