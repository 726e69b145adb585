// The coordinator's schema on SQLite and PostgreSQL: one migration per version, applied in order
// by Database::Migrate.

#include <array>

#include "coordinator/internal/soci_saga_store_parts.h"

namespace fxmesh::coordinator::internal {
namespace {

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

// Indexes that let each prune find its oldest rows without reading the table, and find what still
// refers to a quote or a saga.
constexpr absl::string_view kRetentionIndexesSql = R"sql(
CREATE INDEX IF NOT EXISTS sagas_finished ON sagas (state, updated_at_us);
CREATE INDEX IF NOT EXISTS sagas_by_quote ON sagas (quote_id);
CREATE INDEX IF NOT EXISTS quotes_expiry ON quotes (expires_at_us);
CREATE INDEX IF NOT EXISTS resolutions_by_saga ON resolutions (saga_id);
CREATE INDEX IF NOT EXISTS dead_letters_replayed ON dead_letters (replayed_at_us);
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
    {4, "indexes for retention", kRetentionIndexesSql},
    {5, "dead letter dismissal", kSchemaV5},
    {6, "replica roles: one outbox publisher", kSchemaV6},
    {7, "saga revisions", kSchemaV7},
    {8, "quotes bound to a customer, used once", kSchemaV8},
    {9, "idempotency keys scoped to their customer", kSchemaV9},
}};

}  // namespace

std::span<const Migration> CoordinatorMigrations() { return kMigrations; }

}  // namespace fxmesh::coordinator::internal
