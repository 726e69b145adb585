// Database's transactions, with group commit, and its reads. (db.cc opens and migrates.)
#include <soci/soci.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/db_session.h"
#include "common/limits.h"
#include "common/prepared_statement.h"
#include "common/soci_util.h"

namespace fxmesh {

using internal::LeasedSession;
using internal::ReconnectIfBroken;
using internal::TransactionGuard;

struct Database::Pending {
  explicit Pending(absl::FunctionRef<absl::StatusOr<Completion>(soci::session&)> body)
      : body(body) {}

  absl::FunctionRef<absl::StatusOr<Completion>(soci::session&)> body;
  // Set by the batch's leader before `done`; read by the caller after it.
  absl::Status status;
  bool taken = false;  // In a batch (under queue_mu_).
  bool done = false;   // Its batch finished (under queue_mu_).
};

// A batch's later bodies give up a lock wait well before its first body would.
static_assert(limits::kGroupCommitFollowerLockTimeoutMs * 4 < limits::kPostgresLockTimeoutMs);

namespace {

// The statements of every transaction, prepared once per connection. Each body of a batch of more
// than one runs inside the savepoint, released after it. (The rollbacks stay plain statements: they
// run when something already failed, and must work on a connection in any state.)
constexpr absl::string_view kBegin = "BEGIN";
constexpr absl::string_view kBeginSqlite = "BEGIN IMMEDIATE";
constexpr absl::string_view kSavepoint = "SAVEPOINT fxmesh_call";
constexpr absl::string_view kReleaseSavepoint = "RELEASE SAVEPOINT fxmesh_call";
constexpr char kRollbackToSavepoint[] = "ROLLBACK TO SAVEPOINT fxmesh_call";
constexpr absl::string_view kCommit = "COMMIT";

}  // namespace

absl::Status Database::Transact(
    absl::FunctionRef<absl::StatusOr<Completion>(soci::session&)> body) {
  absl::Status status;
  for (int attempt = 1; attempt <= limits::kTransactionAttemptsMax; ++attempt) {
    Pending pending(body);
    RunInBatch(pending);
    status = std::move(pending.status);
    if (!absl::IsAborted(status) || IsStaleRead(status)) return status;
  }
  return absl::UnavailableError(absl::StrCat("gave up after ", limits::kTransactionAttemptsMax,
                                             " conflicting attempts: ", status.message()));
}

void Database::RunInBatch(Pending& pending) {
  queue_mu_.Lock();
  queue_.push_back(&pending);
  // Wait until our batch has finished, or until a batch may start while ours still waits: then
  // this caller leads one, of the oldest waiting transactions (ours or ones queued before it).
  auto done_or_may_lead = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return pending.done || (!pending.taken && batches_in_flight_ < batches_in_flight_max_);
  };
  while (true) {
    queue_mu_.Await(absl::Condition(&done_or_may_lead));
    if (pending.done) break;
    std::vector<Pending*> batch;
    while (!queue_.empty() && batch.size() < limits::kGroupCommitBatchMax) {
      batch.push_back(queue_.front());
      queue_.pop_front();
      batch.back()->taken = true;
    }
    ++batches_in_flight_;
    queue_mu_.Unlock();
    const CommitCounts counts = RunBatch(batch);
    queue_mu_.Lock();
    --batches_in_flight_;
    counts_.transactions += counts.transactions;
    counts_.commits += counts.commits;
    for (Pending* finished : batch) finished->done = true;
  }
  queue_mu_.Unlock();
}

Database::CommitCounts Database::RunBatch(const std::vector<Pending*>& batch) {
  // A batch of one runs as a plain transaction, without the savepoint's round trips.
  const bool alone = batch.size() == 1;
  LeasedSession lease(*pool_);
  soci::session& session = lease.get();
  try {
    ReconnectIfBroken(session);
    RunPrepared(session, kind_ == DbKind::kSqlite ? kBeginSqlite : kBegin);
    TransactionGuard guard(session);
    int64_t to_commit = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending* pending = batch[i];
      const bool follower = i > 0;
      if (i == 1 && kind_ == DbKind::kPostgres) {
        // The batch holds its first body's locks from here on: a later body must not wait long
        // for a row another transaction holds (that one may be waiting for ours).
        session << "SET LOCAL lock_timeout = " << limits::kGroupCommitFollowerLockTimeoutMs;
      }
      if (!alone) RunPrepared(session, kSavepoint);
      absl::StatusOr<Completion> completion;
      try {
        completion = pending->body(session);
      } catch (const soci::soci_error& error) {
        completion = StatusFromSociError(error, "a transaction");
      }
      if (follower && IsLockTimeout(completion.status())) {
        // Not the row's fault, nor the caller's: Transact runs it again, in a later batch.
        completion = absl::AbortedError(absl::StrCat(
            "waited ", limits::kGroupCommitFollowerLockTimeoutMs,
            " ms for a row lock inside a batch; run again: ", completion.status().message()));
      }
      const bool commit = completion.ok() && *completion == Completion::kCommit;
      pending->status = completion.ok() ? absl::OkStatus() : completion.status();
      if (commit) {
        ++to_commit;
        if (!alone) RunPrepared(session, kReleaseSavepoint);
      } else if (!alone) {
        // Undoes this body's writes alone; the bodies before it keep theirs.
        session << kRollbackToSavepoint;
        RunPrepared(session, kReleaseSavepoint);
      }
    }
    if (to_commit == 0) return {};  // The guard rolls back; every status is final.
    try {
      RunPrepared(session, kCommit);
    } catch (const soci::soci_error& error) {
      // A failed COMMIT may or may not have reached the disk: that is "don't know" for every body
      // of the batch (even one that rolled back answered from what the others wrote), never a
      // retry of the same bodies, which could apply their work twice.
      const absl::Status unknown =
          absl::UnavailableError(StatusFromSociError(error, "commit").message());
      for (Pending* pending : batch) pending->status = unknown;
      return {};
    }
    guard.Close();
    return {.transactions = to_commit, .commits = 1};
  } catch (const soci::soci_error& error) {
    // BEGIN or a savepoint failed: the session broke, and nothing of the batch committed.
    const absl::Status status = StatusFromSociError(error, "a transaction");
    for (Pending* pending : batch) pending->status = status;
    return {};
  }
}

Database::CommitCounts Database::commit_counts() const {
  absl::MutexLock lock(&queue_mu_);
  return counts_;
}

size_t Database::transactions_waiting() const {
  absl::MutexLock lock(&queue_mu_);
  return queue_.size();
}

absl::Status Database::Read(absl::FunctionRef<absl::Status(soci::session&)> body) {
  reads_.fetch_add(1, std::memory_order_relaxed);
  LeasedSession lease(*pool_);
  soci::session& session = lease.get();
  try {
    ReconnectIfBroken(session);
    return body(session);
  } catch (const soci::soci_error& error) {
    return StatusFromSociError(error, "a read");
  }
}

absl::Status Database::Ping() {
  return Read([](soci::session& session) {
    int one = 0;
    session << "SELECT 1", soci::into(one);
    return absl::OkStatus();
  });
}

}  // namespace fxmesh
