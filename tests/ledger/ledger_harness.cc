#include "tests/ledger/ledger_harness.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fxmesh::ledger {

std::string TestSagaId(int n) { return absl::StrFormat("%032x", n + 1); }

LedgerHarness::LedgerHarness(testing::Backend backend, const std::string& currencies,
                             size_t pool_size)
    : database_(backend) {
  db_ = database_.Open(pool_size);
  store_ = NewSociLedgerStore(*db_);
  REQUIRE(store_->Migrate().ok());
  faulty_ = std::make_unique<FaultInjectingLedgerStore>(*store_);
  absl::StatusOr<std::vector<Currency>> parsed = ParseCurrencyList(currencies);
  REQUIRE(parsed.ok());
  engine_ = std::make_unique<LedgerEngine>(*faulty_, clock_, *parsed);
  absl::Status status = engine_->EnsurePositionAccounts();
  INFO(status.ToString());
  REQUIRE(status.ok());
}

v1::AccountResponse LedgerHarness::Open(const std::string& account_id,
                                        const std::string& currency) {
  v1::OpenAccountRequest request;
  request.set_account_id(account_id);
  request.set_currency(currency);
  request.set_owner(std::string(kTestCustomer));
  v1::AccountResponse response;
  absl::Status status = engine_->OpenAccount(request, &response);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return response;
}

v1::ExternalTransferResponse LedgerHarness::Deposit(const std::string& account_id,
                                                    int64_t amount_minor,
                                                    const std::string& currency) {
  v1::ExternalTransferRequest request;
  request.set_request_id(absl::StrCat("deposit-", ++request_counter_));
  request.set_account_id(account_id);
  request.mutable_amount()->set_amount_minor(amount_minor);
  request.mutable_amount()->set_currency(currency);
  v1::ExternalTransferResponse response;
  absl::Status status = engine_->Deposit(request, &response);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return response;
}

v1::BranchResponse LedgerHarness::Try(const std::string& saga_id, const std::string& branch,
                                      const std::string& debit, const std::string& credit,
                                      int64_t amount_minor, const std::string& currency) {
  v1::TryRequest request;
  request.mutable_branch()->set_saga_id(saga_id);
  request.mutable_branch()->set_branch(branch);
  request.set_customer_id(std::string(kTestCustomer));
  request.set_debit_account_id(debit);
  request.set_credit_account_id(credit);
  request.mutable_amount()->set_amount_minor(amount_minor);
  request.mutable_amount()->set_currency(currency);
  v1::BranchResponse response;
  absl::Status status = engine_->Try(request, &response);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return response;
}

v1::BranchResponse LedgerHarness::Confirm(const std::string& saga_id, const std::string& branch) {
  v1::BranchRequest request;
  request.mutable_branch()->set_saga_id(saga_id);
  request.mutable_branch()->set_branch(branch);
  v1::BranchResponse response;
  absl::Status status = engine_->Confirm(request, &response);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return response;
}

v1::BranchResponse LedgerHarness::Cancel(const std::string& saga_id, const std::string& branch) {
  v1::BranchRequest request;
  request.mutable_branch()->set_saga_id(saga_id);
  request.mutable_branch()->set_branch(branch);
  v1::BranchResponse response;
  absl::Status status = engine_->Cancel(request, &response);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return response;
}

v1::Account LedgerHarness::Account(const std::string& account_id) {
  v1::GetAccountRequest request;
  request.set_account_id(account_id);
  v1::Account account;
  absl::Status status = engine_->GetAccount(request, &account);
  INFO(status.ToString());
  REQUIRE(status.ok());
  return account;
}

std::string LedgerHarness::Snapshot() {
  std::string snapshot;
  v1::BalanceSheet sheet;
  REQUIRE(engine_->GetBalanceSheet(&sheet).ok());
  absl::StrAppend(&snapshot, sheet.ShortDebugString(), "\n");
  HoldFilter all_holds;
  all_holds.limit = 1'000'000;
  absl::StatusOr<std::vector<HoldRow>> holds = store_->ListHolds(all_holds);
  REQUIRE(holds.ok());
  for (const HoldRow& hold : *holds) {
    absl::StrAppend(&snapshot, "hold ", hold.branch.saga_id, "/", hold.branch.branch, " ",
                    static_cast<int>(hold.state), " ", hold.amount_minor, "\n");
  }
  JournalFilter all_entries;
  all_entries.limit = 1'000'000;
  absl::StatusOr<std::vector<JournalRow>> journal = store_->ListJournal(all_entries);
  REQUIRE(journal.ok());
  absl::StrAppend(&snapshot, "journal entries ", journal->size(), "\n");
  return snapshot;
}

void LedgerHarness::CheckInvariants() {
  v1::BalanceSheet sheet;
  REQUIRE(engine_->GetBalanceSheet(&sheet).ok());
  INFO(sheet.DebugString());
  for (const v1::CurrencyTotals& totals : sheet.currencies()) {
    CHECK(totals.available_minor() + totals.held_minor() ==
          totals.deposited_minor() - totals.withdrawn_minor());
    CHECK(totals.incoming_minor() == totals.open_credit_holds_minor());
    CHECK(totals.available_minor() >= 0);
    CHECK(totals.held_minor() >= 0);
    CHECK(totals.incoming_minor() >= 0);
  }
  CHECK(sheet.balanced());

  HoldFilter all_holds;
  all_holds.limit = 1'000'000;
  absl::StatusOr<std::vector<HoldRow>> holds = store_->ListHolds(all_holds);
  REQUIRE(holds.ok());
  for (const HoldRow& hold : *holds) {
    JournalFilter postings;
    postings.saga_id = hold.branch.saga_id;
    postings.limit = 1'000;
    absl::StatusOr<std::vector<JournalRow>> entries = store_->ListJournal(postings);
    REQUIRE(entries.ok());
    size_t branch_postings = 0;
    for (const JournalRow& entry : *entries) {
      if (entry.branch.branch == hold.branch.branch) ++branch_postings;
    }
    INFO("hold " << hold.branch.saga_id << "/" << hold.branch.branch);
    CHECK(branch_postings == (hold.state == HoldState::kConfirmed ? 1u : 0u));
  }
}

}  // namespace fxmesh::ledger
