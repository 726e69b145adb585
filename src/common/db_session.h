// Session helpers shared by Database's files (db.cc, db_transact.cc). Internal to Database.
#pragma once

#include <soci/soci.h>

#include <exception>

#include "common/log.h"

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

// Re-opens a pooled session whose connection broke, so one outage does not poison the pool.
inline void ReconnectIfBroken(soci::session& session) {
  try {
    if (!session.is_connected()) session.reconnect();
  } catch (const std::exception& error) {
    LogWarning("database reconnect failed").With("error", error.what());
  }
}

}  // namespace fxmesh::internal
