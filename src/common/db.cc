#include "common/db.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <sqlite3.h>

#include <map>
#include <optional>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/db_session.h"
#include "common/internal/schema_records.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/soci_util.h"
#include "common/status_macros.h"

namespace fxmesh {
namespace {

// A libpq keyword value, quoted so spaces and quotes in it survive.
std::string QuoteConninfoValue(absl::string_view value) {
  return absl::StrCat("'", absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
}

// Decodes %XX escapes, as libpq does for the parts of a url (so a password may contain '@').
std::optional<std::string> PercentDecode(absl::string_view text) {
  std::string decoded;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded.push_back(text[i]);
      continue;
    }
    int value = 0;
    if (i + 2 >= text.size() || !absl::SimpleHexAtoi(text.substr(i + 1, 2), &value)) {
      return std::nullopt;
    }
    decoded.push_back(static_cast<char>(value));
    i += 2;
  }
  return decoded;
}

constexpr absl::string_view kSqlitePrefix = "sqlite:";

// The payload that marks an ABORTED status as a stale read rather than a database conflict.
constexpr absl::string_view kStaleReadPayload = "fxmesh/stale-read";
constexpr absl::string_view kLockTimeoutPayload = "fxmesh/lock-timeout";

}  // namespace

absl::Status StaleReadError(absl::string_view message) {
  absl::Status status = absl::AbortedError(message);
  status.SetPayload(kStaleReadPayload, absl::Cord("1"));
  return status;
}

bool IsStaleRead(const absl::Status& status) {
  return absl::IsAborted(status) && status.GetPayload(kStaleReadPayload).has_value();
}

bool IsLockTimeout(const absl::Status& status) {
  return absl::IsUnavailable(status) && status.GetPayload(kLockTimeoutPayload).has_value();
}

std::string PostgresSessionDefaults() {
  // Server side: a statement waits for a row lock at most lock_timeout and runs at most
  // statement_timeout; a session idle inside a transaction (its client stalled or cut off by a
  // partition) is ended, releasing its locks; dead peers are found by TCP keepalives. Client side:
  // connecting gives up after connect_timeout, and keepalives and tcp_user_timeout find a dead
  // server.
  return absl::StrCat(
      "connect_timeout=", limits::kPostgresConnectTimeoutMs / 1000,
      " keepalives=1 keepalives_idle=", limits::kPostgresKeepaliveIdleMs / 1000,
      " keepalives_interval=", limits::kPostgresKeepaliveIntervalMs / 1000,
      " keepalives_count=", limits::kPostgresKeepaliveCount,
      " tcp_user_timeout=", limits::kPostgresTcpUserTimeoutMs,
      " options='-c lock_timeout=", limits::kPostgresLockTimeoutMs,
      " -c statement_timeout=", limits::kPostgresStatementTimeoutMs,
      " -c idle_in_transaction_session_timeout=", limits::kPostgresIdleInTransactionTimeoutMs,
      " -c tcp_keepalives_idle=", limits::kPostgresKeepaliveIdleMs / 1000,
      " -c tcp_keepalives_interval=", limits::kPostgresKeepaliveIntervalMs / 1000,
      " -c tcp_keepalives_count=", limits::kPostgresKeepaliveCount, "'");
}

absl::Status StatusFromSociError(const soci::soci_error& error, absl::string_view during) {
  std::string message =
      absl::StrCat("database error during ", during, ": ", error.get_error_message());
  if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&error)) {
    const std::string state = pg->sqlstate();
    // 40001 serialization failure, 40P01 deadlock, 23505 unique violation (a concurrent insert).
    if (state == "40001" || state == "40P01" || state == "23505")
      return absl::AbortedError(message);
    // Class 08: connection exceptions; 57P0x: the server is shutting down; 55P03: lock_timeout
    // (a stalled transaction holds the row); 57014: statement_timeout; 25P03: this session sat
    // idle inside a transaction too long and the server ended it. The work did not happen, or
    // its fate is unknown: try again later.
    if (state == "55P03") {
      absl::Status status = absl::UnavailableError(message);
      status.SetPayload(kLockTimeoutPayload, absl::Cord("1"));
      return status;
    }
    if (absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") || state == "57014" ||
        state == "25P03") {
      return absl::UnavailableError(message);
    }
    // Any other integrity violation (CHECK, foreign key, NOT NULL), an exception raised by a
    // trigger (P0001), bad data (class 22) or a wrong statement (class 42) says the same thing
    // every time: retrying cannot help.
    if (absl::StartsWith(state, "23") || absl::StartsWith(state, "22") ||
        absl::StartsWith(state, "42") || state == "P0001") {
      return absl::InternalError(message);
    }
  }
  if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&error)) {
    const int result = lite->result(), primary = result & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) return absl::AbortedError(message);
    if (primary == SQLITE_CONSTRAINT) {
      // Only a unique key met by another insert is a conflict worth retrying; a CHECK, foreign
      // key, NOT NULL or trigger refusal is final. SQLite may report the primary code alone, so
      // its message decides then.
      const bool unique =
          result == SQLITE_CONSTRAINT_UNIQUE || result == SQLITE_CONSTRAINT_PRIMARYKEY ||
          (result == SQLITE_CONSTRAINT &&
           (absl::StrContains(error.get_error_message(), "UNIQUE constraint failed") ||
            absl::StrContains(error.get_error_message(), "PRIMARY KEY constraint failed")));
      return unique ? absl::AbortedError(message) : absl::InternalError(message);
    }
    if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) {
      return absl::UnavailableError(message);
    }
  }
  switch (error.get_error_category()) {
    case soci::soci_error::constraint_violation:
      return absl::InternalError(message);
    case soci::soci_error::invalid_statement:
    case soci::soci_error::no_privilege:
    case soci::soci_error::no_data:
      return absl::InternalError(message);
    default:
      // Connection loss, an unknown transaction state, or a system error: the caller cannot know
      // whether the work happened, so it must retry an idempotent call.
      return absl::UnavailableError(message);
  }
}

int64_t RowInt64(const soci::row& row, std::size_t column) {
  if (row.get_indicator(column) == soci::i_null) return 0;
  switch (row.get_properties(column).get_data_type()) {
    case soci::dt_integer:
      return row.get<int>(column);
    case soci::dt_long_long:
      return row.get<long long>(column);
    case soci::dt_unsigned_long_long:
      return static_cast<int64_t>(row.get<unsigned long long>(column));
    case soci::dt_string:
      return std::stoll(row.get<std::string>(column));
    default:
      throw soci::soci_error("column " + std::to_string(column) + " is not an integer");
  }
}

std::string RowString(const soci::row& row, std::size_t column) {
  if (row.get_indicator(column) == soci::i_null) return "";
  return row.get<std::string>(column);
}

std::string RedactDatabaseUrl(absl::string_view url) {
  static const std::regex kPassword("(://[^:/@]*:)[^@]*@");
  static const std::regex kPasswordParameter("([?&]password=)[^&]*");
  return std::regex_replace(std::regex_replace(std::string(url), kPassword, "$1***@"),
                            kPasswordParameter, "$1***");
}

bool DatabaseUrlHasPassword(absl::string_view url) {
  static const std::regex kPassword("^postgres(?:ql)?://[^:@/]*:[^@/]+@.*");
  static const std::regex kPasswordParameter("^postgres(?:ql)?://[^?]*\\?(?:.*&)?password=.*");
  const std::string text(url);
  return std::regex_match(text, kPassword) || std::regex_match(text, kPasswordParameter);
}

absl::StatusOr<std::string> PostgresConninfo(absl::string_view url) {
  static const std::regex kUrl(
      "^postgres(?:ql)?://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?]*)(?::([0-9]+))?(?:/"
      "([^?]*))?(?:\\?(.*))?$");
  std::smatch match;
  const std::string text(url);
  if (!std::regex_match(text, match, kUrl)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", RedactDatabaseUrl(url), "' is not a postgresql://user:password@host:port/dbname url"));
  }
  std::vector<std::string> parts;
  const char* keys[] = {"user", "password", "host", "port", "dbname"};
  for (int i = 0; i < 5; ++i) {
    if (match[i + 1].length() == 0) continue;
    std::optional<std::string> value = PercentDecode(match[i + 1].str());
    if (!value) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ", keys[i], " in '", RedactDatabaseUrl(url), "' has a bad % escape"));
    }
    parts.push_back(absl::StrCat(keys[i], "=", QuoteConninfoValue(*value)));
  }
  for (absl::string_view option : absl::StrSplit(match[6].str(), '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> key_value = absl::StrSplit(option, absl::MaxSplits('=', 1));
    parts.push_back(absl::StrCat(key_value.first, "=", QuoteConninfoValue(key_value.second)));
  }
  return absl::StrJoin(parts, " ");
}

namespace {

using internal::TransactionGuard;

std::string SpellForBackend(absl::string_view sql, DbKind kind) {
  return absl::StrReplaceAll(
      sql, {{"${ID_PK}", kind == DbKind::kPostgres ? "BIGSERIAL PRIMARY KEY"
                                                   : "INTEGER PRIMARY KEY AUTOINCREMENT"}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  DbKind kind;
  std::string connect;
  if (absl::StartsWith(options.url, kSqlitePrefix)) {
    kind = DbKind::kSqlite;
    connect = std::string(absl::StripPrefix(options.url, kSqlitePrefix));
    if (connect.empty()) return absl::InvalidArgumentError("sqlite: url needs a file path");
    connect = absl::StrCat("db=", connect, " timeout=", limits::kSqliteBusyTimeoutMs / 1000);
    if (!options.password.empty()) {
      return absl::InvalidArgumentError("a password was given, but a SQLite database has none");
    }
  } else if (absl::StartsWith(options.url, "postgresql://") ||
             absl::StartsWith(options.url, "postgres://")) {
    kind = DbKind::kPostgres;
    ASSIGN_OR_RETURN(std::string from_url, PostgresConninfo(options.url));
    // fxmesh's session defaults first: a parameter given in the url comes later and wins.
    connect = absl::StrCat(PostgresSessionDefaults(), " ", from_url);
    if (!options.password.empty()) {
      if (DatabaseUrlHasPassword(options.url)) {
        return absl::InvalidArgumentError(
            "the database url has a password, and a password file gives one too: give it once");
      }
      // First: SOCI reads the connect string itself before libpq does, and garbles what follows
      // a value with an escaped quote in it (a password may well have one).
      connect = absl::StrCat("password=", QuoteConninfoValue(options.password), " ", connect);
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("database url must start with sqlite: or postgresql://; got '",
                     RedactDatabaseUrl(options.url), "'"));
  }
  size_t pool_size = options.pool_size;
  if (pool_size == 0) {
    pool_size = kind == DbKind::kPostgres ? limits::kPostgresPoolSizeDefault
                                          : limits::kSqlitePoolSizeDefault;
  }
  auto pool = std::make_unique<soci::connection_pool>(pool_size);
  const std::string description = RedactDatabaseUrl(options.url);
  try {
    for (size_t i = 0; i < pool_size; ++i) {
      soci::session& session = pool->at(i);
      if (kind == DbKind::kSqlite) {
        session.open(soci::sqlite3, connect);
        // WAL lets readers run beside the writer; synchronous=FULL makes each commit durable.
        session << "PRAGMA journal_mode=WAL";
        session << "PRAGMA synchronous=FULL";
        session << "PRAGMA foreign_keys=ON";
        session << "PRAGMA busy_timeout=" << limits::kSqliteBusyTimeoutMs;
      } else {
        session.open(soci::postgresql, connect);
      }
    }
  } catch (const soci::soci_error& error) {
    absl::Status status = StatusFromSociError(error, absl::StrCat("connecting to ", description));
    return absl::UnavailableError(status.message());
  }
  int batches_in_flight = 1;
  if (kind == DbKind::kPostgres) {
    batches_in_flight = options.batches_in_flight > 0 ? options.batches_in_flight
                                                      : limits::kPostgresBatchesInFlight;
  }
  return std::unique_ptr<Database>(
      new Database(kind, description, std::move(pool), pool_size, batches_in_flight));
}

Database::Database(DbKind kind, std::string description,
                   std::unique_ptr<soci::connection_pool> pool, size_t pool_size,
                   int batches_in_flight_max)
    : kind_(kind),
      description_(std::move(description)),
      pool_(std::move(pool)),
      pool_size_(pool_size),
      batches_in_flight_max_(batches_in_flight_max) {}

Database::~Database() {
  // Statements first: none may outlive its connection.
  for (size_t i = 0; i < pool_size_; ++i) ForgetPreparedStatements(pool_->at(i));
}

absl::StatusOr<SchemaReport> Database::Migrate(const Schema& schema) {
  const std::string during = absl::StrCat("migrating ", schema.component);
  const std::string name(schema.component);
  SchemaReport report;
  try {
    internal::LeasedSession lease(*pool_);
    soci::session& session = lease.get();
    session << "CREATE TABLE IF NOT EXISTS schema_migrations ("
               " component TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
               " applied_at_us BIGINT NOT NULL, PRIMARY KEY (component, version))";
    // Replicas starting together take turns; the lock ends with the session's use below.
    constexpr long long kMigrationLockKey = 0x66786d657368;  // "fxmesh"
    if (kind_ == DbKind::kPostgres) {
      // Waiting for another replica's migration is expected: no lock or statement timeout here.
      session << "SET lock_timeout = 0";
      session << "SET statement_timeout = 0";
      session << "SELECT pg_advisory_lock(" << kMigrationLockKey << ")";
    }
    // Read under the lock: a replica that migrated while this one waited is seen here.
    std::map<int, std::string> recorded = internal::RecordedMigrations(session, kind_, name);
    for (const Migration& migration : schema.migrations) {
      if (recorded.count(migration.version) > 0) continue;
      session << (kind_ == DbKind::kSqlite ? "BEGIN IMMEDIATE" : "BEGIN");
      TransactionGuard guard(session);
      const absl::string_view dialect_sql =
          kind_ == DbKind::kSqlite ? migration.sqlite_sql : migration.postgres_sql;
      for (absl::string_view sql : {migration.sql, dialect_sql}) {
        for (absl::string_view statement : absl::StrSplit(sql, ";\n", absl::SkipWhitespace())) {
          statement = absl::StripSuffix(absl::StripTrailingAsciiWhitespace(statement), ";");
          if (!statement.empty()) session << SpellForBackend(statement, kind_);
        }
      }
      const long long now_us = absl::ToUnixMicros(absl::Now());
      const std::string migration_name(migration.name);
      session << "INSERT INTO schema_migrations (component, version, name, applied_at_us)"
                 " VALUES (:c, :v, :n, :t)",
          soci::use(name), soci::use(migration.version), soci::use(migration_name),
          soci::use(now_us);
      session << "COMMIT";
      guard.Close();
      recorded[migration.version] = migration_name;
      report.applied.push_back(internal::MigrationLabel(migration.version, migration.name));
      LogInfo("applied migration")
          .With("component", schema.component)
          .With("version", migration.version)
          .With("name", migration.name);
    }
    if (kind_ == DbKind::kPostgres) {
      session << "SELECT pg_advisory_unlock(" << kMigrationLockKey << ")";
      session << "RESET lock_timeout";
      session << "RESET statement_timeout";
    }
    internal::DescribeRecorded(recorded, schema, report);
    return report;
  } catch (const soci::soci_error& error) {
    return StatusFromSociError(error, during);
  }
}

}  // namespace fxmesh
