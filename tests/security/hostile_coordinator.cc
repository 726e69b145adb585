#include "tests/security/hostile_coordinator.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::testing {
namespace {

const std::vector<std::string> kLedgerTables = {"accounts", "holds", "barriers", "journal",
                                                "external_transfers"};

void Open(ledger::LedgerEngine& ledger, const std::string& account, const std::string& currency,
          const std::string& owner) {
  v1::OpenAccountRequest request;
  request.set_account_id(account);
  request.set_currency(currency);
  request.set_owner(owner);
  v1::AccountResponse response;
  REQUIRE(ledger.OpenAccount(request, &response).ok());
  REQUIRE(response.outcome() == v1::OUTCOME_APPLIED);
}

void Deposit(ledger::LedgerEngine& ledger, const std::string& account, int64_t amount,
             const std::string& currency) {
  v1::ExternalTransferRequest request;
  request.set_request_id(absl::StrCat("seed-", account));
  request.set_account_id(account);
  request.mutable_amount()->set_amount_minor(amount);
  request.mutable_amount()->set_currency(currency);
  v1::ExternalTransferResponse response;
  REQUIRE(ledger.Deposit(request, &response).ok());
  REQUIRE(response.outcome() == v1::OUTCOME_APPLIED);
}

}  // namespace

HostileCoordinator::HostileCoordinator()
    : krw_database_(Backend::kSqlite),
      fx_database_(Backend::kSqlite),
      coordinator_database_(Backend::kSqlite) {
  SetLogLevel(LogLevel::kError);
  krw_ = coordinator::StartTestLedger(krw_database_, "KRW");
  fx_ = coordinator::StartTestLedger(fx_database_, "USD,EUR");
  Deposit(krw_->engine(), "position:KRW", 10'000'000'000, "KRW");
  Deposit(fx_->engine(), "position:USD", 1'000'000'000, "USD");
  for (const char* customer : {"alice", "bob"}) {
    Open(krw_->engine(), absl::StrCat(customer, "-krw"), "KRW", customer);
    Open(fx_->engine(), absl::StrCat(customer, "-usd"), "USD", customer);
    Open(fx_->engine(), absl::StrCat(customer, "-eur"), "EUR", customer);
    Deposit(krw_->engine(), absl::StrCat(customer, "-krw"), 1'000'000, "KRW");
  }

  coordinator::CoordinatorServerOptions options;
  options.database.url = coordinator_database_.url();
  options.rates_text = coordinator::kTestRates;
  options.spread_bps = 50;
  options.participant_addresses = {
      {std::string(coordinator::kKrwParticipant), absl::StrCat("127.0.0.1:", krw_->port())},
      {std::string(coordinator::kFxParticipant), absl::StrCat("127.0.0.1:", fx_->port())}};
  absl::StatusOr<std::unique_ptr<coordinator::CoordinatorServer>> server =
      coordinator::CoordinatorServer::Start(options, clock_);
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  coordinator_ = std::move(*server);
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", coordinator_->port()),
                                     grpc::InsecureChannelCredentials());
  exchange_ = v1::ExchangeService::NewStub(channel);
  ops_ = v1::OpsService::NewStub(channel);
  traces_ = v1::TraceService::NewStub(channel);

  // One exchange that completes, and one that fails: 10,000.00 USD is more than alice has.
  completed_request_.set_idempotency_key("done-1");
  completed_request_.set_customer_id("alice");
  completed_request_.set_source_account_id("alice-krw");
  completed_request_.set_target_account_id("alice-usd");
  completed_request_.set_quote_id(Quote("alice"));
  for (bool completes : {true, false}) {
    v1::ExchangeRequest request = completed_request_;
    if (!completes) {
      v1::GetQuoteRequest big;
      big.set_sell_currency("KRW");
      big.set_buy_currency("USD");
      big.set_buy_amount_minor(1'000'000);
      big.set_customer_id("alice");
      v1::Quote quote;
      grpc::ClientContext context;
      REQUIRE(exchange_->GetQuote(&context, big, &quote).ok());
      request.set_idempotency_key("failed-1");
      request.set_quote_id(quote.quote_id());
    }
    v1::ExchangeResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    const grpc::Status status = exchange_->Exchange(&context, request, &response);
    INFO(status.error_message() << " " << response.ShortDebugString());
    REQUIRE(status.ok());
    REQUIRE(response.exchange().status() ==
            (completes ? v1::EXCHANGE_STATUS_COMPLETED : v1::EXCHANGE_STATUS_FAILED));
    if (completes) completed_saga_ = response.exchange().saga_id();
  }
  WaitSettled();
}

void HostileCoordinator::WaitSettled() {
  // A failed saga finishes its Cancels after the answer: wait until no saga is active.
  for (int i = 0; i < 200; ++i) {
    v1::ListSagasRequest active;
    active.set_active_only(true);
    v1::ListSagasResponse sagas;
    grpc::ClientContext context;
    REQUIRE(ops_->ListSagas(&context, active, &sagas).ok());
    if (sagas.sagas_size() == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("a failed exchange never settled");
}

HostileCoordinator::~HostileCoordinator() {
  coordinator_->Shutdown(absl::ZeroDuration());
  krw_->Shutdown(absl::ZeroDuration());
  fx_->Shutdown(absl::ZeroDuration());
}

std::string HostileCoordinator::Quote(const std::string& customer) {
  v1::GetQuoteRequest request;
  request.set_sell_currency("KRW");
  request.set_buy_currency("USD");
  request.set_buy_amount_minor(1'000);
  request.set_customer_id(customer);
  v1::Quote quote;
  grpc::ClientContext context;
  const grpc::Status status = exchange_->GetQuote(&context, request, &quote);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return quote.quote_id();
}

void HostileCoordinator::ExpireQuotes() {
  clock_.Skip(absl::Milliseconds(limits::kQuoteTtlMsDefault) + absl::Seconds(1));
}

std::string HostileCoordinator::Snapshot() {
  v1::ListParticipantsResponse participants;
  grpc::ClientContext context;
  REQUIRE(ops_->ListParticipants(&context, v1::ListParticipantsRequest(), &participants).ok());
  return DumpTables(coordinator_database_.url(),
                    {"quotes", "sagas", "saga_steps", "daily_usage", "participants", "resolutions",
                     "audit_log", "outbox", "dead_letters"}) +
         DumpTables(krw_database_.url(), kLedgerTables) +
         DumpTables(fx_database_.url(), kLedgerTables) + participants.ShortDebugString();
}

std::string HostileCoordinator::Balances() {
  std::string balances;
  for (const char* customer : {"alice", "bob"}) {
    for (const char* currency : {"krw", "usd", "eur"}) {
      v1::GetAccountRequest request;
      request.set_account_id(absl::StrCat(customer, "-", currency));
      v1::Account account;
      REQUIRE((currency == std::string("krw") ? krw_ : fx_)
                  ->engine()
                  .GetAccount(request, &account)
                  .ok());
      absl::StrAppend(&balances, account.account_id(), " ", account.available_minor(), " ",
                      account.held_minor(), " ", account.incoming_minor(), "\n");
    }
  }
  return balances;
}

}  // namespace fxmesh::testing
