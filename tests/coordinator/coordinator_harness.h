// Two real ledger servers on loopback (each with its own database), and a SagaEngine over its own
// database that reaches them through real gRPC clients wrapped in fault injectors. Customers
// "alice", "bob", ... get a KRW and a USD account; the bank's positions are funded.
#pragma once

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "coordinator/local_relay.h"
#include "coordinator/saga_engine.h"
#include "ledger/dev/dev_faults.h"
#include "ledger/ledger_server.h"
#include "tests/coordinator/faulty_participant_client.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator {

struct HarnessOptions {
  absl::Duration quote_ttl = absl::Seconds(30);
  absl::Duration stuck_after = absl::Minutes(5);
  int64_t daily_limit_krw = 50'000'000;
  std::vector<std::string> customers = {"alice", "bob"};
  int64_t customer_krw = 1'000'000;      // Each customer's opening KRW balance.
  int64_t customer_usd_cents = 100'000;  // Each customer's opening USD balance (1,000.00 USD).
  // Settlement: by default the harness runs the coordinator's in-process relay (local_relay.h)
  // over the outbox. External: it runs none; the test runs a relay through Kafka, or none at all
  // (the commands then stay in the outbox).
  bool external_relay = false;
  // The in-process relay's retry tiers: quick, so a test sees a command through every tier and
  // into the dead letters within seconds.
  std::vector<relay::RelayTier> relay_tiers = {{"test.retry.1", absl::Milliseconds(100)},
                                               {"test.retry.2", absl::Milliseconds(200)},
                                               {"test.retry.3", absl::Milliseconds(400)},
                                               {"test.retry.4", absl::Milliseconds(800)},
                                               {"test.retry.5", absl::Milliseconds(1'600)}};
  // When the engine expects to hear about a command it sent to the relay (EngineOptions).
  absl::Duration relay_first_word_after = absl::Milliseconds(limits::kRelayFirstWordAfterMs);
  absl::Duration relay_word_after_due =
      absl::Milliseconds(limits::kLedgerCallTimeoutMs + limits::kRelaySilenceMarginMs);
  // Whether the relays have unread commands (the engine's option of the same name); may be null.
  std::function<bool()> relay_has_backlog;
};

class CoordinatorHarness {
 public:
  explicit CoordinatorHarness(testing::Backend backend, HarnessOptions options = {});
  ~CoordinatorHarness();

  SagaEngine& engine() { return *engine_; }
  MetricsRegistry& metrics() { return metrics_; }
  SagaStore& store() { return *store_; }
  Database& coordinator_database() { return *coordinator_db_; }
  FaultyParticipantClient& krw() { return *krw_faulty_; }
  FaultyParticipantClient& fx() { return *fx_faulty_; }
  ledger::LedgerEngine& krw_ledger() { return krw_server_->engine(); }
  ledger::LedgerEngine& fx_ledger() { return fx_server_->engine(); }

  // A quote, REQUIREd to succeed. Exactly one of sell/buy amount is non-zero.
  v1::Quote Quote(const std::string& sell, const std::string& buy, int64_t sell_amount,
                  int64_t buy_amount);
  // Exchange on `quote` from the customer's account in the sold currency to the one in the bought
  // currency ("<customer>-krw", "<customer>-usd"), or to `target_account` if given.
  absl::StatusOr<v1::Exchange> Exchange(const std::string& key, const std::string& customer,
                                        const v1::Quote& quote,
                                        absl::Duration wait = absl::Seconds(5),
                                        const std::string& target_account = "");
  // A saga created for `key` (alice buys 10.00 USD) but not driven yet, as if its customer's
  // deadline had already passed: due for recovery. REQUIREs it to be CREATED; returns its id.
  std::string UndrivenSaga(const std::string& key);
  // Another coordinator replica: its own engine and database connections over the same
  // coordinator database and the same (fault-injecting) ledger clients.
  std::unique_ptr<SagaEngine> NewReplica(const std::string& owner_id,
                                         absl::TimeZone limit_time_zone = absl::UTCTimeZone());

  // Drives due sagas, as the recovery loop does, until none is left non-terminal or `timeout`
  // passes; returns the number still non-terminal.
  int Settle(absl::Duration timeout = absl::Seconds(20));
  v1::Saga Saga(const std::string& saga_id);
  int64_t Available(const std::string& account_id);

  // ARCHITECTURE.md §8 over both ledgers and every saga: each ledger balances per currency, no
  // hold is left HELD when every saga is terminal, a COMPLETED saga has all its holds CONFIRMED and
  // a CANCELLED saga none.
  void CheckInvariants();

 private:
  ledger::LedgerEngine& LedgerFor(const std::string& participant);

  HarnessOptions options_;
  testing::TestDatabase krw_database_, fx_database_, coordinator_database_;
  std::unique_ptr<ledger::LedgerServer> krw_server_, fx_server_;
  std::unique_ptr<ParticipantClient> krw_client_, fx_client_;
  std::unique_ptr<FaultyParticipantClient> krw_faulty_, fx_faulty_;
  std::unique_ptr<Database> coordinator_db_;
  std::unique_ptr<SagaStore> store_;
  MetricsRegistry metrics_;
  std::unique_ptr<SagaEngine> engine_;
  std::unique_ptr<LocalRelay> local_relay_;
  std::atomic<bool> local_relay_stopping_{false};
  std::thread local_relaying_;
  std::vector<std::unique_ptr<Database>> replica_databases_;
  std::vector<std::unique_ptr<SagaStore>> replica_stores_;
  std::vector<std::unique_ptr<MetricsRegistry>> replica_metrics_;
  int request_counter_ = 0;
};

// A ledger server on loopback port 0 over `database`, serving `currencies` ("KRW", "USD,EUR"),
// with `dev_faults` (which must outlive it) in front of its branch calls if given. REQUIREs it to
// start.
std::unique_ptr<ledger::LedgerServer> StartTestLedger(const testing::TestDatabase& database,
                                                      const std::string& currencies,
                                                      ledger::DevFaultSwitch* dev_faults = nullptr);

// The rates every coordinator test uses: USD 1370.25, EUR 1482.60, JPY 9.1234 (mid), spread 50 bp.
extern const char kTestRates[];

}  // namespace fxmesh::coordinator
