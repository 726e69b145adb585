// One database per service through SOCI, on SQLite (the embedded default) or PostgreSQL.
//
// Database owns a pool of sessions and runs each unit of work in a local transaction. It is the
// only place that catches SOCI exceptions: they leave here as absl::Status with the code chosen by
// what the caller should do next — ABORTED for a conflict worth retrying (a deadlock, a
// serialization failure, a busy SQLite file), UNAVAILABLE when the database cannot be reached or a
// commit's fate is unknown, INTERNAL for a statement that is simply wrong.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace soci {
class connection_pool;
class session;
}  // namespace soci

namespace fxmesh {

enum class DbKind { kSqlite, kPostgres };

struct DatabaseOptions {
  // "sqlite:PATH" (file created if missing; WAL, fsync on commit) or a libpq URI
  // "postgresql://user@host:port/dbname" (also "postgres://..."; a password in the url works, but a
  // service refuses one on its command line, see db_flags.h).
  std::string url;
  // Sessions in the pool; 0 picks the kind's default from limits.h.
  size_t pool_size = 0;
  // Group-commit batches that may run at once on PostgreSQL; 0 picks
  // limits::kPostgresBatchesInFlight. SQLite always runs one.
  int batches_in_flight = 0;
  // PostgreSQL's password, when not in the url. Empty: libpq finds it (PGPASSWORD, PGPASSFILE or
  // ~/.pgpass), or the server asks for none.
  std::string password;
};

// One schema version. `sql` holds statements, each ended by a ';' at the end of a line (a ';'
// inside a line, as in a trigger body, does not end a statement), and may use these words, which
// become each backend's spelling: ${ID_PK} (an auto-increment 64-bit primary key). `sqlite_sql` and
// `postgres_sql` hold statements for one backend only (triggers, functions), run after `sql`.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
  absl::string_view sqlite_sql = {};
  absl::string_view postgres_sql = {};
};

// A component's schema: its name in schema_migrations and every migration, oldest first.
struct Schema {
  absl::string_view component;
  std::span<const Migration> migrations;
};

// How a service brings its schema to the version it was built for (--migrate).
enum class MigrateMode {
  // Apply the missing migrations at start-up: needs a user with DDL rights (development, SQLite).
  kAuto,
  // Run no DDL: start only if every migration is already recorded (a migration Job applied them
  // with --migrate_only), so the service can log in as a user that cannot change the schema.
  kCheck,
};

// "auto" or "check"; INVALID_ARGUMENT otherwise.
absl::StatusOr<MigrateMode> ParseMigrateMode(absl::string_view text);

// What Migrate or CheckSchema found.
struct SchemaReport {
  // "version name" of each migration this call applied (Migrate only), oldest first.
  std::vector<std::string> applied;
  // "version name" of each migration recorded for the component that the binary does not know: a
  // newer release's, run by its migration Job. By the rolling-upgrade rule (migrations only add)
  // an older binary still works on that schema, so this is reported, not refused.
  std::vector<std::string> unknown;
  // The highest version recorded for the component afterwards (0: none).
  int version = 0;
};

// What a transaction body asks for when it finishes without error.
enum class Completion { kCommit, kRollback };

// ABORTED for a write fenced by what its caller read earlier (a revision, a lease) that has since
// moved on. Database::Transact hands it back at once instead of running the body again, which
// would only repeat the same stale write; the caller reads again and decides again.
absl::Status StaleReadError(absl::string_view message);

// Whether `status` came from StaleReadError.
bool IsStaleRead(const absl::Status& status);

// Whether `status` is PostgreSQL's lock_timeout (UNAVAILABLE: a row stayed locked too long).
bool IsLockTimeout(const absl::Status& status);

// `url` with any password replaced by ***, for logs and error messages.
std::string RedactDatabaseUrl(absl::string_view url);

// Whether a postgresql:// `url` carries a password (after "user:", or as a password= parameter).
bool DatabaseUrlHasPassword(absl::string_view url);

// The libpq keyword form ("host=... port=... dbname=...") of a postgresql:// url, which is what
// SOCI's PostgreSQL backend accepts. INVALID_ARGUMENT says what is malformed.
absl::StatusOr<std::string> PostgresConninfo(absl::string_view url);

// The libpq parameters every PostgreSQL session of fxmesh starts with: connect timeout, TCP
// keepalives on both ends, and the server-side lock, statement and idle-in-transaction timeouts
// (limits.h names them all; docs/operations.md explains them).
std::string PostgresSessionDefaults();

// Thread-safe. Every method may be called from any thread; each call leases its own session.
class Database {
 public:
  static absl::StatusOr<std::unique_ptr<Database>> Open(const DatabaseOptions& options);
  ~Database();

  DbKind kind() const { return kind_; }
  // The url with any password removed, for logs.
  const std::string& description() const { return description_; }

  // Applies, in order, each migration of `schema` not yet recorded in schema_migrations, each in
  // its own transaction. Safe to call from several replicas at once on PostgreSQL (an advisory
  // lock serializes them). Needs DDL rights, even when there is nothing to apply.
  absl::StatusOr<SchemaReport> Migrate(const Schema& schema);

  // Runs no DDL: FAILED_PRECONDITION naming every migration of `schema` that is not recorded (all
  // of them when schema_migrations does not exist), so a service refuses to start on a schema it
  // was not built for. Needs only SELECT on schema_migrations.
  absl::StatusOr<SchemaReport> CheckSchema(const Schema& schema);

  // Migrate for MigrateMode::kAuto, CheckSchema for kCheck.
  absl::StatusOr<SchemaReport> PrepareSchema(const Schema& schema, MigrateMode mode);

  // Runs `body` inside one transaction: commits if it returns kCommit, rolls back if it returns
  // kRollback or an error. A body that fails with ABORTED (or a conflict the database reports),
  // other than a StaleReadError, is run again from scratch, up to limits::kTransactionAttemptsMax
  // times, so it must derive everything it writes from what it reads in that attempt.
  //
  // Group commit: bodies that arrive while earlier ones are committing wait, and are then run one
  // after the other inside one transaction, each in a savepoint of its own, and committed together
  // (at most limits::kGroupCommitBatchMax). A body that fails or asks for a rollback undoes only
  // its own writes; the others in its batch still commit. Every caller returns only after the
  // shared COMMIT is on disk, and a failed COMMIT fails every body of the batch with UNAVAILABLE. A
  // body sees the writes of the bodies before it in its batch, exactly as it would had they
  // committed first, and it runs on whichever caller's thread leads the batch: it must not take a
  // lock its caller holds.
  absl::Status Transact(absl::FunctionRef<absl::StatusOr<Completion>(soci::session&)> body);

  // How many transactions committed since Open, and in how many COMMITs (group commit makes the
  // second smaller).
  struct CommitCounts {
    int64_t transactions = 0;
    int64_t commits = 0;
  };
  CommitCounts commit_counts() const;
  // Transactions waiting for a batch right now.
  size_t transactions_waiting() const;

  // Runs a read-only `body` with a leased session, outside any explicit transaction.
  absl::Status Read(absl::FunctionRef<absl::Status(soci::session&)> body);
  // How many Reads ran since Open.
  int64_t reads() const { return reads_.load(std::memory_order_relaxed); }

  // " FOR UPDATE" on PostgreSQL; "" on SQLite, whose writers are serialized anyway.
  const char* ForUpdate() const { return kind_ == DbKind::kPostgres ? " FOR UPDATE" : ""; }

  // Cheap liveness probe (SELECT 1) for health reporting.
  absl::Status Ping();

 private:
  // One caller's transaction, from the moment it queues until its batch has committed.
  struct Pending;

  Database(DbKind kind, std::string description, std::unique_ptr<soci::connection_pool> pool,
           size_t pool_size, int batches_in_flight_max);
  // Queues `pending` and returns once its batch has finished, leading batches while it waits.
  void RunInBatch(Pending& pending) ABSL_LOCKS_EXCLUDED(queue_mu_);
  // Runs `batch` in one transaction on one session and sets each one's status; returns what it
  // committed.
  CommitCounts RunBatch(const std::vector<Pending*>& batch);

  const DbKind kind_;
  const std::string description_;
  const std::unique_ptr<soci::connection_pool> pool_;
  const size_t pool_size_;
  // Batches that may run at once: one on SQLite, which allows one writer at a time (taking turns
  // here is cheaper than SQLITE_BUSY retries); DatabaseOptions::batches_in_flight on PostgreSQL.
  const int batches_in_flight_max_;

  mutable absl::Mutex queue_mu_;
  std::deque<Pending*> queue_ ABSL_GUARDED_BY(queue_mu_);
  int batches_in_flight_ ABSL_GUARDED_BY(queue_mu_) = 0;
  CommitCounts counts_ ABSL_GUARDED_BY(queue_mu_);
  std::atomic<int64_t> reads_{0};
};

}  // namespace fxmesh
