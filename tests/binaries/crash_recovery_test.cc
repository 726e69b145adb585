// Proves recovery from a coordinator crash at every persisted step: the real coordinator process
// kills itself with SIGKILL right after its Nth durable saga write (--crash_after_saves, a
// failpoint), is restarted on the same database, and must finish the saga correctly — the
// exchange completes with both legs posted, or cancels with both released — with both real
// ledger processes balanced and no hold left HELD (ARCHITECTURE.md §8.5, §8.8).
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "tests/binaries/mesh_processes.h"

namespace fxmesh::testing {
namespace {

struct CrashCase {
  const char* name;
  int64_t customer_krw;  // Too little makes the exchange cancel.
  v1::SagaState final_state;
};

TEST_CASE("a coordinator killed after any persisted step finishes its saga after a restart",
          "[binary][integration][chaos]") {
  const CrashCase crash_case =
      GENERATE(CrashCase{"completing", 1'000'000, v1::SAGA_STATE_COMPLETED},
               CrashCase{"cancelling", 1'000, v1::SAGA_STATE_CANCELLED});
  // Saga writes on either path: CREATED→TRYING, the decision, and the final state.
  const int crash_after = GENERATE(1, 2, 3);
  INFO(crash_case.name << " saga, killed after write " << crash_after);

  MeshProcesses mesh;
  mesh.Fund(mesh.krw(), "alice-krw", "KRW", crash_case.customer_krw);
  mesh.Fund(mesh.fx(), "alice-usd", "USD", 0);
  mesh.StartCoordinator({absl::StrCat("--crash_after_saves=", crash_after)});

  v1::GetQuoteRequest quote_request;
  quote_request.set_sell_currency("KRW");
  quote_request.set_buy_currency("USD");
  quote_request.set_buy_amount_minor(10'000);
  v1::Quote quote;
  REQUIRE(mesh.exchange().GetQuote(MeshProcesses::Context().get(), quote_request, &quote).ok());

  v1::ExchangeRequest request;
  request.set_idempotency_key("crash-1");
  request.set_customer_id("alice");
  request.set_source_account_id("alice-krw");
  request.set_target_account_id("alice-usd");
  request.set_quote_id(quote.quote_id());
  v1::ExchangeResponse response;
  // Mostly the process dies during this call and the client cannot tell what happened. A
  // cancelled exchange is answered FAILED once CANCELLING is durable, before the last write, so
  // that answer may arrive first; if it does, it must be the outcome the saga ends with.
  grpc::Status status =
      mesh.exchange().Exchange(MeshProcesses::Context().get(), request, &response);
  if (status.ok()) {
    CHECK(crash_case.final_state == v1::SAGA_STATE_CANCELLED);
    CHECK(response.exchange().status() == v1::EXCHANGE_STATUS_FAILED);
  }
  CHECK(mesh.coordinator().WaitForExit() == 128 + 9);

  mesh.StartCoordinator();
  // The client retries with the same key, as it must after "don't know": same saga, no second one.
  REQUIRE(mesh.exchange().Exchange(MeshProcesses::Context().get(), request, &response).ok());
  const v1::Exchange final = mesh.AwaitFinal(response.exchange().saga_id());
  CHECK(final.state() == crash_case.final_state);

  if (crash_case.final_state == v1::SAGA_STATE_COMPLETED) {
    CHECK(mesh.Available(mesh.krw(), "alice-krw") ==
          crash_case.customer_krw - quote.sell().amount_minor());
    CHECK(mesh.Available(mesh.fx(), "alice-usd") == 10'000);
  } else {
    CHECK(mesh.Available(mesh.krw(), "alice-krw") == crash_case.customer_krw);
    CHECK(mesh.Available(mesh.fx(), "alice-usd") == 0);
  }
  mesh.CheckLedgers();

  v1::ListSagasRequest all;
  v1::ListSagasResponse sagas;
  REQUIRE(mesh.ops().ListSagas(MeshProcesses::Context().get(), all, &sagas).ok());
  CHECK(sagas.sagas_size() == 1);
  CHECK(mesh.coordinator().Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
