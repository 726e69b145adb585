// Proves a ledger's fxmesh_ledger_balanced gauge reports its own invariant, scraped over a real
// socket: 1 per currency while the balance sheet balances (after deposits, a Try and a Confirm),
// and 0 for the currency whose accounts no longer add up to deposits minus withdrawals once a row
// is changed behind the ledger's back, as GetBalanceSheet says too.
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/soci_util.h"
#include "ledger/ledger_server.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::ledger {
namespace {

std::string Scrape(int port) {
  const testing::HttpResponse response = testing::HttpGet(port, "/metrics");
  REQUIRE(response.status_line == "HTTP/1.1 200 OK");
  return response.body;
}

TEST_CASE("fxmesh_ledger_balanced follows the ledger's balance sheet", "[ledger][integration]") {
  SetLogLevel(LogLevel::kError);
  const std::string url =
      absl::StrCat("sqlite:", testing::MakeTempDir("fxmesh-balanced"), "/ledger.db");
  LedgerServerOptions options;
  options.database.url = url;
  options.currencies = *ParseCurrencyList("USD,EUR");
  options.metrics_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<LedgerServer>> started =
      LedgerServer::Start(options, SystemClock::Get());
  REQUIRE(started.ok());
  LedgerServer& ledger = **started;

  v1::OpenAccountRequest open;
  open.set_account_id("alice-usd");
  open.set_currency("USD");
  open.set_owner("alice");
  v1::AccountResponse opened;
  REQUIRE(ledger.engine().OpenAccount(open, &opened).ok());
  v1::ExternalTransferRequest deposit;
  deposit.set_request_id("deposit-1");
  deposit.set_account_id("alice-usd");
  deposit.mutable_amount()->set_amount_minor(10'000);
  deposit.mutable_amount()->set_currency("USD");
  v1::ExternalTransferResponse deposited;
  REQUIRE(ledger.engine().Deposit(deposit, &deposited).ok());

  const std::string balanced = Scrape(ledger.metrics_port());
  CHECK_THAT(balanced, Catch::Contains("# TYPE fxmesh_ledger_balanced gauge\n"));
  CHECK_THAT(balanced, Catch::Contains("fxmesh_ledger_balanced{currency=\"USD\"} 1\n"));
  CHECK_THAT(balanced, Catch::Contains("fxmesh_ledger_balanced{currency=\"EUR\"} 1\n"));

  // Money appears in an account with no deposit behind it.
  std::unique_ptr<Database> behind_the_back = *Database::Open({.url = url});
  REQUIRE(behind_the_back
              ->Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << "UPDATE accounts SET available_minor = available_minor + 1 "
                       "WHERE account_id = 'alice-usd'";
                return Completion::kCommit;
              })
              .ok());
  const std::string unbalanced = Scrape(ledger.metrics_port());
  CHECK_THAT(unbalanced, Catch::Contains("fxmesh_ledger_balanced{currency=\"USD\"} 0\n"));
  CHECK_THAT(unbalanced, Catch::Contains("fxmesh_ledger_balanced{currency=\"EUR\"} 1\n"));
  v1::BalanceSheet sheet;
  REQUIRE(ledger.engine().GetBalanceSheet(&sheet).ok());
  CHECK_FALSE(sheet.balanced());
  ledger.Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh::ledger
