// The ledger's rules: accounts, external transfers, and TCC branches with a barrier
// (ARCHITECTURE.md §3). Every call is one local transaction through LedgerStore, and every call is
// idempotent.
//
// Outcomes: a call answers OK with the business outcome in its response (APPLIED, DUPLICATE,
// REJECTED with a reason, NULL_COMPENSATION). A non-OK status means the call was malformed
// (INVALID_ARGUMENT, nothing touched) or its fate is unknown (UNAVAILABLE: retry it; every call is
// safe to repeat). A rejected call changes nothing.
//
// Thread-safe: concurrent calls are serialized by the store's transactions and row locks.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/money.h"
#include "fxmesh/v1/ledger.pb.h"
#include "ledger/branch_calls.h"
#include "ledger/ledger_store.h"

namespace fxmesh::ledger {

// The bank's position account in `currency`: "position:KRW".
std::string PositionAccountId(absl::string_view currency);

// The ledger's invariant for one currency (ARCHITECTURE.md §8.1), the one rule GetBalanceSheet and
// the fxmesh_ledger_balanced gauge apply: Σ(available + held) over its accounts equals deposits
// minus withdrawals, and Σ incoming equals the open credit holds.
bool CurrencyBalances(const v1::CurrencyTotals& totals);

class LedgerEngine final : public BranchCalls {
 public:
  // `store` and `clock` must outlive the engine. `currencies` are the ones this ledger serves.
  LedgerEngine(LedgerStore& store, const Clock& clock, std::vector<Currency> currencies);

  // Opens the position account of every served currency that lacks one. Run once at start-up.
  absl::Status EnsurePositionAccounts();

  absl::Status Try(const v1::TryRequest& request, v1::BranchResponse* response) override;
  absl::Status Confirm(const v1::BranchRequest& request, v1::BranchResponse* response) override;
  absl::Status Cancel(const v1::BranchRequest& request, v1::BranchResponse* response) override;

  absl::Status OpenAccount(const v1::OpenAccountRequest& request, v1::AccountResponse* response);
  // NOT_FOUND when there is no such account.
  absl::Status GetAccount(const v1::GetAccountRequest& request, v1::Account* response);
  absl::Status SetAccountFrozen(const v1::SetAccountFrozenRequest& request,
                                v1::AccountResponse* response);

  absl::Status Deposit(const v1::ExternalTransferRequest& request,
                       v1::ExternalTransferResponse* response);
  absl::Status Withdraw(const v1::ExternalTransferRequest& request,
                        v1::ExternalTransferResponse* response);

  absl::Status ListHolds(const v1::ListHoldsRequest& request, v1::ListHoldsResponse* response);
  absl::Status ListJournal(const v1::ListJournalRequest& request,
                           v1::ListJournalResponse* response);
  absl::Status GetBalanceSheet(v1::BalanceSheet* response);

  const std::vector<Currency>& currencies() const { return currencies_; }

 private:
  // INVALID_ARGUMENT unless `code` is a currency this ledger serves.
  absl::Status CheckServed(absl::string_view code, absl::string_view field) const;
  absl::Status ExternalTransfer(JournalKind kind, const v1::ExternalTransferRequest& request,
                                v1::ExternalTransferResponse* response);
  int64_t NowMicros() const;

  LedgerStore& store_;
  const Clock& clock_;
  const std::vector<Currency> currencies_;
};

}  // namespace fxmesh::ledger
