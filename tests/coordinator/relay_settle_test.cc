// Proves settling through the relay, in one process over a real Kafka protocol endpoint (the
// embedded mock cluster): the coordinator's engine, outbox publisher and result consumer, and a
// Relay, with both ledgers behind fault-injecting clients. A rejected Try's Cancels travel through
// Kafka (the coordinator never sends them itself) and the saga ends CANCELLED; a ledger down during
// Confirm walks the retry tiers and the saga completes once it is back; an exhausted command is
// dead-lettered, shown on its saga and in the alerts, and an operator's replay completes the saga;
// a poison message is recorded, cannot be replayed, and blocks nothing; binary poison is listed
// as text every client can read and is dismissed by two operators; a result applied twice
// changes nothing; a command that vanishes on its way to the relay is sent again within seconds,
// and one the relay reports moved to a retry tier is not (the report says when to expect it).
#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "coordinator/outbox_publisher.h"
#include "coordinator/relay_results.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/topics.h"
#include "relay/relay.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

// The harness's engine wired to Kafka and a relay, pumped by one background thread: outbox →
// fxmesh.branch.commands → relay → ledgers → fxmesh.branch.results → engine.
class RelayLoop {
 public:
  RelayLoop(CoordinatorHarness& harness, std::vector<absl::Duration> tier_delays)
      : harness_(harness) {
    kafka_ = *kafka::EmbeddedKafka::Start(3, 2, kafka::AllTopics());
    const std::string& brokers = kafka_->bootstrap_servers();
    // The publisher and the relay each own a producer, as their processes do: each waits for its
    // own delivery reports.
    producer_ = *kafka::KafkaProducer::Create(brokers, "coordinator-test", absl::Seconds(10));
    relay_producer_ = *kafka::KafkaProducer::Create(brokers, "relay-test", absl::Seconds(10));
    publisher_ = std::make_unique<OutboxPublisher>(harness.store(), *producer_, SystemClock::Get(),
                                                   "relay-settle-test");
    relay::RelayOptions options;
    for (size_t i = 0; i < tier_delays.size(); ++i)
      options.tiers.push_back({std::string(kafka::kRetryTiers[i].topic), tier_delays[i]});
    options.ledger_call_timeout = absl::Seconds(1);
    relay_consumer_ =
        *kafka::KafkaConsumer::Create(brokers, "fxmesh-relay", relay::ConsumedTopics(options));
    relay_ = std::make_unique<relay::Relay>(
        *relay_consumer_, *relay_producer_,
        std::map<std::string, ParticipantClient*>{{"krw-ledger", &harness.krw()},
                                                  {"fx-ledger", &harness.fx()}},
        SystemClock::Get(), options, relay_metrics_);
    results_consumer_ = *kafka::KafkaConsumer::Create(
        brokers, std::string(kCoordinatorGroup),
        {std::string(kafka::kBranchResultsTopic), std::string(kafka::kDeadLetterTopic)});
    results_ = std::make_unique<RelayResultConsumer>(
        *results_consumer_, harness.engine().settlement(), SystemClock::Get(), harness.metrics());
  }
  ~RelayLoop() { Stop(); }

  void Start() {
    stop_ = false;
    thread_ = std::thread([this] {
      while (!stop_) {
        (void)publisher_->PublishOnce(absl::Milliseconds(10));
        (void)relay_->Step(absl::Milliseconds(10));
        (void)results_->ConsumeOnce(absl::Milliseconds(10));
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Waits up to `timeout` for `saga_id` to satisfy `done`; returns the saga as last seen.
  v1::Saga AwaitSaga(const std::string& saga_id, const std::function<bool(const v1::Saga&)>& done,
                     absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time give_up = absl::Now() + timeout;
    v1::Saga saga = harness_.Saga(saga_id);
    while (!done(saga) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
      saga = harness_.Saga(saga_id);
    }
    return saga;
  }
  v1::Saga AwaitState(const std::string& saga_id, v1::SagaState state) {
    return AwaitSaga(saga_id, [state](const v1::Saga& saga) { return saga.state() == state; });
  }

  // Sends raw bytes to the commands topic, as a broken producer would.
  void SendRaw(const std::string& key, const std::string& value) {
    REQUIRE(relay_producer_
                ->Produce(kafka::OutgoingMessage{
                    std::string(kafka::kBranchCommandsTopic), key, value, {}, 1'000'000})
                .ok());
  }

 private:
  CoordinatorHarness& harness_;
  std::unique_ptr<kafka::EmbeddedKafka> kafka_;
  std::unique_ptr<kafka::KafkaProducer> producer_, relay_producer_;
  std::unique_ptr<OutboxPublisher> publisher_;
  std::unique_ptr<kafka::KafkaConsumer> relay_consumer_, results_consumer_;
  MetricsRegistry relay_metrics_;
  std::unique_ptr<relay::Relay> relay_;
  std::unique_ptr<RelayResultConsumer> results_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

HarnessOptions ThroughKafka() {
  HarnessOptions options;
  options.external_relay = true;
  return options;
}

// Through Kafka, expecting a word on each command within seconds instead of the defaults.
HarnessOptions ThroughKafkaQuickToWorry() {
  HarnessOptions options = ThroughKafka();
  options.relay_first_word_after = absl::Seconds(3);
  options.relay_word_after_due = absl::Milliseconds(1'000);
  return options;
}

// Lists pending dead letters until there is one, or 20 s pass.
absl::StatusOr<v1::ListDeadLettersResponse> AwaitDeadLetters(CoordinatorHarness& harness) {
  absl::StatusOr<v1::ListDeadLettersResponse> listed;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  do {
    absl::SleepFor(absl::Milliseconds(50));
    listed = harness.engine().dead_letters().ListDeadLetters(v1::ListDeadLettersRequest());
    REQUIRE(listed.ok());
  } while (listed->dead_letters_size() == 0 && absl::Now() < give_up);
  return listed;
}

// Drives due sagas, as the recovery loop does, on its own thread while it lives.
class RecoveryLoop {
 public:
  explicit RecoveryLoop(CoordinatorHarness& harness)
      : thread_([this, &harness] {
          while (!stop_) {
            absl::StatusOr<std::vector<std::string>> due =
                harness.engine().leases().ClaimDue(limits::kRecoveryBatchMax);
            if (due.ok()) {
              for (const std::string& saga_id : *due)
                (void)harness.engine().driver().Drive(saga_id);
            }
            absl::SleepFor(absl::Milliseconds(50));
          }
        }) {}
  ~RecoveryLoop() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool HasStep(CoordinatorHarness& harness, const std::string& saga_id, absl::string_view text) {
  absl::StatusOr<std::vector<v1::Step>> steps = harness.store().ListSteps(saga_id);
  REQUIRE(steps.ok());
  for (const v1::Step& step : *steps) {
    if (absl::StrContains(step.detail(), text)) return true;
  }
  return false;
}

TEST_CASE("through the relay, a rejected Try's Cancels travel through Kafka to CANCELLED",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafka());
  RelayLoop loop(harness, {absl::Milliseconds(200), absl::Milliseconds(400)});
  const int64_t alice_krw = harness.Available("alice-krw");

  // The credit leg's account does not exist: the FX ledger rejects its Try.
  absl::StatusOr<v1::Exchange> exchange = harness.Exchange(
      "k1", "alice", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(5), "nobody-usd");
  REQUIRE(exchange.ok());
  CHECK(exchange->status() == v1::EXCHANGE_STATUS_FAILED);
  const std::string saga_id = exchange->saga_id();

  // The coordinator alone never cancels: the decision and its commands wait for the relay.
  CHECK(harness.Settle(absl::Seconds(1)) == 1);
  v1::Saga waiting = harness.Saga(saga_id);
  CHECK(waiting.state() == v1::SAGA_STATE_CANCELLING);
  for (const v1::Branch& branch : waiting.branches()) {
    CHECK(branch.has_dispatched_at());
    CHECK(branch.dispatches() == 1);
  }
  CHECK(harness.Available("alice-krw") == alice_krw - 137'025);  // Still held.
  CHECK(harness.krw().delivered(CallKind::kCancel) == 0);

  loop.Start();
  v1::Saga cancelled = loop.AwaitState(saga_id, v1::SAGA_STATE_CANCELLED);
  REQUIRE(cancelled.state() == v1::SAGA_STATE_CANCELLED);
  CHECK(harness.Available("alice-krw") == alice_krw);
  CHECK(cancelled.branches(0).cancel_status() == v1::CALL_STATUS_APPLIED);
  CHECK(cancelled.branches(1).cancel_status() == v1::CALL_STATUS_NULL_COMPENSATION);
  CHECK(HasStep(harness, saga_id, "every Cancel sent to the relay"));
  CHECK(HasStep(harness, saga_id, "answered through the relay"));

  // A result delivered again changes nothing.
  absl::StatusOr<std::vector<v1::Step>> before = harness.store().ListSteps(saga_id);
  v1::BranchResult again;
  again.mutable_branch()->set_saga_id(saga_id);
  again.mutable_branch()->set_branch("krw");
  again.set_participant("krw-ledger");
  again.set_op(v1::BRANCH_OP_CANCEL);
  again.set_outcome(v1::OUTCOME_APPLIED);
  REQUIRE(harness.engine().settlement().ApplyBranchResult(again).ok());
  CHECK(harness.store().ListSteps(saga_id)->size() == before->size());
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("through the relay, a command that vanishes before the relay sees it is sent again soon",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafkaQuickToWorry());
  RelayLoop loop(harness, {absl::Milliseconds(200), absl::Milliseconds(400)});
  const int64_t alice_krw = harness.Available("alice-krw");
  absl::StatusOr<v1::Exchange> exchange = harness.Exchange(
      "k1", "alice", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(5), "nobody-usd");
  REQUIRE(exchange.ok());
  const std::string saga_id = exchange->saga_id();
  REQUIRE(harness.Saga(saga_id).state() == v1::SAGA_STATE_CANCELLING);

  // The Cancels vanish: their outbox rows count as published, but no relay ever gets them (as
  // when a consumer commits past a command it never executed).
  absl::StatusOr<std::vector<OutboxMessage>> unsent = harness.store().ListUnsentOutbox(0, 1'000);
  REQUIRE(unsent.ok());
  std::vector<int64_t> lost;
  for (const OutboxMessage& message : *unsent) {
    if (message.topic == kafka::kBranchCommandsTopic) lost.push_back(message.outbox_id);
  }
  REQUIRE(lost.size() == 2);
  REQUIRE(harness.store().MarkOutboxSent(lost, absl::Now()).ok());

  // Nothing is heard about them within the expected time, so they are sent again, long before
  // the 15-minute safety net.
  loop.Start();
  RecoveryLoop recovery(harness);
  v1::Saga cancelled = loop.AwaitState(saga_id, v1::SAGA_STATE_CANCELLED);  // Waits 30 s at most.
  REQUIRE(cancelled.state() == v1::SAGA_STATE_CANCELLED);
  // Twice at least: the relay's consumer may still be joining its group when the copy is due.
  for (const v1::Branch& branch : cancelled.branches()) CHECK(branch.dispatches() >= 2);
  CHECK(HasStep(harness, saga_id, "again: nothing heard in time about krw, fx"));
  CHECK(harness.Available("alice-krw") == alice_krw);
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("a silent command is not sent again while the relay has unread commands",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  std::atomic<bool> relay_behind{true};
  HarnessOptions options = ThroughKafkaQuickToWorry();
  options.relay_has_backlog = [&relay_behind] { return relay_behind.load(); };
  CoordinatorHarness harness(Backend::kSqlite, options);
  RelayLoop loop(harness, {absl::Milliseconds(200), absl::Milliseconds(400)});
  absl::StatusOr<v1::Exchange> exchange = harness.Exchange(
      "k1", "alice", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(5), "nobody-usd");
  REQUIRE(exchange.ok());
  const std::string saga_id = exchange->saga_id();
  REQUIRE(harness.Saga(saga_id).state() == v1::SAGA_STATE_CANCELLING);
  // The relay is behind (it has not read these Cancels yet): past the expectation, silence means
  // late, and sending again would only lengthen its queue.
  RecoveryLoop recovery(harness);
  absl::SleepFor(absl::Seconds(5));
  v1::Saga waiting = harness.Saga(saga_id);
  CHECK(waiting.state() == v1::SAGA_STATE_CANCELLING);
  for (const v1::Branch& branch : waiting.branches()) CHECK(branch.dispatches() == 1);
  // Once it has read everything and still says nothing, the commands are lost: sent again.
  relay_behind = false;
  loop.Start();
  v1::Saga cancelled = loop.AwaitState(saga_id, v1::SAGA_STATE_CANCELLED);
  REQUIRE(cancelled.state() == v1::SAGA_STATE_CANCELLED);
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("through the relay, a command the relay reports moved to a retry tier is not sent again",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  HarnessOptions options = ThroughKafkaQuickToWorry();
  // A resumed retry partition is fetched again after up to about a second on a loaded machine:
  // the word after the due time is awaited for longer than that.
  options.relay_word_after_due = absl::Seconds(3);
  CoordinatorHarness harness(Backend::kSqlite, options);
  // The tier waits longer than the coordinator's first expectation: only the relay's report
  // keeps the coordinator from taking the command for lost.
  RelayLoop loop(harness, {absl::Seconds(5)});
  loop.Start();
  RecoveryLoop recovery(harness);
  // A first saga through the relay, so that its consumers have joined their groups.
  absl::StatusOr<v1::Exchange> warm_up = harness.Exchange(
      "k0", "bob", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(5), "nobody-usd");
  REQUIRE(warm_up.ok());
  REQUIRE(loop.AwaitState(warm_up->saga_id(), v1::SAGA_STATE_CANCELLED).state() ==
          v1::SAGA_STATE_CANCELLED);
  // The relay's first attempt finds the FX ledger down.
  harness.fx().FailNext(CallKind::kConfirm, 1, absl::UnavailableError("injected: ledger down"));
  absl::StatusOr<v1::Exchange> exchange =
      harness.Exchange("k1", "alice", harness.Quote("KRW", "USD", 137'025, 0));
  REQUIRE(exchange.ok());
  CHECK(exchange->status() == v1::EXCHANGE_STATUS_PENDING);
  v1::Saga completed = loop.AwaitState(exchange->saga_id(), v1::SAGA_STATE_COMPLETED);
  REQUIRE(completed.state() == v1::SAGA_STATE_COMPLETED);
  CHECK(HasStep(harness, exchange->saga_id(), "Confirm of fx is retried by the relay: attempt 2"));
  CHECK(HasStep(harness, exchange->saga_id(), "answered through the relay (attempt 2)"));
  CHECK_FALSE(HasStep(harness, exchange->saga_id(), "nothing heard in time"));
  for (const v1::Branch& branch : completed.branches()) {
    if (branch.branch() == "fx") CHECK(branch.dispatches() == 1);
  }
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("through the relay, a ledger down during Confirm walks the tiers, then completes",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafka());
  RelayLoop loop(harness,
                 {absl::Milliseconds(200), absl::Milliseconds(400), absl::Milliseconds(800)});
  loop.Start();
  // The relay's first two attempts find the FX ledger down.
  harness.fx().FailNext(CallKind::kConfirm, 2, absl::UnavailableError("injected: ledger down"));
  absl::StatusOr<v1::Exchange> exchange =
      harness.Exchange("k1", "alice", harness.Quote("KRW", "USD", 137'025, 0));
  REQUIRE(exchange.ok());
  // Decided: answered COMPLETED if the tiers ended within the call's deadline, else PENDING.
  CHECK(exchange->status() != v1::EXCHANGE_STATUS_FAILED);
  v1::Saga completed = loop.AwaitState(exchange->saga_id(), v1::SAGA_STATE_COMPLETED);
  REQUIRE(completed.state() == v1::SAGA_STATE_COMPLETED);
  CHECK(HasStep(harness, exchange->saga_id(), "every Confirm sent to the relay"));
  CHECK(HasStep(harness, exchange->saga_id(), "answered through the relay (attempt 3)"));
  CHECK(harness.Available("alice-usd") == 100'000 + completed.buy().amount_minor());
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("through the relay, an exhausted command is dead-lettered and a replay completes it",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafka());
  RelayLoop loop(harness, {absl::Milliseconds(100), absl::Milliseconds(100)});
  loop.Start();
  harness.fx().FailNext(CallKind::kConfirm, 3, absl::UnavailableError("injected: ledger down"));
  absl::StatusOr<v1::Exchange> exchange =
      harness.Exchange("k1", "alice", harness.Quote("KRW", "USD", 137'025, 0));
  REQUIRE(exchange.ok());
  const std::string saga_id = exchange->saga_id();

  // Three relay attempts (the first and both tiers): the third failure gives up.
  v1::Saga parked = loop.AwaitSaga(
      saga_id, [](const v1::Saga& saga) { return !saga.branches(1).dead_letter().empty(); });
  REQUIRE(!parked.branches(1).dead_letter().empty());
  CHECK(parked.state() == v1::SAGA_STATE_CONFIRMING);
  CHECK(absl::StrContains(parked.branches(1).dead_letter(), "gave up after 3 attempts"));
  absl::StatusOr<v1::Alerts> alerts = harness.engine().operators().GetAlerts();
  REQUIRE(alerts.ok());
  CHECK(alerts->dead_letters_pending() == 1);
  v1::ListDeadLettersRequest list;
  list.set_saga_id(saga_id);
  absl::StatusOr<v1::ListDeadLettersResponse> listed =
      harness.engine().dead_letters().ListDeadLetters(list);
  REQUIRE(listed.ok());
  REQUIRE(listed->dead_letters_size() == 1);
  const v1::DeadLetter& dead_letter = listed->dead_letters(0);
  CHECK(dead_letter.command().op() == v1::BRANCH_OP_CONFIRM);
  CHECK(dead_letter.command().branch().branch() == "fx");
  CHECK(dead_letter.attempts() == 3);

  v1::ReplayDeadLettersRequest replay;
  replay.set_saga_id(saga_id);
  replay.set_reason("FX ledger back");
  CHECK(
      absl::IsInvalidArgument(harness.engine().dead_letters().ReplayDeadLetters(replay).status()));
  replay.set_operator_("ops-kim");
  absl::StatusOr<v1::ReplayDeadLettersResponse> replayed =
      harness.engine().dead_letters().ReplayDeadLetters(replay);
  REQUIRE(replayed.ok());
  CHECK(replayed->replayed_size() == 1);
  v1::Saga completed = loop.AwaitState(saga_id, v1::SAGA_STATE_COMPLETED);
  REQUIRE(completed.state() == v1::SAGA_STATE_COMPLETED);
  CHECK(completed.branches(1).dead_letter().empty());

  // Replayed once only; the log says who did it.
  CHECK(harness.engine().dead_letters().ReplayDeadLetters(replay)->replayed_size() == 0);
  v1::ReplayDeadLettersRequest by_id;
  by_id.set_dead_letter_id(dead_letter.dead_letter_id());
  by_id.set_operator_("ops-lee");
  CHECK(absl::IsFailedPrecondition(
      harness.engine().dead_letters().ReplayDeadLetters(by_id).status()));
  CHECK(harness.engine().operators().GetAlerts()->dead_letters_pending() == 0);
  v1::ListAuditRequest audit;
  audit.set_saga_id(saga_id);
  absl::StatusOr<v1::ListAuditResponse> entries = harness.engine().operators().ListAudit(audit);
  REQUIRE(entries.ok());
  REQUIRE(entries->entries_size() == 1);
  CHECK(entries->entries(0).action() == "replay_dead_letter");
  CHECK(entries->entries(0).operator_() == "ops-kim");
  loop.Stop();
  harness.CheckInvariants();
}

TEST_CASE("a poison message of binary bytes is listed by every client and dismissed by two",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafka());
  RelayLoop loop(harness, {absl::Milliseconds(100)});
  loop.Start();
  loop.SendRaw(std::string("\xff\x00key", 5), std::string("\x00\xff\xfe binary", 10));
  v1::ListDeadLettersRequest list;
  absl::StatusOr<v1::ListDeadLettersResponse> listed = AwaitDeadLetters(harness);
  REQUIRE(listed->dead_letters_size() == 1);
  const v1::DeadLetter& poison = listed->dead_letters(0);
  CHECK(poison.payload() == "\\x00\\xff\\xfe binary");
  CHECK(poison.saga_id() == "\\xff\\x00key");
  CHECK(poison.error().size() <= limits::kQuotedTextBytesMax + 32);
  // What gRPC clients (buf curl, grpcio) do with the answer: proto strings must be UTF-8.
  std::string wire, json;
  CHECK(listed->SerializeToString(&wire));
  CHECK(google::protobuf::util::MessageToJsonString(*listed, &json).ok());
  v1::ReplayDeadLettersRequest replay;
  replay.set_all(true);
  replay.set_operator_("ops-kim");
  absl::StatusOr<v1::ReplayDeadLettersResponse> all =
      harness.engine().dead_letters().ReplayDeadLetters(replay);
  REQUIRE(all.ok());
  CHECK(all->SerializeToString(&wire));
  CHECK(all->skipped_size() == 1);
  REQUIRE(harness.engine().operators().GetAlerts()->dead_letters_pending() == 1);

  // It can never be replayed, so two operators dismiss it, and it stops counting as pending.
  v1::ProposeDismissalRequest propose;
  propose.set_dead_letter_id(poison.dead_letter_id());
  propose.set_operator_("ops-kim");
  CHECK(
      absl::IsInvalidArgument(harness.engine().dead_letters().ProposeDismissal(propose).status()));
  propose.set_reason("binary garbage put on the topic by hand; nothing to replay");
  absl::StatusOr<v1::DeadLetter> proposed =
      harness.engine().dead_letters().ProposeDismissal(propose);
  REQUIRE(proposed.ok());
  CHECK(proposed->dismissal_proposed_by() == "ops-kim");
  CHECK(absl::IsFailedPrecondition(
      harness.engine().dead_letters().ProposeDismissal(propose).status()));
  v1::ApproveDismissalRequest approve;
  approve.set_dead_letter_id(poison.dead_letter_id());
  approve.set_operator_("ops-kim");
  CHECK(
      absl::IsPermissionDenied(harness.engine().dead_letters().ApproveDismissal(approve).status()));
  CHECK(harness.engine().operators().GetAlerts()->dead_letters_pending() == 1);
  approve.set_operator_("ops-lee");
  absl::StatusOr<v1::DeadLetter> dismissed =
      harness.engine().dead_letters().ApproveDismissal(approve);
  REQUIRE(dismissed.ok());
  CHECK(dismissed->dismissed_by() == "ops-lee");
  CHECK(dismissed->has_dismissed_at());
  CHECK(harness.engine().operators().GetAlerts()->dead_letters_pending() == 0);
  CHECK(harness.engine().dead_letters().ListDeadLetters(list)->dead_letters_size() == 0);
  v1::ListDeadLettersRequest every;
  every.set_include_replayed(true);
  CHECK(harness.engine().dead_letters().ListDeadLetters(every)->dead_letters_size() == 1);
  CHECK(absl::IsFailedPrecondition(
      harness.engine().dead_letters().ApproveDismissal(approve).status()));
  v1::ListAuditRequest audit;
  absl::StatusOr<v1::ListAuditResponse> entries = harness.engine().operators().ListAudit(audit);
  REQUIRE(entries.ok());
  std::vector<std::string> actions;
  for (const v1::AuditEntry& entry : entries->entries()) actions.push_back(entry.action());
  CHECK(actions == std::vector<std::string>{"propose_dismissal", "refused_self_approval",
                                            "approve_dismissal"});
  loop.Stop();
}

TEST_CASE("through the relay, a poison message is recorded, cannot be replayed, blocks nothing",
          "[integration][kafka][relay]") {
  SetLogLevel(LogLevel::kError);
  CoordinatorHarness harness(Backend::kSqlite, ThroughKafka());
  RelayLoop loop(harness, {absl::Milliseconds(100)});
  loop.Start();
  loop.SendRaw("not-a-saga", "{this is not json");
  absl::StatusOr<v1::ListDeadLettersResponse> listed = AwaitDeadLetters(harness);
  REQUIRE(listed->dead_letters_size() == 1);
  const v1::DeadLetter& poison = listed->dead_letters(0);
  CHECK(!poison.has_command());
  CHECK(poison.payload() == "{this is not json");
  CHECK(absl::StrContains(poison.error(), "not a BranchCommand"));

  v1::ReplayDeadLettersRequest replay;
  replay.set_dead_letter_id(poison.dead_letter_id());
  replay.set_operator_("ops-kim");
  CHECK(absl::IsFailedPrecondition(
      harness.engine().dead_letters().ReplayDeadLetters(replay).status()));
  replay.set_all(true);
  absl::StatusOr<v1::ReplayDeadLettersResponse> all =
      harness.engine().dead_letters().ReplayDeadLetters(replay);
  REQUIRE(all.ok());
  CHECK(all->replayed_size() == 0);
  CHECK(all->skipped_size() == 1);

  // The partitions keep flowing: a failing exchange still cancels through the relay.
  absl::StatusOr<v1::Exchange> exchange = harness.Exchange(
      "k1", "bob", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(5), "nobody-usd");
  REQUIRE(exchange.ok());
  CHECK(loop.AwaitState(exchange->saga_id(), v1::SAGA_STATE_CANCELLED).state() ==
        v1::SAGA_STATE_CANCELLED);
  loop.Stop();
  harness.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
