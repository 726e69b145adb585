// Proves the many-accounts scenarios' bulk seeding (bench/seed.h) writes what the ledger's own
// OpenAccount and Deposit write, one customer at a time, and leaves a ledger that balances: it
// seeds customers into one SQLite file, makes the same calls one by one through a LedgerEngine on
// another, and compares accounts, journal entries and balance sheets (ids and times aside). A seed
// over accounts that already exist fails and keeps nothing of its transaction; a count out of range
// is refused.
#include "bench/seed.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/money.h"
#include "ledger/ledger_engine.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::bench {
namespace {

constexpr int64_t kCustomers = 7;

struct Ledger {
  explicit Ledger(const std::string& url) {
    auto opened = Database::Open({.url = url});
    REQUIRE(opened.ok());
    database = *std::move(opened);
    store = ledger::NewSociLedgerStore(*database);
    REQUIRE(store->Migrate().ok());
    engine = std::make_unique<ledger::LedgerEngine>(*store, SystemClock::Get(),
                                                    *ParseCurrencyList("KRW"));
  }
  v1::Account Account(const std::string& id) {
    v1::GetAccountRequest request;
    request.set_account_id(id);
    v1::Account account;
    REQUIRE(engine->GetAccount(request, &account).ok());
    account.clear_created_at();
    account.clear_updated_at();
    return account;
  }
  v1::ListJournalResponse Journal(const std::string& account_id) {
    v1::ListJournalRequest request;
    request.set_account_id(account_id);
    v1::ListJournalResponse journal;
    REQUIRE(engine->ListJournal(request, &journal).ok());
    for (v1::JournalEntry& entry : *journal.mutable_entries()) {
      entry.clear_entry_id();
      entry.clear_posted_at();
    }
    return journal;
  }
  v1::BalanceSheet Sheet() {
    v1::BalanceSheet sheet;
    REQUIRE(engine->GetBalanceSheet(&sheet).ok());
    return sheet;
  }
  std::unique_ptr<Database> database;
  std::unique_ptr<ledger::LedgerStore> store;
  std::unique_ptr<ledger::LedgerEngine> engine;
};

TEST_CASE("a bulk seed writes the rows OpenAccount and Deposit write, and balances", "[unit]") {
  const std::string dir = testing::MakeTempDir("fxmesh-seed");
  const SeedRequest request{.database = {.url = absl::StrCat("sqlite:", dir, "/seeded.db")},
                            .currency = "KRW",
                            .customers = kCustomers,
                            .account_suffix = "krw",
                            .deposit_minor = kSeedKrwMinor};
  absl::StatusOr<SeedReport> seeded = SeedLedger(request);
  REQUIRE(seeded.ok());
  CHECK(seeded->accounts == kCustomers);

  Ledger reference(absl::StrCat("sqlite:", dir, "/reference.db"));
  for (int64_t c = 0; c < kCustomers; ++c) {
    v1::OpenAccountRequest open;
    open.set_account_id(absl::StrCat("c", c, "-krw"));
    open.set_currency("KRW");
    open.set_owner(absl::StrCat("c", c));
    v1::AccountResponse opened;
    REQUIRE(reference.engine->OpenAccount(open, &opened).ok());
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id(absl::StrCat("fund-c", c, "-krw"));
    deposit.set_account_id(open.account_id());
    deposit.mutable_amount()->set_amount_minor(kSeedKrwMinor);
    deposit.mutable_amount()->set_currency("KRW");
    v1::ExternalTransferResponse deposited;
    REQUIRE(reference.engine->Deposit(deposit, &deposited).ok());
  }

  Ledger seeded_ledger(request.database.url);
  for (int64_t c = 0; c < kCustomers; ++c) {
    const std::string id = absl::StrCat("c", c, "-krw");
    INFO(id);
    const v1::Account account = seeded_ledger.Account(id);
    CHECK(account.available_minor() == kSeedKrwMinor);
    CHECK(account.DebugString() == reference.Account(id).DebugString());
    const v1::ListJournalResponse journal = seeded_ledger.Journal(id);
    CHECK(journal.entries_size() == 1);
    CHECK(journal.DebugString() == reference.Journal(id).DebugString());
  }
  const v1::BalanceSheet sheet = seeded_ledger.Sheet();
  CHECK(sheet.balanced());
  CHECK(sheet.DebugString() == reference.Sheet().DebugString());

  // The same seed again: every account exists, so its transaction fails whole.
  absl::StatusOr<SeedReport> again = SeedLedger(request);
  CHECK(again.status().code() == absl::StatusCode::kFailedPrecondition);
  const v1::BalanceSheet after = seeded_ledger.Sheet();
  CHECK(after.DebugString() == sheet.DebugString());
}

TEST_CASE("a bulk seed refuses a count out of range", "[unit]") {
  const std::string dir = testing::MakeTempDir("fxmesh-seed");
  SeedRequest request{.database = {.url = absl::StrCat("sqlite:", dir, "/seeded.db")},
                      .currency = "KRW",
                      .customers = 0,
                      .account_suffix = "krw",
                      .deposit_minor = kSeedKrwMinor};
  CHECK(SeedLedger(request).status().code() == absl::StatusCode::kInvalidArgument);
  request.customers = kSeedCustomersMax + 1;
  CHECK(SeedLedger(request).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fxmesh::bench
