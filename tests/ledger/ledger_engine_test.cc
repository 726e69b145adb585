// Proves the ledger engine's handling of everything but the branch sequences: bad input is refused
// with a clear error and no change in state; deposits, withdrawals and accounts are idempotent;
// a write failing at any point of a call leaves no trace and the call can be retried; parallel
// calls never overdraw an account nor leave a hanging hold. Every test ends by checking the
// conservation invariants over the whole ledger, on SQLite and on PostgreSQL.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "tests/ledger/ledger_harness.h"

namespace fxmesh::ledger {
namespace {

using testing::Backend;

v1::TryRequest MakeTry(const std::string& saga, const std::string& branch, const std::string& debit,
                       const std::string& credit, int64_t amount, const std::string& currency) {
  v1::TryRequest request;
  request.mutable_branch()->set_saga_id(saga);
  request.mutable_branch()->set_branch(branch);
  request.set_customer_id(std::string(kTestCustomer));
  request.set_debit_account_id(debit);
  request.set_credit_account_id(credit);
  request.mutable_amount()->set_amount_minor(amount);
  request.mutable_amount()->set_currency(currency);
  return request;
}

v1::ExternalTransferRequest MakeTransfer(const std::string& request_id, const std::string& account,
                                         int64_t amount, const std::string& currency) {
  v1::ExternalTransferRequest request;
  request.set_request_id(request_id);
  request.set_account_id(account);
  request.mutable_amount()->set_amount_minor(amount);
  request.mutable_amount()->set_currency(currency);
  return request;
}

// Expects `status` to be INVALID_ARGUMENT with a message containing `words`.
void CheckInvalid(const absl::Status& status, const std::string& words) {
  INFO(status.ToString());
  CHECK(absl::IsInvalidArgument(status));
  CHECK_THAT(std::string(status.message()), Catch::Contains(words));
}

FXMESH_BACKEND_TEST("a Try moves only its customer's own money", "[ledger][db][security]") {
  LedgerHarness ledger(backend, "KRW");
  ledger.Open("own-krw", "KRW");  // The harness's customer's.
  ledger.Deposit("own-krw", 50'000, "KRW");
  v1::OpenAccountRequest open;
  open.set_account_id("mallory-krw");
  open.set_currency("KRW");
  open.set_owner("mallory");
  v1::AccountResponse opened;
  REQUIRE(ledger.engine().OpenAccount(open, &opened).ok());
  const std::string before = ledger.Snapshot();
  v1::BranchResponse response;

  // Someone else's account, as the debit or as the credit: refused, and nothing held. The answer
  // says nothing about the account beyond what the caller named (no balance).
  v1::TryRequest theft = MakeTry(TestSagaId(1), "krw", "own-krw", "position:KRW", 700, "KRW");
  theft.set_customer_id("mallory");
  REQUIRE(ledger.engine().Try(theft, &response).ok());
  CHECK(response.outcome() == v1::OUTCOME_REJECTED);
  CHECK(response.reason() == v1::REJECT_REASON_NOT_OWNER);
  CHECK_THAT(response.detail(), !Catch::Contains("50000") && !Catch::Contains("50,000"));
  REQUIRE(ledger.engine()
              .Try(MakeTry(TestSagaId(2), "krw", "own-krw", "mallory-krw", 700, "KRW"), &response)
              .ok());
  CHECK(response.reason() == v1::REJECT_REASON_NOT_OWNER);
  // A Try that names no customer is malformed.
  v1::TryRequest anonymous = MakeTry(TestSagaId(3), "krw", "own-krw", "position:KRW", 700, "KRW");
  anonymous.clear_customer_id();
  CheckInvalid(ledger.engine().Try(anonymous, &response), "customer_id is required");
  CHECK(ledger.Snapshot() == before);

  // The owner's Try against the bank's position goes through.
  CHECK(ledger.Try(TestSagaId(4), "krw", "own-krw", "position:KRW", 700, "KRW").outcome() ==
        v1::OUTCOME_APPLIED);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("malformed requests are refused with a clear error and change nothing",
                    "[ledger][db]") {
  LedgerHarness ledger(backend, "USD,EUR");
  ledger.Open("alice-usd", "USD");
  ledger.Deposit("alice-usd", 10'000, "USD");
  const std::string saga = TestSagaId(1);
  const std::string before = ledger.Snapshot();
  v1::BranchResponse branch;
  v1::ExternalTransferResponse transfer;
  LedgerEngine& engine = ledger.engine();

  SECTION("amounts") {
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "position:USD", 0, "USD"), &branch),
                 "must be a positive number");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "position:USD", -5, "USD"), &branch),
                 "must be a positive number");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "position:USD",
                                    limits::kAmountMinorMax + 1, "USD"),
                            &branch),
                 "exceeds the per-request maximum");
    CheckInvalid(engine.Deposit(MakeTransfer("d1", "alice-usd", 0, "USD"), &transfer), "positive");
    CheckInvalid(engine.Withdraw(MakeTransfer("w1", "alice-usd", -1, "USD"), &transfer),
                 "positive");
    CheckInvalid(engine.Deposit(MakeTransfer("d2", "alice-usd", INT64_MAX, "USD"), &transfer),
                 "maximum");
  }
  SECTION("currencies") {
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "position:USD", 5, "XYZ"), &branch),
                 "is not served by this ledger, which serves USD, EUR");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "position:USD", 5, ""), &branch),
                 "amount.currency is required");
    CheckInvalid(engine.Deposit(MakeTransfer("d1", "alice-usd", 5, "KRW"), &transfer),
                 "not served");
    v1::OpenAccountRequest open;
    open.set_account_id("bob-krw");
    open.set_currency("KRW");
    v1::AccountResponse account;
    CheckInvalid(engine.OpenAccount(open, &account), "not served");
  }
  SECTION("identifiers") {
    CheckInvalid(engine.Try(MakeTry("", "fx", "alice-usd", "position:USD", 5, "USD"), &branch),
                 "saga_id is required");
    CheckInvalid(
        engine.Try(MakeTry(saga + "0", "fx", "alice-usd", "position:USD", 5, "USD"), &branch),
        "32 lowercase hex digits");
    CheckInvalid(engine.Try(MakeTry("0123456789ABCDEF0123456789ABCDEF", "fx", "alice-usd",
                                    "position:USD", 5, "USD"),
                            &branch),
                 "32 lowercase hex digits");
    CheckInvalid(
        engine.Try(MakeTry(std::string(32, '0'), "fx", "alice-usd", "position:USD", 5, "USD"),
                   &branch),
        "not all zero");
    CheckInvalid(engine.Try(MakeTry(saga, "", "alice-usd", "position:USD", 5, "USD"), &branch),
                 "branch is required");
    CheckInvalid(
        engine.Try(MakeTry(saga, std::string(33, 'b'), "alice-usd", "position:USD", 5, "USD"),
                   &branch),
        "at most 32");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "", "position:USD", 5, "USD"), &branch),
                 "debit_account_id is required");
    CheckInvalid(
        engine.Try(MakeTry(saga, "fx", std::string(65, 'a'), "position:USD", 5, "USD"), &branch),
        "the maximum is 64");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice usd", "position:USD", 5, "USD"), &branch),
                 "may use only");
    CheckInvalid(engine.Try(MakeTry(saga, "fx", "alice-usd", "alice-usd", 5, "USD"), &branch),
                 "needs two accounts");
    CheckInvalid(engine.Deposit(MakeTransfer("", "alice-usd", 5, "USD"), &transfer),
                 "request_id is required");
    CheckInvalid(
        engine.Deposit(MakeTransfer(std::string(65, 'r'), "alice-usd", 5, "USD"), &transfer),
        "request_id is 65 characters");
    v1::BranchRequest confirm;
    confirm.mutable_branch()->set_saga_id("not-hex");
    confirm.mutable_branch()->set_branch("fx");
    CheckInvalid(engine.Confirm(confirm, &branch), "saga_id");
    CheckInvalid(engine.Cancel(confirm, &branch), "saga_id");
    v1::OpenAccountRequest open;
    open.set_account_id("position:EUR");
    open.set_currency("EUR");
    v1::AccountResponse account;
    CheckInvalid(engine.OpenAccount(open, &account), "reserved");
  }
  SECTION("listing parameters") {
    v1::ListHoldsRequest holds;
    holds.set_page_size(-1);
    v1::ListHoldsResponse holds_response;
    CheckInvalid(engine.ListHolds(holds, &holds_response), "page_size");
    holds.set_page_size(10);
    holds.set_page_token("garbage");
    CheckInvalid(engine.ListHolds(holds, &holds_response), "page_token");
  }
  CHECK(ledger.Snapshot() == before);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("business rejections say why and change nothing", "[ledger][db]") {
  LedgerHarness ledger(backend, "USD,EUR");
  ledger.Open("alice-usd", "USD");
  ledger.Open("alice-eur", "EUR");
  ledger.Deposit("alice-usd", 10'000, "USD");
  LedgerEngine& engine = ledger.engine();

  SECTION("unknown account") {
    const std::string before = ledger.Snapshot();
    v1::BranchResponse response =
        ledger.Try(TestSagaId(1), "fx", "ghost", "position:USD", 5, "USD");
    CHECK(response.reason() == v1::REJECT_REASON_ACCOUNT_NOT_FOUND);
    CHECK_THAT(response.detail(), Catch::Contains("ghost"));
    CHECK(ledger.Snapshot() == before);
  }
  SECTION("currency of the account") {
    const std::string before = ledger.Snapshot();
    v1::BranchResponse response =
        ledger.Try(TestSagaId(1), "fx", "alice-eur", "position:USD", 5, "USD");
    CHECK(response.outcome() == v1::OUTCOME_REJECTED);
    CHECK(response.reason() == v1::REJECT_REASON_CURRENCY_MISMATCH);
    CHECK_THAT(response.detail(), Catch::Contains("alice-eur holds EUR, not USD"));
    CHECK(ledger.Snapshot() == before);
  }
  SECTION("Confirm of a branch never tried, which can still be tried afterwards") {
    const std::string before = ledger.Snapshot();
    v1::BranchResponse response = ledger.Confirm(TestSagaId(2), "fx");
    CHECK(response.reason() == v1::REJECT_REASON_BRANCH_NOT_TRIED);
    CHECK(ledger.Snapshot() == before);
    CHECK(ledger.Try(TestSagaId(2), "fx", "alice-usd", "position:USD", 100, "USD").outcome() ==
          v1::OUTCOME_APPLIED);
    CHECK(ledger.Confirm(TestSagaId(2), "fx").outcome() == v1::OUTCOME_APPLIED);
    CHECK(ledger.Account("alice-usd").available_minor() == 9'900);
  }
  SECTION("a second Try of one branch with a different amount") {
    CHECK(ledger.Try(TestSagaId(3), "fx", "alice-usd", "position:USD", 100, "USD").outcome() ==
          v1::OUTCOME_APPLIED);
    const std::string before = ledger.Snapshot();
    v1::BranchResponse response =
        ledger.Try(TestSagaId(3), "fx", "alice-usd", "position:USD", 101, "USD");
    CHECK(response.reason() == v1::REJECT_REASON_REQUEST_MISMATCH);
    CHECK_THAT(response.detail(), Catch::Contains("already tried as 100 USD"));
    CHECK(response.hold().amount().amount_minor() == 100);
    CHECK(ledger.Snapshot() == before);
  }
  SECTION("a frozen account refuses new Trys but its holds still settle") {
    CHECK(ledger.Try(TestSagaId(4), "fx", "alice-usd", "position:USD", 100, "USD").outcome() ==
          v1::OUTCOME_APPLIED);
    v1::SetAccountFrozenRequest freeze;
    freeze.set_account_id("alice-usd");
    freeze.set_frozen(true);
    v1::AccountResponse frozen;
    REQUIRE(engine.SetAccountFrozen(freeze, &frozen).ok());
    CHECK(frozen.outcome() == v1::OUTCOME_APPLIED);
    CHECK(frozen.account().frozen());
    CHECK(ledger.Try(TestSagaId(5), "fx", "alice-usd", "position:USD", 1, "USD").reason() ==
          v1::REJECT_REASON_ACCOUNT_FROZEN);
    CHECK(ledger.Confirm(TestSagaId(4), "fx").outcome() == v1::OUTCOME_APPLIED);
  }
  SECTION("a balance that would overflow") {
    // Bring the account close to the int64 limit directly in the store, then deposit once more.
    REQUIRE(ledger.store()
                .Transact([&](LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
                  absl::StatusOr<std::optional<AccountRow>> account =
                      transaction.LockAccount("alice-eur");
                  if (!account.ok()) return account.status();
                  (*account)->available_minor = INT64_MAX - 10;
                  absl::Status status = transaction.UpdateAccount(**account);
                  if (!status.ok()) return status;
                  return Completion::kCommit;
                })
                .ok());
    const std::string before = ledger.Snapshot();
    v1::ExternalTransferResponse response = ledger.Deposit("alice-eur", 11, "EUR");
    CHECK(response.reason() == v1::REJECT_REASON_BALANCE_OVERFLOW);
    CHECK(ledger.Snapshot() == before);
    return;  // The balance sheet is deliberately unbalanced by the direct write above.
  }
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("deposits, withdrawals and accounts are idempotent", "[ledger][db]") {
  LedgerHarness ledger(backend);
  LedgerEngine& engine = ledger.engine();
  CHECK(ledger.Open("alice", "KRW").outcome() == v1::OUTCOME_APPLIED);
  CHECK(ledger.Open("alice", "KRW").outcome() == v1::OUTCOME_DUPLICATE);

  v1::ExternalTransferResponse response;
  REQUIRE(engine.Deposit(MakeTransfer("dep-1", "alice", 5'000, "KRW"), &response).ok());
  CHECK(response.outcome() == v1::OUTCOME_APPLIED);
  REQUIRE(engine.Deposit(MakeTransfer("dep-1", "alice", 5'000, "KRW"), &response).ok());
  CHECK(response.outcome() == v1::OUTCOME_DUPLICATE);
  CHECK(response.account().available_minor() == 5'000);
  REQUIRE(engine.Deposit(MakeTransfer("dep-1", "alice", 6'000, "KRW"), &response).ok());
  CHECK(response.reason() == v1::REJECT_REASON_REQUEST_MISMATCH);
  REQUIRE(engine.Withdraw(MakeTransfer("dep-1", "alice", 5'000, "KRW"), &response).ok());
  CHECK(response.reason() == v1::REJECT_REASON_REQUEST_MISMATCH);

  REQUIRE(engine.Withdraw(MakeTransfer("wd-1", "alice", 9'000, "KRW"), &response).ok());
  CHECK(response.reason() == v1::REJECT_REASON_INSUFFICIENT_FUNDS);
  REQUIRE(engine.Withdraw(MakeTransfer("wd-1", "alice", 2'000, "KRW"), &response).ok());
  CHECK(response.outcome() == v1::OUTCOME_APPLIED);
  REQUIRE(engine.Withdraw(MakeTransfer("wd-1", "alice", 2'000, "KRW"), &response).ok());
  CHECK(response.outcome() == v1::OUTCOME_DUPLICATE);
  CHECK(ledger.Account("alice").available_minor() == 3'000);

  REQUIRE(engine.Deposit(MakeTransfer("dep-2", "nobody", 1, "KRW"), &response).ok());
  CHECK(response.reason() == v1::REJECT_REASON_ACCOUNT_NOT_FOUND);

  v1::OpenAccountRequest open;
  open.set_account_id("alice");
  open.set_currency("KRW");
  open.set_owner("someone-else");
  v1::AccountResponse account;
  REQUIRE(engine.OpenAccount(open, &account).ok());
  CHECK(account.reason() == v1::REJECT_REASON_REQUEST_MISMATCH);

  v1::GetAccountRequest get;
  get.set_account_id("nobody");
  v1::Account missing;
  CHECK(absl::IsNotFound(engine.GetAccount(get, &missing)));

  v1::ListJournalRequest journal_request;
  journal_request.set_account_id("alice");
  v1::ListJournalResponse journal;
  REQUIRE(engine.ListJournal(journal_request, &journal).ok());
  REQUIRE(journal.entries_size() == 2);
  CHECK(journal.entries(0).kind() == v1::JOURNAL_KIND_DEPOSIT);
  CHECK(journal.entries(0).debit_account_id() == "external");
  CHECK(journal.entries(1).kind() == v1::JOURNAL_KIND_WITHDRAWAL);
  CHECK(journal.entries(1).credit_account_id() == "external");

  v1::BalanceSheet sheet;
  REQUIRE(engine.GetBalanceSheet(&sheet).ok());
  REQUIRE(sheet.currencies_size() == 1);
  CHECK(sheet.currencies(0).deposited_minor() == 5'000);
  CHECK(sheet.currencies(0).withdrawn_minor() == 2'000);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("holds and journal list with filters and pages", "[ledger][db]") {
  LedgerHarness ledger(backend);
  ledger.Open("alice", "KRW");
  ledger.Deposit("alice", 1'000'000, "KRW");
  for (int i = 0; i < 5; ++i) {
    REQUIRE(ledger.Try(TestSagaId(i), "krw", "alice", "position:KRW", 100, "KRW").outcome() ==
            v1::OUTCOME_APPLIED);
    ledger.clock().Advance(absl::Minutes(1));
  }
  ledger.Confirm(TestSagaId(0), "krw");
  ledger.Cancel(TestSagaId(1), "krw");

  v1::ListHoldsRequest request;
  request.set_state(v1::HOLD_STATE_HELD);
  request.set_page_size(2);
  v1::ListHoldsResponse page;
  REQUIRE(ledger.engine().ListHolds(request, &page).ok());
  REQUIRE(page.holds_size() == 2);
  CHECK(page.holds(0).branch().saga_id() == TestSagaId(2));
  REQUIRE_FALSE(page.next_page_token().empty());
  request.set_page_token(page.next_page_token());
  REQUIRE(ledger.engine().ListHolds(request, &page).ok());
  REQUIRE(page.holds_size() == 1);
  CHECK(page.holds(0).branch().saga_id() == TestSagaId(4));

  v1::ListHoldsRequest old;
  old.set_state(v1::HOLD_STATE_HELD);
  // Now is 5 minutes after saga 0's Try; 90 s ago takes sagas 0 to 3, of which 2 and 3 are HELD.
  old.set_older_than_seconds(90);
  REQUIRE(ledger.engine().ListHolds(old, &page).ok());
  CHECK(page.holds_size() == 2);

  v1::ListJournalRequest journal_request;
  journal_request.set_saga_id(TestSagaId(0));
  v1::ListJournalResponse journal;
  REQUIRE(ledger.engine().ListJournal(journal_request, &journal).ok());
  REQUIRE(journal.entries_size() == 1);
  CHECK(journal.entries(0).kind() == v1::JOURNAL_KIND_TRANSFER);
  CHECK(journal.entries(0).debit_account_id() == "alice");
  CHECK(journal.entries(0).credit_account_id() == "position:KRW");
  CHECK(journal.entries(0).amount().amount_minor() == 100);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("a write failing at any point of a call leaves no trace", "[ledger][db]") {
  LedgerHarness ledger(backend);
  ledger.Open("alice", "KRW");
  ledger.Deposit("alice", 10'000, "KRW");
  const std::string saga = TestSagaId(7);
  const v1::TryRequest try_request = MakeTry(saga, "krw", "alice", "position:KRW", 2'500, "KRW");
  v1::BranchRequest branch_request;
  branch_request.mutable_branch()->set_saga_id(saga);
  branch_request.mutable_branch()->set_branch("krw");

  // For each call, fail its 1st, 2nd, ... write until the call no longer reaches the fault: each
  // failure must surface as UNAVAILABLE with nothing changed; then the call succeeds on retry.
  auto fail_every_write = [&](const std::function<absl::Status(v1::BranchResponse*)>& call) {
    for (int n = 1;; ++n) {
      INFO("failing write " << n);
      const std::string before = ledger.Snapshot();
      const int writes_before = ledger.faults().writes();
      ledger.faults().FailNthWrite(n);
      v1::BranchResponse response;
      absl::Status status = call(&response);
      const int writes = ledger.faults().writes() - writes_before;
      if (writes < n) {
        ledger.faults().FailNthWrite(0);
        REQUIRE(status.ok());
        CHECK(response.outcome() == v1::OUTCOME_APPLIED);
        return n - 1;
      }
      CHECK(absl::IsUnavailable(status));
      CHECK(ledger.Snapshot() == before);
    }
  };
  CHECK(fail_every_write(
            [&](v1::BranchResponse* r) { return ledger.engine().Try(try_request, r); }) >= 3);
  CHECK(ledger.Account("alice").held_minor() == 2'500);
  CHECK(fail_every_write([&](v1::BranchResponse* r) {
          return ledger.engine().Confirm(branch_request, r);
        }) >= 4);
  CHECK(ledger.Account("alice").available_minor() == 7'500);
  CHECK(ledger.Account("position:KRW").available_minor() == 2'500);

  const std::string other = TestSagaId(8);
  ledger.Try(other, "krw", "alice", "position:KRW", 1'000, "KRW");
  v1::BranchRequest cancel_request;
  cancel_request.mutable_branch()->set_saga_id(other);
  cancel_request.mutable_branch()->set_branch("krw");
  CHECK(fail_every_write(
            [&](v1::BranchResponse* r) { return ledger.engine().Cancel(cancel_request, r); }) >= 4);
  CHECK(ledger.Account("alice").available_minor() == 7'500);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("parallel Trys against one account never overdraw it",
                    "[ledger][db][concurrency]") {
  LedgerHarness ledger(backend, "KRW", /*pool_size=*/8);
  ledger.Open("shared", "KRW");
  ledger.Deposit("shared", 1'000, "KRW");
  constexpr int kThreads = 8;
  constexpr int kTrysPerThread = 25;  // 200 Trys of 10 against 1,000: exactly 100 can succeed.

  std::atomic<int> applied{0}, short_of_funds{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTrysPerThread; ++i) {
        v1::BranchResponse response;
        absl::Status status = ledger.engine().Try(
            MakeTry(TestSagaId(t * 1000 + i), "krw", "shared", "position:KRW", 10, "KRW"),
            &response);
        if (status.ok() && response.outcome() == v1::OUTCOME_APPLIED) {
          ++applied;
        } else if (status.ok() && response.reason() == v1::REJECT_REASON_INSUFFICIENT_FUNDS) {
          ++short_of_funds;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(other.load() == 0);
  CHECK(applied.load() == 100);
  CHECK(short_of_funds.load() == 100);
  v1::Account shared = ledger.Account("shared");
  CHECK(shared.available_minor() == 0);
  CHECK(shared.held_minor() == 1'000);
  ledger.CheckInvariants();
}

FXMESH_BACKEND_TEST("racing calls on one branch agree on a single outcome",
                    "[ledger][db][concurrency]") {
  LedgerHarness ledger(backend, "KRW", /*pool_size=*/8);
  ledger.Open("alice", "KRW");
  ledger.Deposit("alice", 1'000'000, "KRW");
  constexpr int kBranches = 40;

  // Duplicate Trys of one branch from four threads: one APPLIED, the rest DUPLICATE.
  // A Try racing a Cancel of the same branch: never a hold left HELD behind a Cancel.
  std::atomic<int> try_applied{0}, try_failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int b = 0; b < kBranches; ++b) {
        v1::BranchResponse response;
        absl::Status status = ledger.engine().Try(
            MakeTry(TestSagaId(b), "krw", "alice", "position:KRW", 10, "KRW"), &response);
        if (!status.ok()) ++try_failed;
        if (status.ok() && response.outcome() == v1::OUTCOME_APPLIED) ++try_applied;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  threads.clear();
  CHECK(try_failed.load() == 0);
  CHECK(try_applied.load() == kBranches);

  std::atomic<int> failures{0};
  for (int side = 0; side < 2; ++side) {
    threads.emplace_back([&, side] {
      for (int b = 0; b < kBranches; ++b) {
        const int saga = 10'000 + b;
        v1::BranchResponse response;
        absl::Status status;
        if (side == 0) {
          status = ledger.engine().Try(
              MakeTry(TestSagaId(saga), "krw", "alice", "position:KRW", 10, "KRW"), &response);
        } else {
          v1::BranchRequest cancel;
          cancel.mutable_branch()->set_saga_id(TestSagaId(saga));
          cancel.mutable_branch()->set_branch("krw");
          status = ledger.engine().Cancel(cancel, &response);
        }
        if (!status.ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures.load() == 0);
  for (int b = 0; b < kBranches; ++b) {
    v1::ListHoldsRequest request;
    request.set_saga_id(TestSagaId(10'000 + b));
    v1::ListHoldsResponse holds;
    REQUIRE(ledger.engine().ListHolds(request, &holds).ok());
    INFO("branch " << b);
    CHECK((holds.holds_size() == 0 || holds.holds(0).state() == v1::HOLD_STATE_CANCELLED));
  }
  ledger.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::ledger
