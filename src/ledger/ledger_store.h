// The ledger's storage seam. LedgerEngine holds the rules; a LedgerStore only reads and writes
// rows, so a test can swap in a store that fails the Nth write, and writes can later be batched
// into one commit. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db.h"

namespace fxmesh::ledger {

enum class HoldState { kHeld = 1, kConfirmed = 2, kCancelled = 3 };
enum class BarrierOp { kTry = 1, kConfirm = 2, kCancel = 3 };
enum class AccountKind { kCustomer = 1, kPosition = 2 };
enum class JournalKind { kTransfer = 1, kDeposit = 2, kWithdrawal = 3 };

struct BranchKey {
  std::string saga_id;
  std::string branch;
};

struct AccountRow {
  std::string account_id;
  std::string currency;
  AccountKind kind = AccountKind::kCustomer;
  std::string owner;
  int64_t available_minor = 0;
  int64_t held_minor = 0;
  int64_t incoming_minor = 0;
  bool frozen = false;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
};

struct HoldRow {
  int64_t hold_id = 0;  // Assigned by the store; orders listings.
  BranchKey branch;
  std::string debit_account_id;
  std::string credit_account_id;
  std::string currency;
  int64_t amount_minor = 0;
  HoldState state = HoldState::kHeld;
  int64_t created_at_us = 0;
  int64_t updated_at_us = 0;
};

struct JournalRow {
  int64_t entry_id = 0;  // Assigned by the store.
  JournalKind kind = JournalKind::kTransfer;
  std::string debit_account_id;
  std::string credit_account_id;
  std::string currency;
  int64_t amount_minor = 0;
  BranchKey branch;        // Transfers only.
  std::string request_id;  // Deposits and withdrawals only.
  int64_t posted_at_us = 0;
};

struct ExternalTransferRow {
  std::string request_id;
  JournalKind kind = JournalKind::kDeposit;
  std::string account_id;
  std::string currency;
  int64_t amount_minor = 0;
  int64_t created_at_us = 0;
};

struct HoldFilter {
  std::optional<HoldState> state;
  std::string account_id;  // Matches either side; empty for any.
  std::string saga_id;     // Empty for any.
  std::optional<int64_t> created_at_or_before_us;
  int64_t after_hold_id = 0;
  int limit = 100;
};

struct JournalFilter {
  std::string account_id;
  std::string saga_id;
  int64_t after_entry_id = 0;
  int limit = 100;
};

struct CurrencyTotalsRow {
  std::string currency;
  int64_t available_minor = 0;
  int64_t held_minor = 0;
  int64_t incoming_minor = 0;
  int64_t deposited_minor = 0;
  int64_t withdrawn_minor = 0;
  int64_t open_credit_holds_minor = 0;
  int64_t open_hold_count = 0;
  int64_t account_count = 0;
};

// The reads and writes of one local transaction. Lock* reads take a row lock where the backend
// has them (PostgreSQL), so a read-modify-write is safe against concurrent transactions. Valid only
// inside the LedgerStore::Transact call that provided it.
class LedgerTransaction {
 public:
  virtual ~LedgerTransaction() = default;

  // Records that `op` happened for `branch`, naming the op that wrote the row (a Cancel writes the
  // Try row too, which is what stops a late Try). False, with nothing written, when the row exists.
  virtual absl::StatusOr<bool> InsertBarrier(const BranchKey& branch, BarrierOp op,
                                             BarrierOp written_by, int64_t created_at_us) = 0;
  // Which op wrote `branch`'s row for `op`, if any.
  virtual absl::StatusOr<std::optional<BarrierOp>> BarrierWriter(const BranchKey& branch,
                                                                 BarrierOp op) = 0;

  virtual absl::StatusOr<std::optional<HoldRow>> LockHold(const BranchKey& branch) = 0;
  virtual absl::Status InsertHold(const HoldRow& hold) = 0;
  virtual absl::Status UpdateHoldState(const BranchKey& branch, HoldState state,
                                       int64_t updated_at_us) = 0;

  virtual absl::StatusOr<std::optional<AccountRow>> LockAccount(absl::string_view account_id) = 0;
  virtual absl::Status InsertAccount(const AccountRow& account) = 0;
  // Writes balances, frozen and updated_at of an existing account.
  virtual absl::Status UpdateAccount(const AccountRow& account) = 0;

  virtual absl::Status AppendJournal(const JournalRow& entry) = 0;

  virtual absl::StatusOr<std::optional<ExternalTransferRow>> FindExternalTransfer(
      absl::string_view request_id) = 0;
  virtual absl::Status InsertExternalTransfer(const ExternalTransferRow& transfer) = 0;
};

class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // Brings the schema up to date (LedgerSchema(); MigrateMode::kAuto).
  virtual absl::Status Migrate() = 0;

  // Runs `body` in one local transaction (see Database::Transact for commit, rollback and retry).
  virtual absl::Status Transact(
      absl::FunctionRef<absl::StatusOr<Completion>(LedgerTransaction&)> body) = 0;

  virtual absl::StatusOr<std::optional<AccountRow>> GetAccount(absl::string_view account_id) = 0;
  virtual absl::StatusOr<std::vector<HoldRow>> ListHolds(const HoldFilter& filter) = 0;
  // How many holds are in `state` and were created at or before `created_at_or_before_us`.
  virtual absl::StatusOr<int64_t> CountHolds(HoldState state, int64_t created_at_or_before_us) = 0;
  virtual absl::StatusOr<std::vector<JournalRow>> ListJournal(const JournalFilter& filter) = 0;
  // Per-currency totals, ordered by currency code.
  virtual absl::StatusOr<std::vector<CurrencyTotalsRow>> GetCurrencyTotals() = 0;
  virtual absl::Status Ping() = 0;
};

// The ledger's tables and their migrations (component "ledger" in schema_migrations).
Schema LedgerSchema();

// The SOCI-backed store over `database`, which must outlive it.
std::unique_ptr<LedgerStore> NewSociLedgerStore(Database& database);

}  // namespace fxmesh::ledger
