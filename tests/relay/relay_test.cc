// Proves the relay against a real Kafka protocol endpoint (the embedded cluster) and a real ledger
// over gRPC: a Cancel command releases its hold and the result is published, with the offset
// committed only then; a ledger that is down moves the command through the retry tiers (the
// partition paused, no thread asleep), each move reported on the results topic with the next
// attempt's due time, until it completes; poison, unknown-participant and exhausted commands land
// in the dead letters with the reason in a header, and the relay moves on; a command the ledger
// refuses (INVALID_ARGUMENT, FAILED_PRECONDITION) is dead-lettered at once, without a retry; and a
// command waiting on its ledger does not hold up the commands behind it, and no thread waits on a
// ledger's answer.
#include "relay/relay.h"

#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/tracing.h"
#include "embedded_kafka/embedded_kafka.h"
#include "ledger/ledger_server.h"
#include "tests/coordinator/faulty_participant_client.h"
#include "tests/relay/held_answers_client.h"
#include "tests/support/test_database.h"

namespace fxmesh::relay {
namespace {

using coordinator::CallKind;
using coordinator::FaultyParticipantClient;

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

class RelayFixture {
 public:
  explicit RelayFixture(std::vector<RelayTier> tiers) : database_(testing::Backend::kSqlite) {
    SetLogLevel(LogLevel::kError);
    kafka_ = *kafka::EmbeddedKafka::Start(3, 2, kafka::AllTopics());
    ledger::LedgerServerOptions ledger_options;
    ledger_options.database.url = database_.url();
    ledger_options.currencies = *ParseCurrencyList("KRW");
    ledger_ = *ledger::LedgerServer::Start(ledger_options, SystemClock::Get());
    client_ = NewGrpcParticipantClient(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", ledger_->port()), grpc::InsecureChannelCredentials()));
    faulty_ = std::make_unique<FaultyParticipantClient>(*client_);
    answers_ = std::make_unique<HeldAnswersClient>(*faulty_);
    producer_ =
        *kafka::KafkaProducer::Create(kafka_->bootstrap_servers(), "relay-test", absl::Seconds(10));
    options_.tiers = std::move(tiers);
    options_.ledger_call_timeout = absl::Seconds(1);
    StartRelay();
    // alice has 10,000 KRW; each test holds some of it with a Try.
    v1::OpenAccountRequest open;
    open.set_account_id("alice");
    open.set_owner("alice");
    open.set_currency("KRW");
    v1::AccountResponse opened;
    REQUIRE(ledger_->engine().OpenAccount(open, &opened).ok());
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id("d1");
    deposit.set_account_id("alice");
    deposit.mutable_amount()->set_amount_minor(10'000);
    deposit.mutable_amount()->set_currency("KRW");
    v1::ExternalTransferResponse deposited;
    REQUIRE(ledger_->engine().Deposit(deposit, &deposited).ok());
  }
  ~RelayFixture() { StopRelay(); }

  void StartRelay() {
    consumer_ = *kafka::KafkaConsumer::Create(kafka_->bootstrap_servers(), "relay-test-group",
                                              ConsumedTopics(options_));
    relay_.reset();
    metrics_ = std::make_unique<MetricsRegistry>();  // A restarted relay is a new process.
    relay_ = std::make_unique<Relay>(
        *consumer_, *producer_,
        std::map<std::string, ParticipantClient*>{{"krw-ledger", answers_.get()}},
        SystemClock::Get(), options_, *metrics_);
    stop_ = false;
    handled_ = 0;
    thread_ = std::thread([this] {
      while (!stop_) {
        absl::StatusOr<int> stepped = relay_->Step(absl::Milliseconds(50));
        if (stepped.ok()) handled_ += *stepped;
      }
    });
  }
  void StopRelay() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    relay_.reset();
    consumer_.reset();
  }

  // A HELD hold of `amount` on branch (saga, "krw").
  v1::BranchRef Hold(int64_t amount) {
    v1::TryRequest request;
    request.mutable_branch()->set_saga_id(NewSagaId());
    request.mutable_branch()->set_branch("krw");
    request.set_customer_id("alice");
    request.set_debit_account_id("alice");
    request.set_credit_account_id("position:KRW");
    request.mutable_amount()->set_amount_minor(amount);
    request.mutable_amount()->set_currency("KRW");
    v1::BranchResponse response;
    REQUIRE(ledger_->engine().Try(request, &response).ok());
    REQUIRE(response.outcome() == v1::OUTCOME_APPLIED);
    return request.branch();
  }

  void Send(const std::string& key, const std::string& value) {
    REQUIRE(producer_
                ->Produce(
                    kafka::OutgoingMessage{std::string(kafka::kBranchCommandsTopic),
                                           key,
                                           value,
                                           {{"traceparent", "00-" + key + "-0000000000000001-01"}},
                                           ++token_})
                .ok());
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (absl::Now() < give_up) {
      for (const kafka::DeliveryReport& report : producer_->Poll(absl::Milliseconds(50))) {
        if (report.token == token_) {
          REQUIRE(report.status.ok());
          return;
        }
      }
    }
    FAIL("the command was not acknowledged");
  }

  void SendCommand(const v1::BranchRef& branch, v1::BranchOp op,
                   const std::string& participant = "krw-ledger") {
    v1::BranchCommand command;
    *command.mutable_branch() = branch;
    command.set_participant(participant);
    command.set_op(op);
    command.set_attempt(1);
    Send(branch.saga_id(), Json(command));
  }

  // Reads `topic` from the beginning until `count` messages or `timeout`.
  std::vector<kafka::IncomingMessage> Read(const std::string& topic, size_t count,
                                           absl::Duration timeout = absl::Seconds(20)) {
    auto reader = *kafka::KafkaConsumer::Create(kafka_->bootstrap_servers(),
                                                absl::StrCat("reader-", NewSagaId()), {topic});
    std::vector<kafka::IncomingMessage> messages;
    const absl::Time give_up = absl::Now() + timeout;
    while (messages.size() < count && absl::Now() < give_up) {
      if (auto message = reader->Poll(absl::Milliseconds(100))) messages.push_back(*message);
    }
    return messages;
  }

  // Reads `topic` from the beginning until a message satisfies `done`, or `timeout`; returns every
  // message read.
  std::vector<kafka::IncomingMessage> ReadUntil(
      const std::string& topic, const std::function<bool(const kafka::IncomingMessage&)>& done,
      absl::Duration timeout = absl::Seconds(30)) {
    auto reader = *kafka::KafkaConsumer::Create(kafka_->bootstrap_servers(),
                                                absl::StrCat("reader-", NewSagaId()), {topic});
    std::vector<kafka::IncomingMessage> messages;
    const absl::Time give_up = absl::Now() + timeout;
    while (absl::Now() < give_up) {
      if (auto message = reader->Poll(absl::Milliseconds(100))) {
        messages.push_back(*message);
        if (done(*message)) break;
      }
    }
    return messages;
  }

  v1::HoldState HoldState(const v1::BranchRef& branch) {
    v1::ListHoldsRequest request;
    request.set_saga_id(branch.saga_id());
    v1::ListHoldsResponse holds;
    REQUIRE(ledger_->engine().ListHolds(request, &holds).ok());
    REQUIRE(holds.holds_size() == 1);
    return holds.holds(0).state();
  }

  // Restarts the relay after its last commit has had time to land, and returns how many messages
  // the new one handles within 3 s: 0 when every offset was committed (nothing to redo).
  int RestartedRelayHandles() {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    StopRelay();
    StartRelay();
    std::this_thread::sleep_for(std::chrono::seconds(3));
    return handled();
  }

  FaultyParticipantClient& ledger_client() { return *faulty_; }
  HeldAnswersClient& answers() { return *answers_; }
  int handled() const { return handled_.load(); }
  std::string Metrics() { return metrics_->RenderPrometheusText(); }

 private:
  testing::TestDatabase database_;
  std::unique_ptr<kafka::EmbeddedKafka> kafka_;
  std::unique_ptr<ledger::LedgerServer> ledger_;
  std::unique_ptr<ParticipantClient> client_;
  std::unique_ptr<FaultyParticipantClient> faulty_;
  std::unique_ptr<HeldAnswersClient> answers_;  // What the relay calls; forwards to faulty_.
  std::unique_ptr<kafka::KafkaProducer> producer_;
  std::unique_ptr<kafka::KafkaConsumer> consumer_;
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<Relay> relay_;
  RelayOptions options_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> handled_{0};
  int64_t token_ = 0;
};

v1::BranchResult ParseResult(const kafka::IncomingMessage& message) {
  v1::BranchResult result;
  REQUIRE(google::protobuf::util::JsonStringToMessage(message.value, &result).ok());
  return result;
}

TEST_CASE("a Cancel command releases its hold, publishes the result, then commits",
          "[relay][kafka][integration]") {
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(200)}});
  // Before any command, every known label has its zero: a dashboard tells 0 from missing.
  const std::string fresh = fixture.Metrics();
  for (const char* sample :
       {"fxmesh_relay_commands_total{op=\"confirm\",outcome=\"OUTCOME_APPLIED\"} 0",
        "fxmesh_relay_commands_total{op=\"cancel\",outcome=\"dead_letter\"} 0",
        "fxmesh_relay_dead_letters_total{reason=\"exhausted\"} 0",
        "fxmesh_relay_retries_total{tier=\"fxmesh.branch.retry.5s\"} 0"}) {
    INFO(sample);
    CHECK(fresh.find(sample) != std::string::npos);
  }
  const v1::BranchRef branch = fixture.Hold(4'000);
  fixture.SendCommand(branch, v1::BRANCH_OP_CANCEL);
  std::vector<kafka::IncomingMessage> results = fixture.Read("fxmesh.branch.results", 1);
  REQUIRE(results.size() == 1);
  const v1::BranchResult result = ParseResult(results[0]);
  CHECK(result.outcome() == v1::OUTCOME_APPLIED);
  CHECK(result.op() == v1::BRANCH_OP_CANCEL);
  CHECK(results[0].key == branch.saga_id());
  // The result continues the saga's trace, as the child of the relay's attempt span.
  std::optional<TraceContext> traced = TraceContext::Parse(results[0].headers["traceparent"]);
  REQUIRE(traced.has_value());
  CHECK(traced->trace_id == branch.saga_id());
  CHECK(traced->span_id != "0000000000000001");
  CHECK(fixture.HoldState(branch) == v1::HOLD_STATE_CANCELLED);

  // The offset was committed.
  CHECK(fixture.RestartedRelayHandles() == 0);
  CHECK(fixture.ledger_client().delivered(CallKind::kCancel) == 1);
}

TEST_CASE("a ledger that is down moves the command through the tiers until it completes",
          "[relay][kafka][integration]") {
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(300)},
                        {"fxmesh.branch.retry.30s", absl::Milliseconds(600)},
                        {"fxmesh.branch.retry.2m", absl::Seconds(5)}});
  const v1::BranchRef branch = fixture.Hold(2'500);
  fixture.ledger_client().SetDown(true);
  fixture.SendCommand(branch, v1::BRANCH_OP_CONFIRM);
  // Attempt 1 fails into the first tier, attempt 2 into the second.
  std::vector<kafka::IncomingMessage> second_tier = fixture.Read("fxmesh.branch.retry.30s", 1);
  REQUIRE(second_tier.size() == 1);
  v1::BranchCommand waiting;
  REQUIRE(google::protobuf::util::JsonStringToMessage(second_tier[0].value, &waiting).ok());
  CHECK(waiting.attempt() == 3);
  CHECK_THAT(waiting.last_error(), Catch::Contains("UNAVAILABLE"));
  CHECK(fixture.Read("fxmesh.branch.retry.5s", 1).size() == 1);
  fixture.ledger_client().SetDown(false);
  std::vector<kafka::IncomingMessage> results =
      fixture.ReadUntil("fxmesh.branch.results", [](const kafka::IncomingMessage& message) {
        return ParseResult(message).kind() == v1::RESULT_KIND_ANSWERED;
      });
  REQUIRE(results.size() >= 3);
  // Each tier move was reported first, with the attempt it leads to and when that is due.
  for (size_t i = 0; i + 1 < results.size(); ++i) {
    const v1::BranchResult report = ParseResult(results[i]);
    CHECK(report.kind() == v1::RESULT_KIND_RETRYING);
    CHECK(report.attempt() == static_cast<int>(i) + 2);
    CHECK(report.has_next_attempt_at());
    CHECK(report.branch().saga_id() == branch.saga_id());
    CHECK_THAT(report.detail(), Catch::Contains("UNAVAILABLE"));
  }
  const v1::BranchResult result = ParseResult(results.back());
  CHECK(result.kind() == v1::RESULT_KIND_ANSWERED);
  CHECK(result.outcome() == v1::OUTCOME_APPLIED);
  // The ledger came back while the command waited in the second or the third tier.
  CHECK(result.attempt() >= 3);
  CHECK(fixture.HoldState(branch) == v1::HOLD_STATE_CONFIRMED);
  CHECK(fixture.ledger_client().delivered(CallKind::kConfirm) == 1);
}

TEST_CASE("poison, unknown and exhausted commands land in the dead letters and the relay moves on",
          "[relay][kafka][integration]") {
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(100)},
                        {"fxmesh.branch.retry.30s", absl::Milliseconds(100)}});
  fixture.Send("not-a-saga", "this is not json {");
  const v1::BranchRef unknown = fixture.Hold(100);
  fixture.SendCommand(unknown, v1::BRANCH_OP_CANCEL, "fee-ledger");
  const v1::BranchRef exhausted = fixture.Hold(200);
  fixture.ledger_client().FailNext(CallKind::kCancel, 3, absl::UnavailableError("injected: down"));
  fixture.SendCommand(exhausted, v1::BRANCH_OP_CANCEL);

  std::vector<kafka::IncomingMessage> dead =
      fixture.Read("fxmesh.branch.dlq", 3, absl::Seconds(30));
  REQUIRE(dead.size() == 3);
  std::map<std::string, kafka::IncomingMessage> by_key;
  for (const kafka::IncomingMessage& message : dead) by_key[message.key] = message;
  CHECK_THAT(by_key["not-a-saga"].headers["fxmesh-error"], Catch::Contains("not a BranchCommand"));
  CHECK(by_key["not-a-saga"].value == "this is not json {");
  CHECK_THAT(by_key[unknown.saga_id()].headers["fxmesh-error"],
             Catch::Contains("unknown participant 'fee-ledger'"));
  CHECK_THAT(by_key[exhausted.saga_id()].headers["fxmesh-error"],
             Catch::Contains("gave up after 3 attempts"));
  CHECK(by_key[exhausted.saga_id()].headers["fxmesh-attempts"] == "3");
  CHECK(fixture.HoldState(exhausted) == v1::HOLD_STATE_HELD);

  // The relay is still working: a good command after all that completes.
  const v1::BranchRef good = fixture.Hold(300);
  fixture.SendCommand(good, v1::BRANCH_OP_CONFIRM);
  std::vector<kafka::IncomingMessage> results = fixture.ReadUntil(
      "fxmesh.branch.results",
      [&](const kafka::IncomingMessage& message) { return message.key == good.saga_id(); });
  REQUIRE(!results.empty());
  REQUIRE(results.back().key == good.saga_id());
  CHECK(fixture.HoldState(good) == v1::HOLD_STATE_CONFIRMED);

  // Each is counted by why it was dead-lettered, and each tier's retries by tier.
  const std::string metrics = fixture.Metrics();
  CHECK_THAT(metrics, Catch::Contains("fxmesh_relay_dead_letters_total{reason=\"poison\"} 1"));
  CHECK_THAT(metrics,
             Catch::Contains("fxmesh_relay_dead_letters_total{reason=\"unknown_participant\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("fxmesh_relay_dead_letters_total{reason=\"exhausted\"} 1"));
  CHECK_THAT(metrics,
             Catch::Contains("fxmesh_relay_commands_total{op=\"confirm\",outcome=\"APPLIED\"} 1"));
}

TEST_CASE("a command the ledger refuses is dead-lettered at once, with the ledger's reason",
          "[relay][kafka][integration]") {
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(100)},
                        {"fxmesh.branch.retry.30s", absl::Milliseconds(100)}});
  const v1::BranchRef malformed = fixture.Hold(100);
  fixture.ledger_client().FailNext(CallKind::kConfirm, 1,
                                   absl::InvalidArgumentError("injected: amount is malformed"));
  fixture.SendCommand(malformed, v1::BRANCH_OP_CONFIRM);
  const v1::BranchRef impossible = fixture.Hold(200);
  fixture.ledger_client().FailNext(CallKind::kCancel, 1,
                                   absl::FailedPreconditionError("injected: account closed"));
  fixture.SendCommand(impossible, v1::BRANCH_OP_CANCEL);

  std::vector<kafka::IncomingMessage> dead =
      fixture.Read("fxmesh.branch.dlq", 2, absl::Seconds(30));
  REQUIRE(dead.size() == 2);
  std::map<std::string, kafka::IncomingMessage> by_key;
  for (const kafka::IncomingMessage& message : dead) by_key[message.key] = message;
  CHECK_THAT(by_key[malformed.saga_id()].headers["fxmesh-error"],
             Catch::Contains("INVALID_ARGUMENT: injected: amount is malformed"));
  CHECK_THAT(by_key[impossible.saga_id()].headers["fxmesh-error"],
             Catch::Contains("FAILED_PRECONDITION: injected: account closed"));
  CHECK(by_key[malformed.saga_id()].headers["fxmesh-attempts"] == "1");
  CHECK(by_key[impossible.saga_id()].headers["fxmesh-attempts"] == "1");
  // Neither went to a retry tier: a refusal is an answer, not a silence.
  CHECK(fixture.Read("fxmesh.branch.retry.5s", 1, absl::Seconds(3)).empty());
  CHECK(fixture.ledger_client().delivered(CallKind::kConfirm) == 0);
  CHECK(fixture.ledger_client().delivered(CallKind::kCancel) == 0);
  CHECK_THAT(fixture.Metrics(),
             Catch::Contains("fxmesh_relay_dead_letters_total{reason=\"refused\"} 2"));
}

TEST_CASE("a command waiting on its ledger does not hold up the commands behind it",
          "[relay][kafka][integration]") {
  // One relay used to execute one command at a time: a ledger call that took its whole timeout
  // held every command behind it, and a bank test's backlog grew faster than it was worked off.
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(200)}});
  absl::Notification reached;
  absl::Notification release;
  fixture.ledger_client().HoldNext(CallKind::kCancel, &reached, &release);
  const v1::BranchRef slow = fixture.Hold(1'000);
  fixture.SendCommand(slow, v1::BRANCH_OP_CANCEL);
  REQUIRE(reached.WaitForNotificationWithTimeout(absl::Seconds(20)));
  std::vector<v1::BranchRef> quick;
  for (int i = 0; i < 3; ++i) {
    quick.push_back(fixture.Hold(100));
    fixture.SendCommand(quick.back(), v1::BRANCH_OP_CANCEL);
  }
  // The three behind it are executed and answered while the first still waits on its ledger.
  std::vector<kafka::IncomingMessage> results = fixture.Read("fxmesh.branch.results", 3);
  CHECK(results.size() == 3);
  for (const v1::BranchRef& branch : quick)
    CHECK(fixture.HoldState(branch) == v1::HOLD_STATE_CANCELLED);
  CHECK(fixture.HoldState(slow) == v1::HOLD_STATE_HELD);
  CHECK(fixture.handled() == 3);
  // Released after its call's deadline, the first is answered late (or moved to the retry tier and
  // answered there); either way its hold is cancelled.
  release.Notify();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (fixture.HoldState(slow) != v1::HOLD_STATE_CANCELLED && absl::Now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(fixture.HoldState(slow) == v1::HOLD_STATE_CANCELLED);

  // Every offset was committed once all were finished.
  CHECK(fixture.RestartedRelayHandles() == 0);
}

TEST_CASE("the relay's ledger calls are asynchronous: no thread waits on an answer",
          "[relay][kafka][integration]") {
  // The relay used to run each command on a worker thread that blocked in the ledger call. Here
  // the answers are held back by a client that keeps no thread for them: every command must still
  // be out at once, and none may go through the blocking interface.
  RelayFixture fixture({{"fxmesh.branch.retry.5s", absl::Milliseconds(200)}});
  fixture.answers().Hold(true);
  std::vector<v1::BranchRef> branches;
  for (int i = 0; i < 4; ++i) {
    branches.push_back(fixture.Hold(100));
    fixture.SendCommand(branches.back(), v1::BRANCH_OP_CANCEL);
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (fixture.answers().held() < 4 && absl::Now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(fixture.answers().held() == 4);
  CHECK(fixture.handled() == 0);

  fixture.answers().Hold(false);
  CHECK(fixture.Read("fxmesh.branch.results", 4).size() == 4);
  for (const v1::BranchRef& branch : branches)
    CHECK(fixture.HoldState(branch) == v1::HOLD_STATE_CANCELLED);
  CHECK(fixture.answers().blocking_calls() == 0);
  CHECK(fixture.RestartedRelayHandles() == 0);
}

}  // namespace
}  // namespace fxmesh::relay
