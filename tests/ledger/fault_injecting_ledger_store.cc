#include "tests/ledger/fault_injecting_ledger_store.h"

#include "common/status_macros.h"

namespace fxmesh::ledger {
namespace {

// Forwards to the real transaction, letting the store fail any write before it happens.
class FaultInjectingTransaction final : public LedgerTransaction {
 public:
  FaultInjectingTransaction(LedgerTransaction& inner, FaultInjectingLedgerStore& store)
      : inner_(inner), store_(store) {}

  absl::StatusOr<bool> InsertBarrier(const BranchKey& branch, BarrierOp op, BarrierOp written_by,
                                     int64_t created_at_us) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.InsertBarrier(branch, op, written_by, created_at_us);
  }
  absl::StatusOr<std::optional<BarrierOp>> BarrierWriter(const BranchKey& branch,
                                                         BarrierOp op) override {
    return inner_.BarrierWriter(branch, op);
  }
  absl::StatusOr<std::optional<HoldRow>> LockHold(const BranchKey& branch) override {
    return inner_.LockHold(branch);
  }
  absl::Status InsertHold(const HoldRow& hold) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.InsertHold(hold);
  }
  absl::Status UpdateHoldState(const BranchKey& branch, HoldState state,
                               int64_t updated_at_us) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.UpdateHoldState(branch, state, updated_at_us);
  }
  absl::StatusOr<std::optional<AccountRow>> LockAccount(absl::string_view account_id) override {
    return inner_.LockAccount(account_id);
  }
  absl::Status InsertAccount(const AccountRow& account) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.InsertAccount(account);
  }
  absl::Status UpdateAccount(const AccountRow& account) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.UpdateAccount(account);
  }
  absl::Status AppendJournal(const JournalRow& entry) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.AppendJournal(entry);
  }
  absl::StatusOr<std::optional<ExternalTransferRow>> FindExternalTransfer(
      absl::string_view request_id) override {
    return inner_.FindExternalTransfer(request_id);
  }
  absl::Status InsertExternalTransfer(const ExternalTransferRow& transfer) override {
    RETURN_IF_ERROR(store_.CountWrite());
    return inner_.InsertExternalTransfer(transfer);
  }

 private:
  LedgerTransaction& inner_;
  FaultInjectingLedgerStore& store_;
};

}  // namespace

void FaultInjectingLedgerStore::FailNthWrite(int n, absl::Status fault) {
  absl::MutexLock lock(&mu_);
  fail_at_ = n == 0 ? 0 : writes_.load() + n;
  fault_ = std::move(fault);
}

absl::Status FaultInjectingLedgerStore::CountWrite() {
  const int write = ++writes_;
  absl::MutexLock lock(&mu_);
  if (fail_at_ != 0 && write == fail_at_) {
    fail_at_ = 0;
    return fault_;
  }
  return absl::OkStatus();
}

absl::Status FaultInjectingLedgerStore::Transact(
    absl::FunctionRef<absl::StatusOr<Completion>(LedgerTransaction&)> body) {
  return inner_.Transact([&](LedgerTransaction& inner) {
    FaultInjectingTransaction transaction(inner, *this);
    return body(transaction);
  });
}

}  // namespace fxmesh::ledger
