// Proves retention on both backends, and for the first three cases on the in-memory store too,
// with a fake clock: the Pruner deletes terminal sagas (with
// their steps, resolutions and idempotency key), expired quotes, sent outbox rows and replayed dead
// letters once they are older than their retention, and nothing else — not a running saga however
// old, not a young terminal saga, not an unsent row, not a dead letter still waiting, not an audit
// row — and that each pass deletes at most one batch per kind while repeated passes finish.
#include "coordinator/pruner.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "common/proto_time.h"
#include "common/soci_util.h"
#include "coordinator/coordinator_server.h"
#include "coordinator/saga_store.h"
#include "tests/coordinator/coordinator_harness.h"
#include "tests/coordinator/store_contract.h"
#include "tests/coordinator/unreachable_ledger.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

constexpr absl::string_view kOwner = "pruner-test";

// A coordinator store of `kind` (in memory, or a database over a backend), a fake clock and a
// metrics registry.
class Fixture {
 public:
  explicit Fixture(contract::StoreKind kind)
      : contract_store_(kind), store_(&contract_store_.store()) {}
  explicit Fixture(Backend backend)
      : Fixture(backend == Backend::kSqlite ? contract::StoreKind::kSqlite
                                            : contract::StoreKind::kPostgres) {}

  std::string url() const { return contract_store_.url(); }
  SagaStore& store() { return *store_; }
  testing::FakeClock& clock() { return clock_; }
  MetricsRegistry& metrics() { return metrics_; }

  // A saga on `quote_id` (by default a quote of its own: each quote serves one exchange), created
  // now and taken through the states to `final_state` (CREATED, TRYING, CONFIRMING, COMPLETED,
  // CANCELLING or CANCELLED), one step-log row per state.
  v1::Saga MakeSaga(const std::string& key, v1::SagaState final_state, std::string quote_id = "") {
    if (quote_id.empty()) {
      quote_id = "q-of-" + key;
      NewQuote(quote_id);
    }
    NewSaga request;
    v1::Saga& saga = request.saga;
    saga.set_saga_id(NewSagaId());
    saga.set_idempotency_key(key);
    saga.set_customer_id("alice");
    saga.set_quote_id(quote_id);
    saga.set_source_account_id("alice-krw");
    saga.set_target_account_id("alice-usd");
    saga.mutable_sell()->set_currency("KRW");
    saga.mutable_sell()->set_amount_minor(13'700);
    saga.mutable_buy()->set_currency("USD");
    saga.mutable_buy()->set_amount_minor(1'000);
    saga.set_state(v1::SAGA_STATE_CREATED);
    // A saga always has its branches; a stored saga without them does not read back.
    for (const char* name : {"krw", "fx"}) {
      v1::Branch* branch = saga.add_branches();
      branch->set_branch(name);
      branch->set_participant(name == std::string("krw") ? "krw-ledger" : "fx-ledger");
    }
    request.request_digest = key;
    request.limit_day = "2026-06-01";
    request.limit_krw_minor = 13'700;
    request.daily_limit_krw_minor = 1'000'000'000;
    absl::StatusOr<CreateResult> created = store_->CreateSaga(request, clock_.Now());
    REQUIRE(created.ok());
    REQUIRE(created->outcome == CreateResult::Outcome::kCreated);
    const bool cancels =
        final_state == v1::SAGA_STATE_CANCELLING || final_state == v1::SAGA_STATE_CANCELLED;
    std::vector<v1::SagaState> path = {v1::SAGA_STATE_TRYING};
    if (cancels) {
      path.push_back(v1::SAGA_STATE_CANCELLING);
      path.push_back(v1::SAGA_STATE_CANCELLED);
    } else {
      path.push_back(v1::SAGA_STATE_CONFIRMING);
      path.push_back(v1::SAGA_STATE_COMPLETED);
    }
    REQUIRE(
        *store_->ClaimSaga(saga.saga_id(), kOwner, clock_.Now(), clock_.Now() + absl::Seconds(30)));
    for (v1::SagaState next : path) {
      if (saga.state() == final_state) break;
      const v1::SagaState from = saga.state();
      saga.set_state(next);
      REQUIRE(store_
                  ->SaveSaga(saga, from, kOwner, clock_.Now() + absl::Seconds(30),
                             StepRecord{from, next, "test"}, {}, clock_.Now())
                  .ok());
      saga.set_revision(saga.revision() + 1);
    }
    REQUIRE(saga.state() == final_state);
    REQUIRE(store_->ReleaseSaga(saga.saga_id(), kOwner).ok());
    return saga;
  }

  void NewQuote(const std::string& quote_id) {
    v1::Quote quote;
    quote.set_quote_id(quote_id);
    quote.mutable_sell()->set_currency("KRW");
    quote.mutable_sell()->set_amount_minor(13'700);
    quote.mutable_buy()->set_currency("USD");
    quote.mutable_buy()->set_amount_minor(1'000);
    quote.set_rate_micros(1'370'000'000);
    *quote.mutable_created_at() = ToTimestamp(clock_.Now());
    *quote.mutable_expires_at() = ToTimestamp(clock_.Now() + absl::Seconds(30));
    REQUIRE(store_->InsertQuote(quote).ok());
  }

  // A dead letter for `saga_id` at a new topic position; returns its id.
  int64_t NewDeadLetter(const std::string& saga_id) {
    v1::DeadLetter dead_letter;
    dead_letter.set_saga_id(saga_id);
    dead_letter.set_payload("{}");
    dead_letter.set_error("exhausted");
    dead_letter.set_attempts(5);
    dead_letter.set_source_topic("fxmesh.branch.commands");
    dead_letter.set_offset(++dead_letter_offset_);
    *dead_letter.mutable_dead_lettered_at() = ToTimestamp(clock_.Now());
    REQUIRE(*store_->InsertDeadLetter(dead_letter));
    absl::StatusOr<std::vector<v1::DeadLetter>> listed =
        store_->ListDeadLetters(saga_id, /*include_replayed=*/true, 0, 1'000);
    REQUIRE(listed.ok());
    REQUIRE(!listed->empty());
    return listed->back().dead_letter_id();
  }

  void Replay(int64_t dead_letter_id, const std::string& saga_id) {
    REQUIRE(store_
                ->ReplayDeadLetter(dead_letter_id, "olivia", "ledger back",
                                   OutboxMessage{0, "fxmesh.branch.commands", saga_id, "{}", ""},
                                   clock_.Now())
                .ok());
  }

  // Rows in the outbox, sent or not.
  int64_t OutboxRows() {
    long long rows = 0;
    Database* database = contract_store_.database();
    REQUIRE(database != nullptr);
    REQUIRE(database
                ->Read([&](soci::session& sql) {
                  sql << "SELECT COUNT(*) FROM outbox", soci::into(rows);
                  return absl::OkStatus();
                })
                .ok());
    return rows;
  }

  // Marks every unsent outbox row sent now.
  void SendOutbox() {
    absl::StatusOr<std::vector<OutboxMessage>> unsent = store_->ListUnsentOutbox(0, 10'000);
    REQUIRE(unsent.ok());
    std::vector<int64_t> ids;
    for (const OutboxMessage& message : *unsent) ids.push_back(message.outbox_id);
    REQUIRE(store_->MarkOutboxSent(ids, clock_.Now()).ok());
  }

  bool SagaExists(const std::string& saga_id) {
    absl::StatusOr<std::optional<v1::Saga>> saga = store_->GetSaga(saga_id);
    REQUIRE(saga.ok());
    return saga->has_value();
  }

  size_t Steps(const std::string& saga_id) {
    absl::StatusOr<std::vector<v1::Step>> steps = store_->ListSteps(saga_id);
    REQUIRE(steps.ok());
    return steps->size();
  }

 private:
  contract::ContractStore contract_store_;
  SagaStore* store_;
  testing::FakeClock clock_;
  MetricsRegistry metrics_;
  int64_t dead_letter_offset_ = 0;
};

RetentionOptions KeepForever() {
  RetentionOptions options;
  options.terminal_sagas = options.quotes = options.sent_outbox = options.replayed_dead_letters =
      absl::InfiniteDuration();
  return options;
}

STORE_CONTRACT_TEST("terminal sagas past retention go with their steps and the rest stays",
                    "[coordinator]") {
  Fixture f(kind);
  const v1::Saga old_completed = f.MakeSaga("old-completed", v1::SAGA_STATE_COMPLETED);
  const v1::Saga old_cancelled = f.MakeSaga("old-cancelled", v1::SAGA_STATE_CANCELLED);
  const v1::Saga old_trying = f.MakeSaga("old-trying", v1::SAGA_STATE_TRYING);
  const v1::Saga old_confirming = f.MakeSaga("old-confirming", v1::SAGA_STATE_CONFIRMING);
  const v1::Saga old_cancelling = f.MakeSaga("old-cancelling", v1::SAGA_STATE_CANCELLING);
  // A terminal saga whose dead letter still waits for an operator stays for the operator.
  const v1::Saga old_dead_lettered = f.MakeSaga("old-dead-lettered", v1::SAGA_STATE_COMPLETED);
  f.NewDeadLetter(old_dead_lettered.saga_id());
  // An operator's resolution and audit rows for the completed saga.
  v1::Resolution resolution;
  resolution.set_saga_id(old_completed.saga_id());
  resolution.set_action(v1::RESOLUTION_ACTION_CANCEL);
  resolution.set_reason_code("TEST");
  resolution.set_proposed_by("olivia");
  *resolution.mutable_proposed_at() = ToTimestamp(f.clock().Now());
  REQUIRE(f.store().InsertResolution(resolution).ok());
  const size_t audit_rows = f.store().ListAudit(old_completed.saga_id(), 0, 100)->size();
  REQUIRE(audit_rows == 1);

  f.clock().Advance(absl::Hours(24 * 30) + absl::Minutes(1));
  const v1::Saga young_completed = f.MakeSaga("young-completed", v1::SAGA_STATE_COMPLETED);
  RetentionOptions options = KeepForever();
  options.terminal_sagas = absl::Hours(24 * 30);
  Pruner pruner(f.store(), f.clock(), options, f.metrics());
  const PruneCounts counts = pruner.PruneOnce();

  CHECK(counts.sagas == 2);
  CHECK(counts.steps == 8);  // CREATED and three transitions each.
  CHECK(counts.resolutions == 1);
  CHECK_FALSE(counts.more);
  for (const v1::Saga* gone : {&old_completed, &old_cancelled}) {
    CHECK_FALSE(f.SagaExists(gone->saga_id()));
    CHECK(f.Steps(gone->saga_id()) == 0);
    CHECK_FALSE(f.store().GetSagaByKey(gone->customer_id(), gone->idempotency_key())->has_value());
  }
  CHECK(f.store().ListResolutions(old_completed.saga_id())->empty());
  // The audit log keeps what operators did to a saga that is gone.
  CHECK(f.store().ListAudit(old_completed.saga_id(), 0, 100)->size() == audit_rows);
  for (const v1::Saga* kept :
       {&old_trying, &old_confirming, &old_cancelling, &old_dead_lettered, &young_completed}) {
    INFO(kept->idempotency_key());
    CHECK(f.SagaExists(kept->saga_id()));
    CHECK(f.Steps(kept->saga_id()) > 0);
  }
  const std::string metrics = f.metrics().RenderPrometheusText();
  CHECK_THAT(metrics, Catch::Contains("fxmesh_pruned_rows_total{kind=\"sagas\"} 2"));
  CHECK_THAT(metrics, Catch::Contains("fxmesh_pruned_rows_total{kind=\"saga_steps\"} 8"));

  // A second pass finds nothing more; the young saga goes once it is old enough.
  CHECK(pruner.PruneOnce().sagas == 0);
  f.clock().Advance(absl::Hours(24 * 30) + absl::Minutes(1));
  CHECK(pruner.PruneOnce().sagas == 1);
  CHECK_FALSE(f.SagaExists(young_completed.saga_id()));
  CHECK(f.SagaExists(old_trying.saga_id()));
}

STORE_CONTRACT_TEST("replayed dead letters past retention go and waiting ones stay",
                    "[coordinator]") {
  Fixture f(kind);
  const int64_t old_replayed = f.NewDeadLetter("saga-1");
  f.Replay(old_replayed, "saga-1");
  const int64_t waiting = f.NewDeadLetter("saga-2");
  f.clock().Advance(absl::Hours(24 * 31));
  const int64_t young_replayed = f.NewDeadLetter("saga-3");
  f.Replay(young_replayed, "saga-3");

  RetentionOptions options = KeepForever();
  options.replayed_dead_letters = absl::Hours(24 * 30);
  Pruner pruner(f.store(), f.clock(), options, f.metrics());
  CHECK(pruner.PruneOnce().dead_letters == 1);
  CHECK_FALSE(f.store().GetDeadLetter(old_replayed)->has_value());
  CHECK(f.store().GetDeadLetter(waiting)->has_value());
  CHECK(f.store().GetDeadLetter(young_replayed)->has_value());
  // The replay's audit row stays.
  CHECK(f.store().ListAudit("saga-1", 0, 100)->size() == 1);
}

STORE_CONTRACT_TEST("expired quotes past retention go unless a running saga names them",
                    "[coordinator]") {
  Fixture f(kind);
  f.NewQuote("q-unused");
  f.NewQuote("q-running");
  f.NewQuote("q-finished");
  const v1::Saga running = f.MakeSaga("running", v1::SAGA_STATE_CONFIRMING, "q-running");
  const v1::Saga finished = f.MakeSaga("finished", v1::SAGA_STATE_COMPLETED, "q-finished");
  f.clock().Advance(absl::Hours(25));
  f.NewQuote("q-young");

  RetentionOptions options = KeepForever();
  options.quotes = absl::Hours(24);
  Pruner pruner(f.store(), f.clock(), options, f.metrics());
  CHECK(pruner.PruneOnce().quotes == 2);
  CHECK_FALSE(f.store().GetQuote("q-unused")->has_value());
  CHECK_FALSE(f.store().GetQuote("q-finished")->has_value());
  CHECK(f.store().GetQuote("q-running")->has_value());
  CHECK(f.store().GetQuote("q-young")->has_value());
  // Sagas keep what they copied from their quote.
  CHECK(f.SagaExists(finished.saga_id()));
  CHECK(f.SagaExists(running.saga_id()));
}

FXMESH_BACKEND_TEST("sent outbox rows past retention go and unsent rows stay however old",
                    "[coordinator][db]") {
  Fixture f(backend);
  // Each new saga writes one event to the outbox.
  f.MakeSaga("sent-1", v1::SAGA_STATE_CREATED);
  f.MakeSaga("sent-2", v1::SAGA_STATE_CREATED);
  f.SendOutbox();
  f.MakeSaga("never-sent", v1::SAGA_STATE_CREATED);
  f.clock().Advance(absl::Hours(25));
  REQUIRE(*f.store().CountUnsentOutbox() == 1);
  f.MakeSaga("sent-young", v1::SAGA_STATE_CREATED);
  REQUIRE(
      f.store()
          .MarkOutboxSent({f.store().ListUnsentOutbox(0, 10)->back().outbox_id}, f.clock().Now())
          .ok());
  REQUIRE(f.OutboxRows() == 4);

  RetentionOptions options = KeepForever();
  options.sent_outbox = absl::Hours(24);
  Pruner pruner(f.store(), f.clock(), options, f.metrics());
  CHECK(pruner.PruneOnce().outbox == 2);
  CHECK(f.OutboxRows() == 2);
  CHECK(*f.store().CountUnsentOutbox() == 1);
  f.clock().Advance(absl::Hours(24 * 365));
  CHECK(pruner.PruneOnce().outbox == 1);
  CHECK(*f.store().CountUnsentOutbox() == 1);
}

FXMESH_BACKEND_TEST("a pass deletes at most one batch of each kind and passes finish the backlog",
                    "[coordinator][db]") {
  Fixture f(backend);
  for (int i = 0; i < 5; ++i) f.MakeSaga(absl::StrCat("done-", i), v1::SAGA_STATE_COMPLETED);
  for (int i = 0; i < 7; ++i) f.NewQuote(absl::StrCat("q-", i));
  f.SendOutbox();  // 5 sagas × 4 events.
  f.clock().Advance(absl::Hours(24 * 31));

  RetentionOptions options;  // The defaults: 30 days for sagas, a day for quotes and the outbox.
  options.saga_batch_max = 2;
  options.batch_max = 3;
  Pruner pruner(f.store(), f.clock(), options, f.metrics());
  PruneCounts first = pruner.PruneOnce();
  CHECK(first.sagas == 2);
  CHECK(first.steps == 8);
  CHECK(first.quotes == 3);
  CHECK(first.outbox == 3);
  CHECK(first.more);
  int sagas = first.sagas, quotes = first.quotes, outbox = first.outbox, passes = 1;
  for (PruneCounts counts = first; counts.more && passes < 20; ++passes) {
    counts = pruner.PruneOnce();
    CHECK(counts.sagas <= 2);
    CHECK(counts.quotes <= 3);
    CHECK(counts.outbox <= 3);
    sagas += counts.sagas;
    quotes += counts.quotes;
    outbox += counts.outbox;
  }
  CHECK(sagas == 5);
  CHECK(quotes == 12);  // The 7 and the 5 sagas' own.
  CHECK(outbox == 20);
  CHECK(passes == 7);  // 20 outbox rows at 3 a pass.
  CHECK(f.OutboxRows() == 0);
  CHECK(f.metrics().RenderPrometheusText().find("fxmesh_pruned_rows_total{kind=\"outbox\"} 20") !=
        std::string::npos);
}

FXMESH_BACKEND_TEST("a coordinator without Kafka prunes on its own thread",
                    "[coordinator][db][integration]") {
  Fixture f(backend);
  const v1::Saga old = f.MakeSaga("old", v1::SAGA_STATE_COMPLETED);
  f.clock().Advance(absl::Hours(24 * 31));
  UnreachableLedger krw, fx;
  CoordinatorServerOptions options;
  options.database.url = f.url();
  options.rates_text = kTestRates;
  options.spread_bps = 50;
  options.participant_clients = {{std::string(kKrwParticipant), &krw},
                                 {std::string(kFxParticipant), &fx}};
  options.prune_interval = absl::Milliseconds(20);
  REQUIRE(options.kafka_brokers.empty());
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
      CoordinatorServer::Start(options, f.clock());
  REQUIRE(server.ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (f.SagaExists(old.saga_id()) && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(20));
  CHECK_FALSE(f.SagaExists(old.saga_id()));
  (*server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh::coordinator
