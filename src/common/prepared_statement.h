// Statements prepared once per pooled connection and reused by every later call, so the hot paths
// parse and plan each SQL text once per connection instead of once per call (SQLite: one
// sqlite3_prepare_v2; PostgreSQL: one PREPARE, then a single EXECUTE round trip per call instead
// of SOCI's PREPARE, EXECUTE and DEALLOCATE).
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "common/soci_util.h"

namespace fxmesh {

// What running a statement did.
struct Executed {
  bool got_data = false;        // A SELECT produced a row (read into its soci::into targets).
  long long affected_rows = 0;  // Rows an INSERT, UPDATE or DELETE changed.
};

namespace internal {

// The prepared statement for one SQL text on one connection, lent for one execution: prepared on
// first use, then kept until ForgetPreparedStatements. On return its bindings are dropped and, on
// SQLite, it is reset, so no read stays open on the connection after the call.
class StatementLease {
 public:
  StatementLease(soci::session& sql, absl::string_view query);
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  ~StatementLease();
  soci::statement& statement() { return *statement_; }

 private:
  soci::statement* statement_;
  bool sqlite_;
};

}  // namespace internal

// Runs `query` once with `bindings` (soci::use and soci::into values, or one soci::row through
// soci::into; at most one row is read) on `sql`, reusing the connection's prepared statement for
// this exact text. `sql` must be a session Database lent to a body: a pooled connection, which is
// what the cache is keyed by. SOCI exceptions pass through, as with `sql << ...`.
template <typename... Bindings>
Executed RunPrepared(soci::session& sql, absl::string_view query, Bindings&&... bindings) {
  internal::StatementLease lease(sql, query);
  soci::statement& statement = lease.statement();
  (statement.exchange(std::forward<Bindings>(bindings)), ...);
  statement.define_and_bind();
  Executed executed;
  executed.got_data = statement.execute(true);
  executed.affected_rows = statement.get_affected_rows();
  return executed;
}

// Drops every statement prepared on `sql`'s connection. Database calls it before the connection
// is reconnected or closed, since a statement cannot outlive its connection.
void ForgetPreparedStatements(soci::session& sql);

// How many statements are prepared on `sql`'s connection (for tests and metrics).
size_t PreparedStatementCount(soci::session& sql);

}  // namespace fxmesh
