// A LedgerStore that passes everything to a real store but can fail the Nth write from now, so a
// test can prove that a write failing at any point of a call leaves no trace.
#pragma once

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "ledger/ledger_store.h"

namespace fxmesh::ledger {

class FaultInjectingLedgerStore final : public LedgerStore {
 public:
  explicit FaultInjectingLedgerStore(LedgerStore& inner) : inner_(inner) {}

  // The `n`th write (1-based) from now fails with `fault`, once. n = 0 clears the fault.
  void FailNthWrite(int n, absl::Status fault = absl::UnavailableError("injected write fault"));
  // Writes attempted since construction.
  int writes() const { return writes_.load(); }

  absl::Status Migrate() override { return inner_.Migrate(); }
  absl::Status Transact(
      absl::FunctionRef<absl::StatusOr<Completion>(LedgerTransaction&)> body) override;
  absl::StatusOr<std::optional<AccountRow>> GetAccount(absl::string_view account_id) override {
    return inner_.GetAccount(account_id);
  }
  absl::StatusOr<int64_t> CountHolds(HoldState state, int64_t created_at_or_before_us) override {
    return inner_.CountHolds(state, created_at_or_before_us);
  }
  absl::StatusOr<std::vector<HoldRow>> ListHolds(const HoldFilter& filter) override {
    return inner_.ListHolds(filter);
  }
  absl::StatusOr<std::vector<JournalRow>> ListJournal(const JournalFilter& filter) override {
    return inner_.ListJournal(filter);
  }
  absl::StatusOr<std::vector<CurrencyTotalsRow>> GetCurrencyTotals() override {
    return inner_.GetCurrencyTotals();
  }
  absl::Status Ping() override { return inner_.Ping(); }

  // Counts a write; returns the injected fault when this is the one to fail.
  absl::Status CountWrite();

 private:
  LedgerStore& inner_;
  std::atomic<int> writes_{0};
  absl::Mutex mu_;
  int fail_at_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status fault_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::ledger
