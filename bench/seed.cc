#include "bench/seed.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "fxmesh/v1/ledger.pb.h"
#include "ledger/ledger_engine.h"
#include "ledger/ledger_store.h"

namespace fxmesh::bench {
namespace {

// A LedgerStore whose Transact runs each body inside the one transaction the seeder holds open,
// so that thousands of engine calls share a COMMIT. A body that asks for a rollback (the engine's
// answer to a duplicate or refused call) fails the whole transaction: a seed writes only new,
// valid accounts, so anything else is an error. Reads outside a transaction go to the real store.
class InTransactionStore final : public ledger::LedgerStore {
 public:
  explicit InTransactionStore(ledger::LedgerStore& inner) : inner_(inner) {}

  void set_transaction(ledger::LedgerTransaction* transaction) { transaction_ = transaction; }

  absl::Status Migrate() override { return inner_.Migrate(); }
  absl::Status Transact(
      absl::FunctionRef<absl::StatusOr<Completion>(ledger::LedgerTransaction&)> body) override {
    if (transaction_ == nullptr) return absl::InternalError("no seeding transaction open");
    ASSIGN_OR_RETURN(Completion completion, body(*transaction_));
    if (completion != Completion::kCommit) {
      return absl::FailedPreconditionError("a seeding call was refused; nothing was kept");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<ledger::AccountRow>> GetAccount(
      absl::string_view account_id) override {
    return inner_.GetAccount(account_id);
  }
  absl::StatusOr<std::vector<ledger::HoldRow>> ListHolds(
      const ledger::HoldFilter& filter) override {
    return inner_.ListHolds(filter);
  }
  absl::StatusOr<int64_t> CountHolds(ledger::HoldState state, int64_t before_us) override {
    return inner_.CountHolds(state, before_us);
  }
  absl::StatusOr<std::vector<ledger::JournalRow>> ListJournal(
      const ledger::JournalFilter& filter) override {
    return inner_.ListJournal(filter);
  }
  absl::StatusOr<std::vector<ledger::CurrencyTotalsRow>> GetCurrencyTotals() override {
    return inner_.GetCurrencyTotals();
  }
  absl::Status Ping() override { return inner_.Ping(); }

 private:
  ledger::LedgerStore& inner_;
  ledger::LedgerTransaction* transaction_ = nullptr;
};

// Opens and funds customer `c`'s account through the engine, as OpenAccount then Deposit over
// gRPC would (the deposit's request id is the one the bench's gRPC funding uses).
absl::Status SeedCustomer(ledger::LedgerEngine& engine, const SeedRequest& request, int64_t c) {
  const std::string customer = absl::StrCat("c", c);
  v1::OpenAccountRequest open;
  open.set_account_id(absl::StrCat(customer, "-", request.account_suffix));
  open.set_currency(request.currency);
  open.set_owner(customer);
  v1::AccountResponse opened;
  RETURN_IF_ERROR(engine.OpenAccount(open, &opened));
  v1::ExternalTransferRequest deposit;
  deposit.set_request_id(absl::StrCat("fund-", open.account_id()));
  deposit.set_account_id(open.account_id());
  deposit.mutable_amount()->set_amount_minor(request.deposit_minor);
  deposit.mutable_amount()->set_currency(request.currency);
  v1::ExternalTransferResponse deposited;
  RETURN_IF_ERROR(engine.Deposit(deposit, &deposited));
  if (opened.outcome() != v1::OUTCOME_APPLIED || deposited.outcome() != v1::OUTCOME_APPLIED) {
    return absl::FailedPreconditionError(
        absl::StrCat("seeding ", open.account_id(), ": ", opened.detail(), deposited.detail()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SeedReport> SeedLedger(const SeedRequest& request) {
  if (request.customers < 1 || request.customers > kSeedCustomersMax) {
    return absl::InvalidArgumentError(absl::StrCat("customers to seed must be 1 to ",
                                                   kSeedCustomersMax, ", not ", request.customers));
  }
  ASSIGN_OR_RETURN(std::vector<Currency> currencies, ParseCurrencyList(request.currency));
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(std::unique_ptr<Database> database, Database::Open(request.database));
  std::unique_ptr<ledger::LedgerStore> store = ledger::NewSociLedgerStore(*database);
  RETURN_IF_ERROR(store->Migrate());
  InTransactionStore batching(*store);
  ledger::LedgerEngine engine(batching, SystemClock::Get(), currencies);
  for (int64_t first = 0; first < request.customers; first += kSeedCustomersPerTransaction) {
    const int64_t end = std::min(request.customers, first + kSeedCustomersPerTransaction);
    RETURN_IF_ERROR(
        store->Transact([&](ledger::LedgerTransaction& transaction) -> absl::StatusOr<Completion> {
          batching.set_transaction(&transaction);
          absl::Status status;
          for (int64_t c = first; c < end && status.ok(); ++c) {
            status = SeedCustomer(engine, request, c);
          }
          batching.set_transaction(nullptr);
          if (!status.ok()) return status;
          return Completion::kCommit;
        }));
  }

  // The engine's own check (GetBalanceSheet, the rule fxmesh_ledger_balanced reports), over the
  // real store.
  ledger::LedgerEngine checker(*store, SystemClock::Get(), currencies);
  v1::BalanceSheet sheet;
  RETURN_IF_ERROR(checker.GetBalanceSheet(&sheet));
  int64_t accounts = 0;
  for (const v1::CurrencyTotals& totals : sheet.currencies()) accounts += totals.account_count();
  if (!sheet.balanced() || accounts < request.customers) {
    return absl::FailedPreconditionError(
        absl::StrCat("the seeded ledger does not balance or lacks "
                     "accounts: ",
                     sheet.ShortDebugString()));
  }
  return SeedReport{.accounts = accounts, .seconds = absl::ToDoubleSeconds(absl::Now() - start)};
}

}  // namespace fxmesh::bench
