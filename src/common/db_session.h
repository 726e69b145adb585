// Session helpers shared by Database's files (db.cc, db_transact.cc). Internal to Database.
#pragma once

#include <soci/soci.h>

#include <exception>

#include "common/log.h"
#include "common/prepared_statement.h"

namespace fxmesh::internal {

// Rolls back the transaction when the body or commit did not finish it.
class TransactionGuard {
 public:
  explicit TransactionGuard(soci::session& session) : session_(session) {}
  TransactionGuard(const TransactionGuard&) = delete;
  TransactionGuard& operator=(const TransactionGuard&) = delete;
  ~TransactionGuard() {
    if (open_) {
      try {
        session_ << "ROLLBACK";
      } catch (const std::exception&) {
        // The connection is gone; the server rolls the transaction back on its own.
      }
    }
  }
  void Close() { open_ = false; }

 private:
  soci::session& session_;
  bool open_ = true;
};

// One of the pool's sessions, lent for one call and given back on destruction. Bodies get the
// pooled session itself (not a SOCI proxy that lives only as long as the lease), which is what
// prepared statements are kept by.
class LeasedSession {
 public:
  explicit LeasedSession(soci::connection_pool& pool) : pool_(pool), position_(pool.lease()) {}
  LeasedSession(const LeasedSession&) = delete;
  LeasedSession& operator=(const LeasedSession&) = delete;
  ~LeasedSession() { pool_.give_back(position_); }
  soci::session& get() { return pool_.at(position_); }

 private:
  soci::connection_pool& pool_;
  const std::size_t position_;
};

// Re-opens a pooled session whose connection broke, so one outage does not poison the pool. Its
// prepared statements go with the old connection.
inline void ReconnectIfBroken(soci::session& session) {
  try {
    if (session.is_connected()) return;
    ForgetPreparedStatements(session);
    session.reconnect();
  } catch (const std::exception& error) {
    LogWarning("database reconnect failed").With("error", error.what());
  }
}

}  // namespace fxmesh::internal
