// The client side of an fxmesh exchange (scenario.h's QuoteThenExchange) and the amounts every
// scenario moves. Kept apart from the scenarios, so that a load over real service processes
// (tests/binaries/rss_bench.cc) links it with the load generator and nothing else of the bench.
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "bench/scenario.h"

namespace fxmesh::bench {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(10);

// The calls of one exchange, alive until its last callback has run.
struct ExchangeCall {
  grpc::ClientContext quote_context;
  v1::GetQuoteRequest quote_request;
  v1::Quote quote;
  grpc::ClientContext exchange_context;
  v1::ExchangeRequest exchange_request;
  v1::ExchangeResponse exchange_response;
};

OpResult ResultOf(const grpc::Status& status, const v1::ExchangeResponse& response,
                  v1::ExchangeStatus expected) {
  if (!status.ok()) return OpResult::kFailed;
  const v1::ExchangeStatus answer = response.exchange().status();
  if (answer == expected) return OpResult::kCompleted;
  return answer == v1::EXCHANGE_STATUS_PENDING ? OpResult::kPending : OpResult::kFailed;
}

}  // namespace

int64_t UsdMinorFor(int64_t n) { return 100 + n % 50; }

// At the mesh's rate (1370.25 KRW per USD, before its spread), rounded down to whole won.
int64_t KrwMinorFor(int64_t n) { return UsdMinorFor(n) * 137025 / 10000; }

void QuoteThenExchange(v1::ExchangeService::Stub& stub, const ScenarioOptions& options, int64_t n,
                       std::function<void(OpResult)> done, v1::ExchangeStatus expected) {
  auto call = std::make_shared<ExchangeCall>();
  const std::string customer = absl::StrCat("c", n % options.customers);
  call->quote_context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
  call->quote_request.set_sell_currency("KRW");
  call->quote_request.set_buy_currency("USD");
  call->quote_request.set_buy_amount_minor(UsdMinorFor(n));
  call->quote_request.set_customer_id(customer);
  v1::ExchangeRequest& request = call->exchange_request;
  request.set_idempotency_key(absl::StrCat(options.run_id, "-", n));
  request.set_customer_id(customer);
  request.set_source_account_id(customer + "-krw");
  request.set_target_account_id(customer + "-usd");
  stub.async()->GetQuote(
      &call->quote_context, &call->quote_request, &call->quote,
      [&stub, call, expected, done = std::move(done)](grpc::Status status) mutable {
        if (!status.ok()) return done(OpResult::kFailed);
        call->exchange_context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
        call->exchange_request.set_quote_id(call->quote.quote_id());
        stub.async()->Exchange(&call->exchange_context, &call->exchange_request,
                               &call->exchange_response,
                               [call, expected, done = std::move(done)](grpc::Status status) {
                                 done(ResultOf(status, call->exchange_response, expected));
                               });
      });
}

}  // namespace fxmesh::bench
