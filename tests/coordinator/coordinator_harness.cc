#include "tests/coordinator/coordinator_harness.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {

const char kTestRates[] = "USD 1370.25\nEUR 1482.60\nJPY 9.1234\n";

std::unique_ptr<ledger::LedgerServer> StartTestLedger(const testing::TestDatabase& database,
                                                      const std::string& currencies,
                                                      ledger::DevFaultSwitch* dev_faults) {
  ledger::LedgerServerOptions options;
  options.database.url = database.url();
  options.currencies = *ParseCurrencyList(currencies);
  if (dev_faults != nullptr) dev_faults->ApplyTo(options);
  absl::StatusOr<std::unique_ptr<ledger::LedgerServer>> server =
      ledger::LedgerServer::Start(options, SystemClock::Get());
  INFO(server.status().ToString());
  REQUIRE(server.ok());
  return std::move(*server);
}

namespace {

template <typename Response>
void RequireApplied(const absl::Status& status, const Response& response) {
  INFO(status.ToString() << " " << response.ShortDebugString());
  REQUIRE(status.ok());
  REQUIRE(
      (response.outcome() == v1::OUTCOME_APPLIED || response.outcome() == v1::OUTCOME_DUPLICATE));
}

}  // namespace

CoordinatorHarness::CoordinatorHarness(testing::Backend backend, HarnessOptions options)
    : options_((SetLogLevel(LogLevel::kWarning), std::move(options))),
      krw_database_(backend),
      fx_database_(backend),
      coordinator_database_(backend) {
  krw_server_ = StartTestLedger(krw_database_, "KRW");
  fx_server_ = StartTestLedger(fx_database_, "USD,EUR,JPY,CNY");
  krw_client_ = NewGrpcParticipantClient(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", krw_server_->port()), grpc::InsecureChannelCredentials()));
  fx_client_ = NewGrpcParticipantClient(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", fx_server_->port()), grpc::InsecureChannelCredentials()));
  krw_faulty_ = std::make_unique<FaultyParticipantClient>(*krw_client_);
  fx_faulty_ = std::make_unique<FaultyParticipantClient>(*fx_client_);
  coordinator_db_ = coordinator_database_.Open();
  store_ = NewSociSagaStore(*coordinator_db_);
  REQUIRE(store_->Migrate().ok());
  absl::StatusOr<RateTable> rates = RateTable::Parse(kTestRates, 50);
  REQUIRE(rates.ok());
  EngineOptions engine_options;
  engine_options.owner_id = "test-coordinator";
  engine_options.quote_ttl = options_.quote_ttl;
  engine_options.daily_limit_krw_minor = options_.daily_limit_krw;
  engine_options.ledger_call_timeout = absl::Seconds(2);
  engine_options.stuck_after = options_.stuck_after;
  engine_options.relay_first_word_after = options_.relay_first_word_after;
  engine_options.relay_word_after_due = options_.relay_word_after_due;
  engine_options.relay_has_backlog = options_.relay_has_backlog;
  const std::map<std::string, ParticipantClient*> participants = {
      {std::string(kKrwParticipant), krw_faulty_.get()},
      {std::string(kFxParticipant), fx_faulty_.get()}};
  engine_ = std::make_unique<SagaEngine>(*store_, SystemClock::Get(), *rates, participants,
                                         engine_options, metrics_);
  if (!options_.external_relay) {
    LocalRelayOptions relay_options;
    relay_options.owner = engine_options.owner_id;
    relay_options.ledger_call_timeout = engine_options.ledger_call_timeout;
    relay_options.tiers = options_.relay_tiers;
    local_relay_ = std::make_unique<LocalRelay>(*store_, engine_->settlement(), participants,
                                                SystemClock::Get(), relay_options, metrics_);
    engine_->SetCommandsQueued([relay = local_relay_.get()] { relay->Notify(); });
    local_relaying_ = std::thread([this] {
      while (!local_relay_stopping_) {
        local_relay_->Step().IgnoreError();  // Tried again on the next pass.
        local_relay_->Wait(absl::Milliseconds(limits::kOutboxPollMs));
      }
    });
  }

  // The bank's positions, funded so it can pay out either currency.
  auto deposit = [&](ledger::LedgerEngine& ledger, const std::string& account, int64_t amount,
                     const std::string& currency) {
    v1::ExternalTransferRequest request;
    request.set_request_id(absl::StrCat("fund-", ++request_counter_));
    request.set_account_id(account);
    request.mutable_amount()->set_amount_minor(amount);
    request.mutable_amount()->set_currency(currency);
    v1::ExternalTransferResponse response;
    RequireApplied(ledger.Deposit(request, &response), response);
  };
  auto open = [&](ledger::LedgerEngine& ledger, const std::string& account,
                  const std::string& currency, const std::string& owner) {
    v1::OpenAccountRequest request;
    request.set_account_id(account);
    request.set_currency(currency);
    request.set_owner(owner);
    v1::AccountResponse response;
    RequireApplied(ledger.OpenAccount(request, &response), response);
  };
  deposit(krw_ledger(), "position:KRW", 10'000'000'000, "KRW");
  deposit(fx_ledger(), "position:USD", 1'000'000'000, "USD");
  for (const std::string& customer : options_.customers) {
    open(krw_ledger(), customer + "-krw", "KRW", customer);
    open(fx_ledger(), customer + "-usd", "USD", customer);
    if (options_.customer_krw > 0)
      deposit(krw_ledger(), customer + "-krw", options_.customer_krw, "KRW");
    if (options_.customer_usd_cents > 0) {
      deposit(fx_ledger(), customer + "-usd", options_.customer_usd_cents, "USD");
    }
  }
}

CoordinatorHarness::~CoordinatorHarness() {
  if (local_relaying_.joinable()) {
    local_relay_stopping_ = true;
    local_relay_->Notify();
    local_relaying_.join();
  }
  local_relay_.reset();
  engine_.reset();
  if (krw_server_) krw_server_->Shutdown(absl::ZeroDuration());
  if (fx_server_) fx_server_->Shutdown(absl::ZeroDuration());
}

v1::Quote CoordinatorHarness::Quote(const std::string& sell, const std::string& buy,
                                    int64_t sell_amount, int64_t buy_amount) {
  v1::GetQuoteRequest request;
  request.set_sell_currency(sell);
  request.set_buy_currency(buy);
  if (sell_amount > 0) request.set_sell_amount_minor(sell_amount);
  if (buy_amount > 0) request.set_buy_amount_minor(buy_amount);
  absl::StatusOr<v1::Quote> quote = engine_->intake().GetQuote(request);
  INFO(quote.status().ToString());
  REQUIRE(quote.ok());
  return *quote;
}

absl::StatusOr<v1::Exchange> CoordinatorHarness::Exchange(const std::string& key,
                                                          const std::string& customer,
                                                          const v1::Quote& quote,
                                                          absl::Duration wait,
                                                          const std::string& target_account) {
  auto account = [&](const std::string& currency) {
    return absl::StrCat(customer, "-", currency == "KRW" ? "krw" : "usd");
  };
  v1::ExchangeRequest request;
  request.set_idempotency_key(key);
  request.set_customer_id(customer);
  request.set_source_account_id(account(quote.sell().currency()));
  request.set_target_account_id(target_account.empty() ? account(quote.buy().currency())
                                                       : target_account);
  request.set_quote_id(quote.quote_id());
  return engine_->intake().Exchange(request, absl::Now() + wait);
}

std::unique_ptr<SagaEngine> CoordinatorHarness::NewReplica(const std::string& owner_id,
                                                           absl::TimeZone limit_time_zone) {
  replica_databases_.push_back(coordinator_database_.Open());
  replica_stores_.push_back(NewSociSagaStore(*replica_databases_.back()));
  EngineOptions engine_options;
  engine_options.owner_id = owner_id;
  engine_options.limit_time_zone = limit_time_zone;
  engine_options.quote_ttl = options_.quote_ttl;
  engine_options.daily_limit_krw_minor = options_.daily_limit_krw;
  replica_metrics_.push_back(std::make_unique<MetricsRegistry>());
  return std::make_unique<SagaEngine>(
      *replica_stores_.back(), SystemClock::Get(), *RateTable::Parse(kTestRates, 50),
      std::map<std::string, ParticipantClient*>{{std::string(kKrwParticipant), krw_faulty_.get()},
                                                {std::string(kFxParticipant), fx_faulty_.get()}},
      engine_options, *replica_metrics_.back());
}

std::string CoordinatorHarness::UndrivenSaga(const std::string& key) {
  absl::StatusOr<v1::Exchange> created =
      Exchange(key, "alice", Quote("KRW", "USD", 0, 1'000), absl::ZeroDuration());
  REQUIRE(created.ok());
  REQUIRE(created->state() == v1::SAGA_STATE_CREATED);
  return created->saga_id();
}

int CoordinatorHarness::Settle(absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::vector<std::string>> due =
        engine_->leases().ClaimDue(limits::kRecoveryBatchMax);
    REQUIRE(due.ok());
    for (const std::string& saga_id : *due) (void)engine_->driver().Drive(saga_id);
    SagaFilter active;
    active.active_only = true;
    active.limit = 100'000;
    absl::StatusOr<std::vector<v1::Saga>> left = store_->ListSagas(active, nullptr);
    REQUIRE(left.ok());
    if (left->empty() || absl::Now() >= give_up) return static_cast<int>(left->size());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

v1::Saga CoordinatorHarness::Saga(const std::string& saga_id) {
  absl::StatusOr<std::optional<v1::Saga>> saga = store_->GetSaga(saga_id);
  REQUIRE(saga.ok());
  REQUIRE(saga->has_value());
  return **saga;
}

int64_t CoordinatorHarness::Available(const std::string& account_id) {
  v1::GetAccountRequest request;
  request.set_account_id(account_id);
  v1::Account account;
  ledger::LedgerEngine& ledger =
      account_id.find("krw") != std::string::npos ? krw_ledger() : fx_ledger();
  REQUIRE(ledger.GetAccount(request, &account).ok());
  return account.available_minor();
}

ledger::LedgerEngine& CoordinatorHarness::LedgerFor(const std::string& participant) {
  return participant == kKrwParticipant ? krw_ledger() : fx_ledger();
}

void CoordinatorHarness::CheckInvariants() {
  bool all_terminal = true;
  for (ledger::LedgerEngine* ledger : {&krw_ledger(), &fx_ledger()}) {
    v1::BalanceSheet sheet;
    REQUIRE(ledger->GetBalanceSheet(&sheet).ok());
    INFO(sheet.DebugString());
    CHECK(sheet.balanced());
    for (const v1::CurrencyTotals& totals : sheet.currencies()) {
      CHECK(totals.available_minor() >= 0);
      CHECK(totals.available_minor() + totals.held_minor() ==
            totals.deposited_minor() - totals.withdrawn_minor());
    }
  }
  SagaFilter every;
  every.limit = 100'000;
  absl::StatusOr<std::vector<v1::Saga>> sagas = store_->ListSagas(every, nullptr);
  REQUIRE(sagas.ok());
  for (const v1::Saga& saga : *sagas) {
    INFO("saga " << saga.saga_id() << " " << StateName(saga.state()));
    if (!IsTerminal(saga.state())) all_terminal = false;
    for (const v1::Branch& branch : saga.branches()) {
      v1::ListHoldsRequest request;
      request.set_saga_id(saga.saga_id());
      v1::ListHoldsResponse holds;
      REQUIRE(LedgerFor(branch.participant()).ListHolds(request, &holds).ok());
      CHECK(holds.holds_size() <= 1);
      for (const v1::Hold& hold : holds.holds()) {
        if (saga.state() == v1::SAGA_STATE_COMPLETED)
          CHECK(hold.state() == v1::HOLD_STATE_CONFIRMED);
        if (saga.state() == v1::SAGA_STATE_CANCELLED)
          CHECK(hold.state() == v1::HOLD_STATE_CANCELLED);
      }
      if (saga.state() == v1::SAGA_STATE_COMPLETED) CHECK(holds.holds_size() == 1);
    }
  }
  if (all_terminal) {
    for (ledger::LedgerEngine* ledger : {&krw_ledger(), &fx_ledger()}) {
      v1::ListHoldsRequest held;
      held.set_state(v1::HOLD_STATE_HELD);
      v1::ListHoldsResponse holds;
      REQUIRE(ledger->ListHolds(held, &holds).ok());
      CHECK(holds.holds_size() == 0);
    }
  }
}

}  // namespace fxmesh::coordinator
