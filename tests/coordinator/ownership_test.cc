// Proves that an exchange moves money only out of and into its customer's own accounts, enforced
// where the money is: the ledger refuses a Try for an account of someone else (REJECTED,
// NOT_OWNER), so the exchange fails, nothing stays held and no balance changes (both backends).
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
        mesh.engine().Exchange(request, absl::Now() + absl::Seconds(5));
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

}  // namespace
}  // namespace fxmesh::coordinator
