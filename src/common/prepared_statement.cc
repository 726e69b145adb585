#include "common/prepared_statement.h"

#include <soci/sqlite3/soci-sqlite3.h>

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace fxmesh {
namespace {

// One connection's statements, by SQL text, and its backend. Only the thread holding the connection
// touches it.
struct Statements {
  bool sqlite = false;
  absl::flat_hash_map<std::string, std::unique_ptr<soci::statement>> by_query;
};

// Ends a SQLite statement's read now (a SELECT stepped to its first row holds one open, which would
// pin the connection's snapshot), not at its next use. SOCI's own reset is not exported.
void ResetSqlite(soci::statement& statement) {
  auto* backend = static_cast<soci::sqlite3_statement_backend*>(statement.get_backend());
  sqlite_api::sqlite3_reset(backend->stmt_);
  backend->databaseReady_ = true;
}

// Every pooled connection's statements, keyed by the connection's session (a pooled session lives
// as long as its pool; Database forgets its statements before closing it).
class Registry {
 public:
  Statements& For(soci::session& sql) {
    absl::MutexLock lock(&mu_);
    std::unique_ptr<Statements>& statements = by_session_[&sql];
    if (statements == nullptr) {
      statements = std::make_unique<Statements>();
      statements->sqlite = sql.get_backend_name() == "sqlite3";
    }
    return *statements;
  }
  void Forget(soci::session& sql) {
    std::unique_ptr<Statements> dropped;
    {
      absl::MutexLock lock(&mu_);
      auto found = by_session_.find(&sql);
      if (found == by_session_.end()) return;
      dropped = std::move(found->second);
      by_session_.erase(found);
    }
    // Destroyed outside the lock: on PostgreSQL each one sends a DEALLOCATE.
  }
  size_t Count(soci::session& sql) {
    absl::MutexLock lock(&mu_);
    auto found = by_session_.find(&sql);
    return found == by_session_.end() ? 0 : found->second->by_query.size();
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<const soci::session*, std::unique_ptr<Statements>> by_session_
      ABSL_GUARDED_BY(mu_);
};

Registry& TheRegistry() {
  static Registry* const registry = new Registry();  // Never destroyed: used until exit.
  return *registry;
}

}  // namespace

namespace internal {

StatementLease::StatementLease(soci::session& sql, absl::string_view query) {
  Statements& statements = TheRegistry().For(sql);
  sqlite_ = statements.sqlite;
  auto found = statements.by_query.find(query);
  if (found == statements.by_query.end()) {
    // Kept only once prepared: a statement that fails to prepare is not cached.
    auto statement = std::make_unique<soci::statement>(sql);
    statement->alloc();
    statement->prepare(std::string(query), soci::details::st_repeatable_query);
    found = statements.by_query.emplace(query, std::move(statement)).first;
  }
  statement_ = found->second.get();
}

StatementLease::~StatementLease() {
  statement_->bind_clean_up();
  if (sqlite_) ResetSqlite(*statement_);
}

}  // namespace internal

void ForgetPreparedStatements(soci::session& sql) { TheRegistry().Forget(sql); }

size_t PreparedStatementCount(soci::session& sql) { return TheRegistry().Count(sql); }

}  // namespace fxmesh
