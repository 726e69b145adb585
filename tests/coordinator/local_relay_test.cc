// The coordinator's in-process relay (local_relay.h) over a real outbox (SQLite): it executes the
// commands it finds there with the relay's policy, hands every answer, retry report and dead letter
// to its sink, sets aside an answer whose saga is busy, and leaves the outbox to the replica that
// holds the publisher role. The ledger and the sink are scripted; time is a fake clock, so a retry
// tier passes exactly when the test moves time.
#include "coordinator/local_relay.h"

#include <catch2/catch.hpp>
#include <deque>

#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/soci_util.h"
#include "coordinator/saga_store.h"
#include "kafka/topics.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;
using testing::TestDatabase;

// A ledger that answers Confirms and Cancels from a script (then APPLIED), counting the calls.
class ScriptedLedger final : public ParticipantClient {
 public:
  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest&, absl::Time) override {
    return absl::UnimplementedError("the relay never sends a Try");
  }
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest&, absl::Time) override {
    return Next();
  }
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest&, absl::Time) override {
    return Next();
  }
  void Script(absl::StatusOr<v1::BranchResponse> answer) {
    absl::MutexLock lock(&mu_);
    script_.push_back(std::move(answer));
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // Asynchronous calls, as the gRPC client makes them. While answers are held, a started call
  // waits (its callback kept) until ReleaseAnswers.
  void StartConfirm(const v1::BranchRequest& request, absl::Time deadline, Done done) override {
    if (Keep(done)) return;
    done(Confirm(request, deadline));
  }
  void StartCancel(const v1::BranchRequest& request, absl::Time deadline, Done done) override {
    if (Keep(done)) return;
    done(Cancel(request, deadline));
  }
  void HoldAnswers() {
    absl::MutexLock lock(&mu_);
    holding_ = true;
  }
  // Waits (10 s at most) until `count` started calls wait for their answers; returns how many do.
  size_t AwaitWaiting(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return waiting_.size() >= count; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return waiting_.size();
  }
  void ReleaseAnswers() {
    std::vector<Done> waiting;
    {
      absl::MutexLock lock(&mu_);
      holding_ = false;
      waiting.swap(waiting_);
    }
    for (Done& done : waiting) done(Next());
  }

 private:
  absl::StatusOr<v1::BranchResponse> Next() {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (script_.empty()) {
      v1::BranchResponse applied;
      applied.set_outcome(v1::OUTCOME_APPLIED);
      return applied;
    }
    absl::StatusOr<v1::BranchResponse> answer = std::move(script_.front());
    script_.pop_front();
    return answer;
  }
  bool Keep(Done& done) {
    absl::MutexLock lock(&mu_);
    if (!holding_) return false;
    waiting_.push_back(std::move(done));
    return true;
  }
  absl::Mutex mu_;
  std::deque<absl::StatusOr<v1::BranchResponse>> script_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Done> waiting_ ABSL_GUARDED_BY(mu_);
};

// Records what the relay hands over; refuses the first `busy` answers as a busy saga would.
class RecordingSink final : public RelayAnswerSink {
 public:
  absl::Status ApplyBranchResult(const v1::BranchResult& result) override {
    absl::MutexLock lock(&mu_);
    if (busy_ > 0) {
      --busy_;
      ++refused_;
      return absl::AbortedError("another driver holds the saga");
    }
    results_.push_back(result);
    return absl::OkStatus();
  }
  absl::Status ApplyDeadLetter(const v1::DeadLetter& dead_letter) override {
    absl::MutexLock lock(&mu_);
    dead_letters_.push_back(dead_letter);
    return absl::OkStatus();
  }
  int refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  void SetBusy(int answers) {
    absl::MutexLock lock(&mu_);
    busy_ = answers;
  }
  // Waits (10 s at most) until `count` answers and dead letters in all were applied.
  size_t AwaitApplied(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return results_.size() + dead_letters_.size() >= count;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return results_.size() + dead_letters_.size();
  }
  std::vector<v1::BranchResult> results() {
    absl::MutexLock lock(&mu_);
    return results_;
  }
  std::vector<v1::DeadLetter> dead_letters() {
    absl::MutexLock lock(&mu_);
    return dead_letters_;
  }

 private:
  absl::Mutex mu_;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::BranchResult> results_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::DeadLetter> dead_letters_ ABSL_GUARDED_BY(mu_);
};

v1::BranchCommand Command(const std::string& saga_id, const std::string& branch, v1::BranchOp op) {
  v1::BranchCommand command;
  command.mutable_branch()->set_saga_id(saga_id);
  command.mutable_branch()->set_branch(branch);
  command.set_participant(branch == "krw" ? "krw-ledger" : "fx-ledger");
  command.set_op(op);
  command.set_attempt(1);
  return command;
}

struct Fixture {
  explicit Fixture(std::vector<relay::RelayTier> tiers = relay::DefaultTiers())
      : test_database(Backend::kSqlite) {
    database = test_database.Open();
    store = NewSociSagaStore(*database);
    REQUIRE(store->Migrate().ok());
    relay = NewRelay("replica-a", std::move(tiers));
  }
  // Each replica has its own metrics.
  std::unique_ptr<LocalRelay> NewRelay(const std::string& owner,
                                       std::vector<relay::RelayTier> tiers) {
    registries.push_back(std::make_unique<MetricsRegistry>());
    LocalRelayOptions options;
    options.owner = owner;
    options.tiers = std::move(tiers);
    return std::make_unique<LocalRelay>(
        *store, sink,
        std::map<std::string, ParticipantClient*>{{"krw-ledger", &krw}, {"fx-ledger", &fx}}, clock,
        options, *registries.back());
  }
  // Queues a row in the outbox as a saga write would; returns its id.
  int64_t Queue(const std::string& topic, const std::string& key, const std::string& payload) {
    int64_t id = 0;
    REQUIRE(database
                ->Transact([&](soci::session& sql) {
                  const std::string traceparent;
                  long long zero = 0;
                  sql << "INSERT INTO outbox (topic, message_key, payload, traceparent,"
                         " created_at_us, sent_at_us) VALUES (:t, :k, :p, :tp, :c, :s)",
                      soci::use(topic), soci::use(key), soci::use(payload), soci::use(traceparent),
                      soci::use(zero), soci::use(zero);
                  long long last = 0;
                  sql << "SELECT MAX(outbox_id) FROM outbox", soci::into(last);
                  id = last;
                  return Completion::kCommit;
                })
                .ok());
    return id;
  }
  int64_t Queue(const v1::BranchCommand& command) {
    return Queue(std::string(kafka::kBranchCommandsTopic), command.branch().saga_id(),
                 ProtoToJson(command));
  }
  int64_t Unsent() {
    absl::StatusOr<int64_t> count = store->CountUnsentOutbox();
    REQUIRE(count.ok());
    return *count;
  }

  TestDatabase test_database;
  std::unique_ptr<Database> database;
  std::unique_ptr<SagaStore> store;
  fxmesh::testing::FakeClock clock;
  ScriptedLedger krw, fx;
  RecordingSink sink;
  std::vector<std::unique_ptr<MetricsRegistry>> registries;
  std::unique_ptr<LocalRelay> relay;
};

TEST_CASE("the in-process relay executes the outbox's commands and hands over the answers",
          "[coordinator][relay]") {
  Fixture f;
  f.Queue(Command("saga-1", "krw", v1::BRANCH_OP_CONFIRM));
  f.Queue(Command("saga-1", "fx", v1::BRANCH_OP_CONFIRM));
  f.Queue(std::string(kafka::kSagaEventsTopic), "saga-1", "{}");
  absl::StatusOr<int> started = f.relay->Step();
  REQUIRE(started.ok());
  CHECK(*started == 2);  // The saga event has no consumer without Kafka: nothing to execute.
  REQUIRE(f.sink.AwaitApplied(2) == 2);
  CHECK(f.Unsent() == 0);
  for (const v1::BranchResult& result : f.sink.results()) {
    CHECK(result.branch().saga_id() == "saga-1");
    CHECK(result.op() == v1::BRANCH_OP_CONFIRM);
    CHECK(result.outcome() == v1::OUTCOME_APPLIED);
    CHECK(result.attempt() == 1);
  }
  CHECK(f.krw.calls() == 1);
  CHECK(f.fx.calls() == 1);
  // Taken once: another pass executes nothing again.
  started = f.relay->Step();
  REQUIRE(started.ok());
  CHECK(*started == 0);
}

TEST_CASE("the in-process relay sends a saga's commands at once, not one after the other",
          "[coordinator][relay]") {
  Fixture f;
  f.krw.HoldAnswers();
  f.fx.HoldAnswers();
  f.Queue(Command("saga-1", "krw", v1::BRANCH_OP_CONFIRM));
  f.Queue(Command("saga-1", "fx", v1::BRANCH_OP_CONFIRM));
  absl::StatusOr<int> started = f.relay->Step();
  REQUIRE(started.ok());
  REQUIRE(*started == 2);
  // Both calls are out while neither has its answer: no call waits for another, and none holds a
  // thread of its own.
  CHECK(f.krw.AwaitWaiting(1) == 1);
  CHECK(f.fx.AwaitWaiting(1) == 1);
  f.krw.ReleaseAnswers();
  f.fx.ReleaseAnswers();
  REQUIRE(f.sink.AwaitApplied(2) == 2);
  for (const v1::BranchResult& result : f.sink.results())
    CHECK(result.outcome() == v1::OUTCOME_APPLIED);
}

TEST_CASE("the in-process relay retries through the tiers with a report, then dead-letters",
          "[coordinator][relay]") {
  Fixture f({{"tier-a", absl::Seconds(5)}, {"tier-b", absl::Seconds(30)}});
  f.fx.Script(absl::UnavailableError("ledger down"));
  f.Queue(Command("saga-2", "fx", v1::BRANCH_OP_CANCEL));
  REQUIRE(f.relay->Step().ok());
  REQUIRE(f.sink.AwaitApplied(1) == 1);
  const v1::BranchResult report = f.sink.results().at(0);
  CHECK(report.kind() == v1::RESULT_KIND_RETRYING);
  CHECK(report.attempt() == 2);
  CHECK(ToTime(report.next_attempt_at()) == f.clock.Now() + absl::Seconds(5));

  // Not before its tier's end.
  f.clock.Advance(absl::Seconds(4));
  absl::StatusOr<int> started = f.relay->Step();
  REQUIRE(started.ok());
  CHECK(*started == 0);
  f.fx.Script(absl::DeadlineExceededError("slow"));
  f.fx.Script(absl::UnavailableError("still down"));
  f.clock.Advance(absl::Seconds(1));
  started = f.relay->Step();
  REQUIRE(started.ok());
  CHECK(*started == 1);
  REQUIRE(f.sink.AwaitApplied(2) == 2);
  CHECK(f.sink.results().at(1).attempt() == 3);

  // The third attempt, after the last tier, is the last: a dead letter with the last error.
  f.clock.Advance(absl::Seconds(30));
  REQUIRE(f.relay->Step().ok());
  REQUIRE(f.sink.AwaitApplied(3) == 3);
  REQUIRE(f.sink.dead_letters().size() == 1);
  const v1::DeadLetter dead = f.sink.dead_letters().at(0);
  CHECK(dead.saga_id() == "saga-2");
  CHECK(dead.attempts() == 3);
  CHECK(dead.error() == "gave up after 3 attempts: UNAVAILABLE: still down");
  CHECK(dead.source_topic() == "tier-b");
  CHECK(dead.partition() == -1);
  CHECK(dead.offset() == 1);  // The command's outbox id: once per command sent.
  CHECK(dead.command().op() == v1::BRANCH_OP_CANCEL);
  CHECK(f.fx.calls() == 3);
}

TEST_CASE("the in-process relay dead-letters a refusal at once, and a row that is no command",
          "[coordinator][relay]") {
  Fixture f;
  f.krw.Script(absl::FailedPreconditionError("account closed"));
  const int64_t refused = f.Queue(Command("saga-3", "krw", v1::BRANCH_OP_CONFIRM));
  const int64_t poison = f.Queue(std::string(kafka::kBranchCommandsTopic), "saga-4", "not json");
  v1::BranchCommand unknown = Command("saga-5", "fx", v1::BRANCH_OP_CONFIRM);
  unknown.set_participant("fee-ledger");
  f.Queue(unknown);
  REQUIRE(f.relay->Step().ok());
  REQUIRE(f.sink.AwaitApplied(3) == 3);
  std::map<std::string, v1::DeadLetter> by_saga;
  for (const v1::DeadLetter& dead : f.sink.dead_letters()) by_saga[dead.saga_id()] = dead;
  REQUIRE(by_saga.size() == 3);
  CHECK(by_saga["saga-3"].error() ==
        "the ledger refused attempt 1: FAILED_PRECONDITION: account closed");
  CHECK(by_saga["saga-3"].offset() == refused);
  CHECK(by_saga["saga-4"].error().rfind("not a BranchCommand: ", 0) == 0);
  CHECK(by_saga["saga-4"].payload() == "not json");
  CHECK(by_saga["saga-4"].offset() == poison);
  CHECK_FALSE(by_saga["saga-4"].has_command());
  CHECK(by_saga["saga-5"].error() == "unknown participant 'fee-ledger'");
  CHECK(f.krw.calls() == 1);
  CHECK(f.fx.calls() == 0);
}

TEST_CASE("an answer whose saga is busy is applied on a later pass, not lost",
          "[coordinator][relay]") {
  Fixture f;
  f.sink.SetBusy(1);
  f.Queue(Command("saga-6", "krw", v1::BRANCH_OP_CONFIRM));
  REQUIRE(f.relay->Step().ok());
  // Executed once; its answer waits aside until its pause has passed, then is applied by a pass.
  for (int pass = 0; pass < 1'000 && f.sink.results().empty(); ++pass) {
    f.relay->Wait(absl::Milliseconds(10));
    f.clock.Advance(absl::Milliseconds(limits::kLocalRelayBusyRetryMsMin));
    REQUIRE(f.relay->Step().ok());
  }
  REQUIRE(f.sink.results().size() == 1);
  CHECK(f.sink.results().at(0).outcome() == v1::OUTCOME_APPLIED);
  CHECK(f.sink.refused() == 1);
  CHECK(f.krw.calls() == 1);
}

TEST_CASE("only the replica holding the publisher role drains the outbox", "[coordinator][relay]") {
  Fixture f;
  std::unique_ptr<LocalRelay> standby = f.NewRelay("replica-b", relay::DefaultTiers());
  REQUIRE(f.relay->Step().ok());  // replica-a takes the role.
  f.Queue(Command("saga-7", "krw", v1::BRANCH_OP_CONFIRM));
  absl::StatusOr<int> started = standby->Step();
  REQUIRE(started.ok());
  CHECK(*started == 0);
  CHECK(f.Unsent() == 1);
  // replica-a stops renewing; once its lease is over, replica-b takes over.
  f.clock.Advance(absl::Milliseconds(limits::kOutboxPublisherLeaseMs + 1));
  started = standby->Step();
  REQUIRE(started.ok());
  CHECK(*started == 1);
  REQUIRE(f.sink.AwaitApplied(1) == 1);
  CHECK(f.Unsent() == 0);
}

}  // namespace
}  // namespace fxmesh::coordinator
