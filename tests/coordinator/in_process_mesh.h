// The coordinator's parts wired as in the service (SagaEngine and its in-process relay) with no
// socket, database or sleep: the in-memory saga store (tests/support/in_memory_saga_store.h),
// ledgers in process (sim_ledger_client.h) and a fake clock that moves only when a test moves it.
// A test steps the relay by hand (Settle) and waits only for work it started, so every run takes
// the same path. alice's accounts are funded: 1,000,000 KRW, and the bank's USD position.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "common/limits.h"
#include "common/metrics.h"
#include "common/proto_time.h"
#include "coordinator/local_relay.h"
#include "coordinator/saga_engine.h"
#include "tests/coordinator/sim_ledger_client.h"
#include "tests/support/fake_clock.h"
#include "tests/support/in_memory_saga_store.h"

namespace fxmesh::coordinator {

inline constexpr char kInProcessRates[] = "USD 1370.25\nEUR 1482.60\nJPY 9.1234\n";

class InProcessMesh {
 public:
  explicit InProcessMesh(LocalRelayOptions relay_options = {}, EngineOptions engine_options = {}) {
    krw_.Deposit("alice-krw", 1'000'000);
    fx_.Deposit("position:USD", 1'000'000);
    const std::map<std::string, ParticipantClient*> participants = {
        {std::string(kKrwParticipant), &krw_}, {std::string(kFxParticipant), &fx_}};
    absl::StatusOr<RateTable> rates = RateTable::Parse(kInProcessRates, 50);
    REQUIRE(rates.ok());
    engine_ = std::make_unique<SagaEngine>(store_, clock_, *std::move(rates), participants,
                                           std::move(engine_options), metrics_);
    relay_ = std::make_unique<LocalRelay>(store_, engine_->settlement(), participants, clock_,
                                          std::move(relay_options), metrics_);
    engine_->SetCommandsQueued([this] { relay_->Notify(); });
  }

  SagaEngine& engine() { return *engine_; }
  SimLedgerClient& krw() { return krw_; }
  SimLedgerClient& fx() { return fx_; }
  testing::FakeClock& clock() { return clock_; }
  testing::InMemorySagaStore& store() { return store_; }

  // alice buys `usd_cents` with KRW.
  v1::Quote Quote(int64_t usd_cents) {
    v1::GetQuoteRequest request;
    request.set_sell_currency("KRW");
    request.set_buy_currency("USD");
    request.set_buy_amount_minor(usd_cents);
    request.set_customer_id("alice");
    absl::StatusOr<v1::Quote> quote = engine_->intake().GetQuote(request);
    INFO(quote.status());
    REQUIRE(quote.ok());
    return *quote;
  }
  // The customer's call with a deadline that leaves no time for a ledger call past the response
  // margin: the saga is created and answered PENDING, undecided, and the test drives it on, as the
  // recovery loop would (the clock is frozen, so a call that waited would wait for ever).
  v1::Exchange Exchange(const std::string& key, const v1::Quote& quote) {
    return Call(key, quote, clock_.Now() + absl::Milliseconds(limits::kResponseMarginMs));
  }
  // One drive of the saga, as the recovery loop makes it.
  v1::Saga Drive(const std::string& saga_id) {
    absl::StatusOr<v1::Saga> driven = engine_->driver().Drive(saga_id);
    INFO(driven.status());
    REQUIRE(driven.ok());
    return *driven;
  }
  v1::Exchange Call(const std::string& key, const v1::Quote& quote, absl::Time respond_by) {
    v1::ExchangeRequest request;
    request.set_idempotency_key(key);
    request.set_customer_id("alice");
    request.set_source_account_id("alice-krw");
    request.set_target_account_id("alice-usd");
    request.set_quote_id(quote.quote_id());
    absl::StatusOr<v1::Exchange> exchange = engine_->intake().Exchange(request, respond_by);
    INFO(exchange.status());
    REQUIRE(exchange.ok());
    return *exchange;
  }
  // One pass of the relay, and the answers of what it started.
  int Settle() {
    absl::StatusOr<int> started = relay_->Step();
    INFO(started.status());
    REQUIRE(started.ok());
    relay_->AwaitIdle();
    return *started;
  }
  // Returns once the engine says it queued commands (or after 10 s of real time, a failure).
  void AwaitQueued(absl::Duration timeout = absl::Seconds(10)) { relay_->Wait(timeout); }
  v1::Saga Saga(const std::string& saga_id) {
    absl::StatusOr<std::optional<v1::Saga>> saga = store_.GetSaga(saga_id);
    REQUIRE(saga.ok());
    REQUIRE(saga->has_value());
    return **saga;
  }
  int64_t Unsent() {
    absl::StatusOr<int64_t> unsent = store_.CountUnsentOutbox();
    REQUIRE(unsent.ok());
    return *unsent;
  }
  void CheckLedgers() {
    CHECK(krw_.CheckInvariants() == "");
    CHECK(fx_.CheckInvariants() == "");
  }

 private:
  testing::FakeClock clock_;
  testing::InMemorySagaStore store_;
  SimLedgerClient krw_, fx_;
  MetricsRegistry metrics_;
  std::unique_ptr<SagaEngine> engine_;
  std::unique_ptr<LocalRelay> relay_;
};

}  // namespace fxmesh::coordinator
