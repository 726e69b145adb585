// Proves that the coordinator answers hostile input on every RPC of ExchangeService, OpsService
// and its TraceService with INVALID_ARGUMENT, a documented outcome (ALREADY_EXISTS for a reused
// idempotency key, NOT_FOUND, FAILED_PRECONDITION for an expired or used quote or a final saga)
// or DEADLINE_EXCEEDED, with a clear message, and changes nothing: every table of the
// coordinator's and both ledgers' databases is compared before and after each row. Also that an
// exchange naming another customer's account fails NOT_OWNER and moves no money. A real
// coordinator and two real ledgers over real gRPC, on SQLite.
#include "tests/security/hostile_coordinator.h"

#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

namespace fxmesh::testing {
namespace {

using grpc::StatusCode;
using v1::ExchangeService;

const Expect kOk{StatusCode::OK, ""};

TEST_CASE("hostile input to every ExchangeService RPC is refused and changes nothing",
          "[security][integration][sqlite]") {
  HostileCoordinator mesh;
  HostileTables tables([&] { return mesh.Snapshot(); });
  const StatusCode invalid = StatusCode::INVALID_ARGUMENT;
  const std::string service = ExchangeService::service_full_name();

  // GetQuote. Every valid quote is stored, so there is no 10-year-deadline row.
  v1::GetQuoteRequest quote;
  quote.set_sell_currency("KRW");
  quote.set_buy_currency("USD");
  quote.set_buy_amount_minor(1'000);
  quote.set_customer_id("alice");
  std::vector<Row<v1::GetQuoteRequest>> quote_rows = KeyRows<v1::GetQuoteRequest>(
      "customer_id", [](auto& r, const std::string& v) { r.set_customer_id(v); }, false);
  Add(quote_rows,
      AmountRows<v1::GetQuoteRequest>([](auto& r, int64_t v) { r.set_buy_amount_minor(v); }));
  Add(quote_rows, DeadlineRows<v1::GetQuoteRequest>(std::nullopt));
  auto currency = [](bool sell, std::string code) {
    return [sell, code](v1::GetQuoteRequest& r) {
      sell ? r.set_sell_currency(code) : r.set_buy_currency(code);
    };
  };
  Add(quote_rows,
      {
          {"sell_currency missing", currency(true, ""), {invalid, "no rate for ''"}},
          {"buy_currency in lower case", currency(false, "usd"), {invalid, "no rate for 'usd'"}},
          {"buy_currency of 200 KiB", currency(false, Huge('U')), {invalid, "no rate for"}},
          {"buy_currency with an escape sequence",
           currency(false, "\x1b[2JUSD"),
           {invalid, "no rate for"}},
          {"buy_currency not UTF-8", currency(false, kInvalidUtf8), kMalformed},
          {"KRW for KRW", currency(false, "KRW"), {invalid, "cannot sell KRW for KRW"}},
          {"USD for EUR",
           [](auto& r) {
             r.set_sell_currency("USD");
             r.set_buy_currency("EUR");
           },
           {invalid, "between KRW and another currency"}},
          {"no amount", [](auto& r) { r.clear_amount(); }, {invalid, "set exactly one of"}},
          {"an amount that is worth nothing",
           [](auto& r) { r.set_sell_amount_minor(1); },
           {invalid, "too small to exchange"}},
          {"an amount whose price overflows",
           [](auto& r) { r.set_buy_amount_minor(1'000'000'000'000'000); },
           {invalid, "too large to exchange"}},
      });
  tables.Run(service + "/GetQuote", quote, quote_rows,
             FXMESH_CALL(&mesh.exchange(), GetQuote, v1::GetQuoteRequest, v1::Quote));

  // Exchange. The valid request repeats the completed exchange: the same saga, unchanged.
  v1::ExchangeRequest exchange = mesh.completed_request();
  std::vector<Row<v1::ExchangeRequest>> exchange_rows;
  for (const auto& [field, set] : std::vector<std::pair<std::string, Setter<v1::ExchangeRequest>>>{
           {"idempotency_key", [](auto&r, const std::string&v) { r.set_idempotency_key(v); }},
           {"customer_id", [](auto&r, const std::string&v) { r.set_customer_id(v); }},
           {"source_account_id", [](auto&r, const std::string&v) { r.set_source_account_id(v); }},
           {"target_account_id", [](auto&r, const std::string&v) { r.set_target_account_id(v); }},
           {"quote_id", [](auto&r, const std::string&v) { r.set_quote_id(v); }},
       }) {
    Add(exchange_rows, KeyRows<v1::ExchangeRequest>(field, set));
  }
  Add(exchange_rows,
      DeadlineRows<v1::ExchangeRequest>(Expect{StatusCode::OK, "EXCHANGE_STATUS_COMPLETED"}));
  const std::string fresh_quote = mesh.Quote("alice");
  const std::string bobs_quote = mesh.Quote("bob");
  Add(exchange_rows,
      {
          {"the same key for another target account",
           [](auto& r) { r.set_target_account_id("alice-eur"); },
           {StatusCode::ALREADY_EXISTS, "was already used for a different exchange"}},
          {"the same key for another quote",
           [&](auto& r) { r.set_quote_id(fresh_quote); },
           {StatusCode::ALREADY_EXISTS, "use a new key for a new exchange"}},
          {"a quote that does not exist",
           [](auto& r) {
             r.set_idempotency_key("new-key");
             r.set_quote_id("q-nonexistent");
           },
           {StatusCode::NOT_FOUND, "no quote q-nonexistent"}},
          {"another customer's quote",
           [&](auto& r) {
             r.set_idempotency_key("new-key");
             r.set_quote_id(bobs_quote);
           },
           {StatusCode::NOT_FOUND, "no quote"}},
          {"a quote already used",
           [](auto& r) { r.set_idempotency_key("new-key"); },
           {StatusCode::FAILED_PRECONDITION, "was already used by another exchange"}},
          {"the same account as source and target",
           [&](auto& r) {
             r.set_idempotency_key("new-key");
             r.set_quote_id(fresh_quote);
             r.set_target_account_id("alice-krw");
           },
           {invalid, "source_account_id and target_account_id are both alice-krw"}},
      });
  tables.Run(service + "/Exchange", exchange, exchange_rows,
             FXMESH_CALL(&mesh.exchange(), Exchange, v1::ExchangeRequest, v1::ExchangeResponse));

  // GetExchange and WatchExchange, of the completed exchange.
  v1::GetExchangeRequest get;
  get.set_saga_id(mesh.completed_saga());
  std::vector<Row<v1::GetExchangeRequest>> get_rows = SagaIdRows<v1::GetExchangeRequest>(
      "saga_id", [](auto& r, const std::string& v) { r.set_saga_id(v); });
  Add(get_rows,
      KeyRows<v1::GetExchangeRequest>(
          "idempotency_key", [](auto& r, const std::string& v) { r.set_idempotency_key(v); }));
  Add(get_rows, DeadlineRows<v1::GetExchangeRequest>(Expect{StatusCode::OK, "COMPLETED"}));
  Add(get_rows, {
                    {"neither saga_id nor idempotency_key",
                     [](auto& r) { r.clear_key(); },
                     {invalid, "set saga_id or idempotency_key"}},
                    {"a saga that does not exist",
                     [](auto& r) { r.set_saga_id("b00000000000000000000000000000ff"); },
                     {StatusCode::NOT_FOUND, "no such exchange"}},
                });
  tables.Run(service + "/GetExchange", get, get_rows,
             FXMESH_CALL(&mesh.exchange(), GetExchange, v1::GetExchangeRequest, v1::Exchange));
  v1::WatchExchangeRequest watch;
  watch.set_saga_id(mesh.completed_saga());
  std::vector<Row<v1::WatchExchangeRequest>> watch_rows = SagaIdRows<v1::WatchExchangeRequest>(
      "saga_id", [](auto& r, const std::string& v) { r.set_saga_id(v); });
  Add(watch_rows, DeadlineRows<v1::WatchExchangeRequest>(Expect{StatusCode::OK, "COMPLETED"}));
  Add(watch_rows, {{"a saga that does not exist",
                    [](auto& r) { r.set_saga_id("b00000000000000000000000000000ff"); },
                    {StatusCode::NOT_FOUND, "no such exchange"}}});
  tables.Run(service + "/WatchExchange", watch, watch_rows,
             Call<v1::WatchExchangeRequest, v1::Exchange>(
                 [&](grpc::ClientContext* context, const v1::WatchExchangeRequest& request,
                     v1::Exchange* last) {
                   std::unique_ptr<grpc::ClientReader<v1::Exchange>> reader =
                       mesh.exchange().WatchExchange(context, request);
                   while (reader->Read(last)) {
                   }
                   return reader->Finish();
                 }));

  // ListExchanges.
  v1::ListExchangesRequest list;
  list.set_customer_id("alice");
  std::vector<Row<v1::ListExchangesRequest>> list_rows = PageRows<v1::ListExchangesRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(list_rows,
      KeyRows<v1::ListExchangesRequest>(
          "customer_id", [](auto& r, const std::string& v) { r.set_customer_id(v); }, false));
  Add(list_rows, DeadlineRows<v1::ListExchangesRequest>(Expect{StatusCode::OK, "COMPLETED"}));
  Add(list_rows, {
                     {"status not an exchange status",
                      [](auto& r) { r.set_status(static_cast<v1::ExchangeStatus>(99)); },
                      {invalid, "status 99 is not an exchange status"}},
                     {"status negative",
                      [](auto& r) { r.set_status(static_cast<v1::ExchangeStatus>(-1)); },
                      {invalid, "is not an exchange status"}},
                 });
  tables.Run(service + "/ListExchanges", list, list_rows,
             FXMESH_CALL(&mesh.exchange(), ListExchanges, v1::ListExchangesRequest,
                         v1::ListExchangesResponse));

  // An expired quote, last: the coordinator's clock moves past every quote given so far.
  mesh.ExpireQuotes();
  v1::ExchangeRequest expired = mesh.completed_request();
  expired.set_idempotency_key("new-key");
  expired.set_quote_id(fresh_quote);
  tables.Run(service + "/Exchange", expired,
             std::vector<Row<v1::ExchangeRequest>>{
                 {"an expired quote",
                  [](auto&) {},
                  {StatusCode::FAILED_PRECONDITION, "ask for a new quote"}}},
             FXMESH_CALL(&mesh.exchange(), Exchange, v1::ExchangeRequest, v1::ExchangeResponse));

  tables.CheckCovers(service);
}

TEST_CASE("an exchange from or to another customer's account fails NOT_OWNER and moves no money",
          "[security][integration][sqlite]") {
  HostileCoordinator mesh;
  const std::string balances_before = mesh.Balances();
  for (const auto& [source, target] :
       {std::pair{"bob-krw", "alice-usd"}, std::pair{"alice-krw", "bob-usd"}}) {
    INFO(source << " -> " << target);
    v1::ExchangeRequest request = mesh.completed_request();
    request.set_idempotency_key(absl::StrCat("stranger-", source));
    request.set_quote_id(mesh.Quote("alice"));
    request.set_source_account_id(source);
    request.set_target_account_id(target);
    v1::ExchangeResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kRowDeadline);
    const grpc::Status status = mesh.exchange().Exchange(&context, request, &response);
    INFO(status.error_message() << " " << response.ShortDebugString());
    REQUIRE(status.ok());
    CHECK(response.exchange().status() == v1::EXCHANGE_STATUS_FAILED);
    CHECK(response.exchange().failure_reason() == "NOT_OWNER");
  }
  // Every hold the failed exchanges made was released: the balances are what they were.
  mesh.WaitSettled();
  CHECK(mesh.Balances() == balances_before);
}

}  // namespace
}  // namespace fxmesh::testing
