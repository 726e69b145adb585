// Proves that an exchange moves money only out of and into its customer's own accounts, enforced
// where the money is: the ledger refuses a Try for an account of someone else (REJECTED,
// NOT_OWNER), so the exchange fails, nothing stays held and no balance changes (both backends).
// And that a quote serves one exchange of the customer it was given to, and no other.
#include <catch2/catch.hpp>

#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

FXMESH_BACKEND_TEST("mallory cannot sell alice's won into her own dollars",
                    "[coordinator][security]") {
  HarnessOptions options;
  options.customers = {"alice", "mallory"};
  CoordinatorHarness mesh(backend, options);
  const int64_t alice_krw = mesh.Available("alice-krw");
  const int64_t mallory_usd = mesh.Available("mallory-usd");
  auto exchange = [&](const std::string& key, const std::string& customer,
                      const std::string& source, const std::string& target) {
    v1::ExchangeRequest request;
    request.set_idempotency_key(key);
    request.set_customer_id(customer);
    request.set_source_account_id(source);
    request.set_target_account_id(target);
    request.set_quote_id(mesh.Quote("KRW", "USD", 137'025, 0).quote_id());
    absl::StatusOr<v1::Exchange> answered =
        mesh.engine().intake().Exchange(request, absl::Now() + absl::Seconds(5));
    REQUIRE(answered.ok());
    return *answered;
  };

  // Mallory names herself the customer, with Alice's won as the source; or names Alice, with her
  // own dollars as the target.
  for (const v1::Exchange& stolen : {exchange("steal-1", "mallory", "alice-krw", "mallory-usd"),
                                     exchange("steal-2", "alice", "alice-krw", "mallory-usd")}) {
    INFO(stolen.idempotency_key());
    CHECK(stolen.status() == v1::EXCHANGE_STATUS_FAILED);
    CHECK(stolen.failure_reason() == "NOT_OWNER");
  }
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.Available("alice-krw") == alice_krw);
  CHECK(mesh.Available("mallory-usd") == mallory_usd);
  mesh.CheckInvariants();

  // Each customer's own exchange still goes through.
  CHECK(exchange("own-1", "alice", "alice-krw", "alice-usd").status() ==
        v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(exchange("own-2", "mallory", "mallory-krw", "mallory-usd").status() ==
        v1::EXCHANGE_STATUS_COMPLETED);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("a quote serves one exchange, of the customer it was given to",
                    "[coordinator][security]") {
  HarnessOptions options;
  options.customers = {"alice", "mallory"};
  CoordinatorHarness mesh(backend, options);
  v1::GetQuoteRequest ask;
  ask.set_sell_currency("KRW");
  ask.set_buy_currency("USD");
  ask.set_buy_amount_minor(1'000);
  ask.set_customer_id("alice");
  absl::StatusOr<v1::Quote> quote = mesh.engine().intake().GetQuote(ask);
  REQUIRE(quote.ok());
  CHECK(quote->customer_id() == "alice");
  auto exchange = [&](const std::string& key, const std::string& customer,
                      const std::string& quote_id) {
    v1::ExchangeRequest request;
    request.set_idempotency_key(key);
    request.set_customer_id(customer);
    request.set_source_account_id(customer + "-krw");
    request.set_target_account_id(customer + "-usd");
    request.set_quote_id(quote_id);
    return mesh.engine().intake().Exchange(request, absl::Now() + absl::Seconds(5));
  };
  const int64_t mallory_krw = mesh.Available("mallory-krw");

  // Mallory cannot use Alice's quote: to her it does not exist.
  absl::StatusOr<v1::Exchange> taken = exchange("mallory-1", "mallory", quote->quote_id());
  CHECK(absl::IsNotFound(taken.status()));
  CHECK(taken.status().message() == absl::StrCat("no quote ", quote->quote_id()));

  // Alice uses it once; the same request again is the same exchange; a second one is refused.
  absl::StatusOr<v1::Exchange> first = exchange("alice-1", "alice", quote->quote_id());
  REQUIRE(first.ok());
  CHECK(first->status() == v1::EXCHANGE_STATUS_COMPLETED);
  absl::StatusOr<v1::Exchange> again = exchange("alice-1", "alice", quote->quote_id());
  REQUIRE(again.ok());
  CHECK(again->saga_id() == first->saga_id());
  absl::StatusOr<v1::Exchange> second = exchange("alice-2", "alice", quote->quote_id());
  CHECK(absl::IsFailedPrecondition(second.status()));
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("already used"));

  // A quote given to nobody in particular is used once too.
  const std::string open_quote = mesh.Quote("KRW", "USD", 137'025, 0).quote_id();
  REQUIRE(exchange("mallory-2", "mallory", open_quote).ok());
  CHECK(absl::IsFailedPrecondition(exchange("alice-3", "alice", open_quote).status()));
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.Available("mallory-krw") == mallory_krw - 137'025);
  mesh.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
