// Proves that with customer tokens a customer is who the token says, never who a request claims:
// quotes, exchanges, idempotency keys and lookups are the token's customer's own, another
// customer's exchange is answered exactly as one that does not exist, and each customer's quotes
// and exchanges are rate-limited. Real gRPC over a socket, tokens signed with openssl-made keys.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/customer_token.h"
#include "coordinator/coordinator_server.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "tests/coordinator/unreachable_ledger.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"

namespace fxmesh::coordinator {
namespace {

// A gateway's calls on behalf of customers: each carries the token of the customer it names.
class Gateway {
 public:
  Gateway(int port, std::string signing_key)
      : stub_(v1::ExchangeService::NewStub(grpc::CreateChannel(
            absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()))),
        signing_key_(std::move(signing_key)) {}

  // A context carrying `customer`'s token ("" for none).
  std::unique_ptr<grpc::ClientContext> As(const std::string& customer) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!customer.empty()) {
      absl::StatusOr<std::string> token =
          SignCustomerToken(signing_key_, {.customer = customer,
                                           .issued_at = absl::Now(),
                                           .expires = absl::Now() + absl::Minutes(5)});
      REQUIRE(token.ok());
      context->AddMetadata("authorization", absl::StrCat("Bearer ", *token));
    }
    return context;
  }

  grpc::Status Quote(const std::string& customer, v1::Quote* quote,
                     const std::string& claimed = "") {
    v1::GetQuoteRequest request;
    request.set_sell_currency("KRW");
    request.set_buy_currency("USD");
    request.set_buy_amount_minor(1'000);
    request.set_customer_id(claimed);
    return stub_->GetQuote(As(customer).get(), request, quote);
  }

  // An exchange from the customer's own KRW to their USD, answered PENDING (no ledger answers).
  grpc::Status Exchange(const std::string& customer, const std::string& key,
                        const std::string& quote_id, v1::Exchange* exchange) {
    v1::ExchangeRequest request;
    request.set_idempotency_key(key);
    request.set_source_account_id(customer + "-krw");
    request.set_target_account_id(customer + "-usd");
    request.set_quote_id(quote_id);
    auto context = As(customer);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    v1::ExchangeResponse response;
    grpc::Status status = stub_->Exchange(context.get(), request, &response);
    *exchange = response.exchange();
    return status;
  }

  v1::ExchangeService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::ExchangeService::Stub> stub_;
  std::string signing_key_;
};

struct Mesh {
  explicit Mesh(const Clock& clock, int rate_per_second = 0, int burst = 1) {
    key = pki.MakeSigningKey("idp");
    CoordinatorServerOptions options = UnreachableLedgerOptions(database.url(), ledger);
    options.customers.token.public_key_file = key.public_file;
    options.customers.requests_per_second = rate_per_second;
    options.customers.burst = burst;
    absl::StatusOr<std::unique_ptr<CoordinatorServer>> started =
        CoordinatorServer::Start(options, clock);
    REQUIRE(started.ok());
    server = std::move(*started);
  }

  testing::TestPki pki;
  testing::TestPki::SigningKey key;
  testing::TestDatabase database{testing::Backend::kSqlite};
  UnreachableLedger ledger;
  std::unique_ptr<CoordinatorServer> server;
};

int SagaCount(SagaEngine& engine) {
  v1::ListSagasRequest request;
  request.set_page_size(1'000);
  return engine.operators().ListSagas(request)->sagas_size();
}

TEST_CASE("with customer tokens, a customer is who the token says",
          "[coordinator][integration][security][sqlite]") {
  Mesh mesh(SystemClock::Get());
  Gateway gateway(mesh.server->port(), testing::ReadTextFile(mesh.key.private_file));
  v1::Quote quote;

  // No token, a token the bank did not sign, a token naming someone the request does not.
  grpc::Status refused = gateway.Quote("", &quote);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(refused.error_message(), Catch::Contains("authorization: Bearer"));
  Gateway forger(mesh.server->port(),
                 testing::ReadTextFile(mesh.pki.MakeSigningKey("forger").private_file));
  refused = forger.Quote("alice", &quote);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(refused.error_message(), Catch::Contains("does not verify"));
  refused = gateway.Quote("mallory", &quote, /*claimed=*/"alice");
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(refused.error_message(), Catch::Contains("token is for mallory"));

  // A quote is the token's customer's, named or not.
  REQUIRE(gateway.Quote("alice", &quote).ok());
  CHECK(quote.customer_id() == "alice");
  v1::Quote named;
  REQUIRE(gateway.Quote("alice", &named, "alice").ok());
  CHECK(named.customer_id() == "alice");

  // Mallory cannot exchange on Alice's quote, nor forge a token to.
  v1::Exchange exchange;
  grpc::Status status = gateway.Exchange("mallory", "k-1", quote.quote_id(), &exchange);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(forger.Exchange("alice", "k-1", quote.quote_id(), &exchange).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(SagaCount(mesh.server->engine()) == 0);

  v1::Exchange alices;
  REQUIRE(gateway.Exchange("alice", "k-1", quote.quote_id(), &alices).ok());
  CHECK(alices.customer_id() == "alice");
  CHECK(alices.idempotency_key() == "k-1");

  // The same key is Mallory's own: a new exchange, not Alice's, and no conflict.
  v1::Quote mallorys_quote;
  REQUIRE(gateway.Quote("mallory", &mallorys_quote).ok());
  v1::Exchange mallorys;
  REQUIRE(gateway.Exchange("mallory", "k-1", mallorys_quote.quote_id(), &mallorys).ok());
  CHECK(mallorys.saga_id() != alices.saga_id());
  CHECK(mallorys.customer_id() == "mallory");

  // Alice's exchange, looked up by Mallory by id or by key, is exactly as absent as a made-up one.
  auto get = [&](const std::string& customer, const std::string& saga_id, const std::string& key,
                 v1::Exchange* found) {
    v1::GetExchangeRequest request;
    if (!saga_id.empty()) request.set_saga_id(saga_id);
    if (!key.empty()) request.set_idempotency_key(key);
    return gateway.stub().GetExchange(gateway.As(customer).get(), request, found);
  };
  v1::Exchange found;
  grpc::Status absent = get("mallory", std::string(32, 'a'), "", &found);
  CHECK(absent.error_code() == grpc::StatusCode::NOT_FOUND);
  grpc::Status hidden = get("mallory", alices.saga_id(), "", &found);
  CHECK(hidden.error_code() == absent.error_code());
  CHECK(hidden.error_message() == absent.error_message());
  REQUIRE(get("mallory", "", "k-1", &found).ok());
  CHECK(found.saga_id() == mallorys.saga_id());
  REQUIRE(get("alice", "", "k-1", &found).ok());
  CHECK(found.saga_id() == alices.saga_id());
  CHECK(found.idempotency_key() == "k-1");

  // Lists and watches are the customer's own too.
  v1::ListExchangesRequest list;
  v1::ListExchangesResponse listed;
  REQUIRE(gateway.stub().ListExchanges(gateway.As("mallory").get(), list, &listed).ok());
  REQUIRE(listed.exchanges_size() == 1);
  CHECK(listed.exchanges(0).saga_id() == mallorys.saga_id());
  list.set_customer_id("alice");
  CHECK(gateway.stub().ListExchanges(gateway.As("mallory").get(), list, &listed).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  v1::WatchExchangeRequest watch;
  watch.set_saga_id(alices.saga_id());
  auto context = gateway.As("mallory");
  auto reader = gateway.stub().WatchExchange(context.get(), watch);
  v1::Exchange update;
  CHECK_FALSE(reader->Read(&update));
  grpc::Status watched = reader->Finish();
  CHECK(watched.error_code() == absent.error_code());
  CHECK(watched.error_message() == absent.error_message());
  CHECK(SagaCount(mesh.server->engine()) == 2);
  mesh.server->Shutdown(absl::Seconds(1));
}

TEST_CASE("each customer's quotes and exchanges are rate-limited",
          "[coordinator][integration][security][sqlite]") {
  testing::FakeClock clock(absl::Now());
  Mesh mesh(clock, /*rate_per_second=*/2, /*burst=*/3);
  Gateway gateway(mesh.server->port(), testing::ReadTextFile(mesh.key.private_file));
  v1::Quote quote;
  for (int i = 0; i < 3; ++i) REQUIRE(gateway.Quote("alice", &quote).ok());
  grpc::Status limited = gateway.Quote("alice", &quote);
  CHECK(limited.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(limited.error_message(), Catch::Contains("customer alice is over its rate of 2"));
  CHECK_THAT(limited.error_message(), Catch::Contains("retry in 500 ms"));
  v1::Exchange exchange;
  CHECK(gateway.Exchange("alice", "k-1", quote.quote_id(), &exchange).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(SagaCount(mesh.server->engine()) == 0);
  // Another customer has a bucket of their own; and Alice's refills with time.
  CHECK(gateway.Quote("bob", &quote).ok());
  clock.Advance(absl::Milliseconds(500));
  CHECK(gateway.Exchange("alice", "k-1", quote.quote_id(), &exchange).error_code() ==
        grpc::StatusCode::NOT_FOUND);  // Admitted: bob's quote is not hers.
  mesh.server->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace fxmesh::coordinator
