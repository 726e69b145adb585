#include <chrono>
#include <memory>

#include "absl/strings/match.h"
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

const std::vector<std::string>& ScenarioNames() {
  static const auto* names = new std::vector<std::string>{
      "fxmesh-sqlite", "fxmesh-postgres",           "2pc-postgres",        "monolith-postgres",
      "ceiling",       "fxmesh-sqlite-slow-ledger", "fxmesh-sqlite-cancel"};
  return *names;
}

std::string ScenarioText(const std::string& name) {
  if (name == "fxmesh-sqlite") {
    return "fxmesh on SQLite files (WAL, synchronous=FULL): two ledgers and the coordinator, "
           "settling every Confirm through its in-process relay";
  }
  if (name == "fxmesh-postgres") {
    return "fxmesh on PostgreSQL, one database per service, fsync and synchronous_commit on";
  }
  if (name == "2pc-postgres") {
    return "baseline: the exchange as one two-phase-commit transaction over two PostgreSQL "
           "databases (PREPARE TRANSACTION / COMMIT PREPARED), behind one gRPC call";
  }
  if (name == "monolith-postgres") {
    return "baseline: the exchange as one local transaction in one PostgreSQL database, behind "
           "one gRPC call";
  }
  if (name == "fxmesh-sqlite-slow-ledger") {
    return "fxmesh on SQLite as above, with the fx ledger answering every call 20 ms late";
  }
  if (name == "fxmesh-sqlite-cancel") {
    return "fxmesh on SQLite as above, the Cancel path: the customers' KRW accounts are empty, so "
           "every KRW Try is refused and the fx branch is cancelled through the relay";
  }
  if (name == "ceiling") {
    return "ceiling: fxmesh's RPCs per exchange (GetQuote; Exchange with 2 parallel Trys, then 2 "
           "parallel Confirms) with handlers that store nothing";
  }
  return name;
}

bool NeedsPostgres(const std::string& name) { return absl::EndsWith(name, "-postgres"); }

absl::StatusOr<std::unique_ptr<Scenario>> StartScenario(const std::string& name,
                                                        const ScenarioOptions& options) {
  if (name == "fxmesh-sqlite") return StartMeshScenario({}, options);
  if (name == "fxmesh-postgres") return StartMeshScenario({.postgres = true}, options);
  if (name == "fxmesh-sqlite-slow-ledger") {
    return StartMeshScenario({.fx_ledger_delay_ms = 20}, options);
  }
  if (name == "fxmesh-sqlite-cancel") return StartMeshScenario({.cancel_path = true}, options);
  if (name == "2pc-postgres") return StartTwoPhaseCommitScenario(options);
  if (name == "monolith-postgres") return StartMonolithScenario(options);
  if (name == "ceiling") return StartCeilingScenario(options);
  return absl::InvalidArgumentError(absl::StrCat("no scenario named ", name));
}

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

std::string PostgresDatabaseUrl(const ScenarioOptions& options, const std::string& database) {
  const std::string& url = options.postgres_url;
  const size_t slash = url.rfind('/');
  const size_t query = url.find('?', slash);
  return url.substr(0, slash + 1) + database +
         (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace fxmesh::bench
