// Proves the relay in the whole mesh as real processes on loopback: fxmesh-kafka (the mock
// cluster), both ledgers, the coordinator with --kafka_brokers, and fxmesh-relay. A rejected credit
// Try is compensated through Kafka; a ledger down during Confirm walks the retry tiers and the saga
// completes after it returns; an exhausted command is dead-lettered and an operator's replay over
// gRPC completes it; every broker down while sagas run loses nothing from the outbox; a relay
// killed with SIGKILL mid-work and restarted loses no command and doubles no effect. After each,
// the ledgers balance with no hold HELD, and both consumer groups' lag is zero (ARCHITECTURE.md
// §8). `fxmesh demo` tells its whole story twice here, its stuck exchange included.
#include <signal.h>

#include <catch2/catch.hpp>
#include <functional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"
#include "fxmesh/v1/trace.grpc.pb.h"
#include "kafka/lag.h"
#include "kafka/topics.h"
#include "tests/binaries/mesh_processes.h"
#include "tests/binaries/process.h"
#include "tests/support/http_client.h"

namespace fxmesh::testing {
namespace {

constexpr int64_t kAliceKrw = 10'000'000;

// A mesh with Kafka, one relay with short tiers, and alice's accounts funded.
class KafkaMesh : public MeshProcesses {
 public:
  explicit KafkaMesh(const std::string& tier_delays_ms = "300,600,1200,2400") {
    StartKafka();
    StartCoordinator();
    tier_flag_ = absl::StrCat("--tier_delays_ms=", tier_delays_ms);
    StartRelay(0, {tier_flag_});
    Fund(krw(), "alice-krw", "KRW", kAliceKrw);
    Fund(fx(), "alice-usd", "USD", 0);
  }

  const std::string& tier_flag() const { return tier_flag_; }

  // A fresh quote for `krw` KRW into USD, and alice's exchange on it to `target`.
  v1::ExchangeRequest Request(const std::string& key, int64_t krw, const std::string& target) {
    v1::GetQuoteRequest quote_request;
    quote_request.set_sell_currency("KRW");
    quote_request.set_sell_amount_minor(krw);
    quote_request.set_buy_currency("USD");
    v1::Quote quote;
    REQUIRE(exchange().GetQuote(Context().get(), quote_request, &quote).ok());
    v1::ExchangeRequest request;
    request.set_idempotency_key(key);
    request.set_customer_id("alice");
    request.set_source_account_id("alice-krw");
    request.set_target_account_id(target);
    request.set_quote_id(quote.quote_id());
    return request;
  }

  // Runs an exchange of `krw` KRW into USD for alice, to `target` (her USD account by default).
  // `seconds`: the call's deadline, which is also how long a decided exchange waits to settle.
  v1::Exchange Exchange(const std::string& key, int64_t krw,
                        const std::string& target = "alice-usd", int seconds = 10) {
    v1::ExchangeResponse response;
    grpc::Status status =
        exchange().Exchange(Context(seconds).get(), Request(key, krw, target), &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.exchange();
  }

  // The saga as the coordinator answers now.
  v1::Exchange Get(const std::string& saga_id) {
    v1::GetExchangeRequest request;
    request.set_saga_id(saga_id);
    v1::Exchange found;
    REQUIRE(exchange().GetExchange(Context().get(), request, &found).ok());
    return found;
  }

  // Leaves one exchange in CONFIRMING with no Confirm sent: the coordinator runs with a failpoint
  // that kills it right after its 2nd saga write (CONFIRMING), then is started again after
  // `between` ran. Returns the saga id.
  std::string ExchangeLeftConfirming(const std::function<void()>& between) {
    StartCoordinator({"--crash_after_saves=2"});
    v1::ExchangeResponse response;
    CHECK_FALSE(
        exchange()
            .Exchange(Context().get(), Request("left-confirming", 137'025, "alice-usd"), &response)
            .ok());
    coordinator().WaitForExit();
    between();
    StartCoordinator();
    v1::ListSagasResponse sagas;
    REQUIRE(ops().ListSagas(Context().get(), v1::ListSagasRequest(), &sagas).ok());
    REQUIRE(sagas.sagas_size() == 1);
    return sagas.sagas(0).saga_id();
  }

  std::vector<v1::Step> Steps(const std::string& saga_id) {
    v1::GetSagaHistoryRequest request;
    request.set_saga_id(saga_id);
    v1::SagaHistory history;
    REQUIRE(ops().GetSagaHistory(Context().get(), request, &history).ok());
    return {history.steps().begin(), history.steps().end()};
  }
  bool HasStep(const std::string& saga_id, absl::string_view text) {
    for (const v1::Step& step : Steps(saga_id)) {
      if (absl::StrContains(step.detail(), text)) return true;
    }
    return false;
  }

  // The relay's and the coordinator's consumer lag reach zero within 30 s.
  void CheckLagZero() {
    std::vector<std::string> relay_topics = {std::string(kafka::kBranchCommandsTopic)};
    for (const kafka::RetryTier& tier : kafka::kRetryTiers)
      relay_topics.push_back(std::string(tier.topic));
    const std::vector<std::string> coordinator_topics = {std::string(kafka::kBranchResultsTopic),
                                                         std::string(kafka::kDeadLetterTopic)};
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    int64_t relay_lag = -1, coordinator_lag = -1;
    while (absl::Now() < give_up) {
      absl::StatusOr<int64_t> relay =
          kafka::ConsumerGroupLag(kafka_brokers(), "fxmesh-relay", relay_topics, absl::Seconds(10));
      absl::StatusOr<int64_t> coordinator = kafka::ConsumerGroupLag(
          kafka_brokers(), "fxmesh-coordinator", coordinator_topics, absl::Seconds(10));
      REQUIRE(relay.ok());
      REQUIRE(coordinator.ok());
      relay_lag = *relay;
      coordinator_lag = *coordinator;
      if (relay_lag == 0 && coordinator_lag == 0) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    CHECK(relay_lag == 0);
    CHECK(coordinator_lag == 0);
  }

  // One exchange that completes and one the FX ledger refuses (compensated through the relay),
  // both finished, with the relay and the coordinator caught up.
  std::pair<v1::Exchange, v1::Exchange> CompletedAndCompensated() {
    const v1::Exchange completed = Exchange("k1", 137'025);
    REQUIRE(completed.status() == v1::EXCHANGE_STATUS_COMPLETED);
    const v1::Exchange failed = Exchange("k2", 137'025, "nobody-usd");
    REQUIRE(AwaitFinal(failed.saga_id()).state() == v1::SAGA_STATE_CANCELLED);
    CheckLagZero();
    return {completed, failed};
  }

  // Every broker of the embedded Kafka down, or up again, through its control service.
  void SetBrokersUp(bool up) {
    for (int broker = 1; broker <= 3; ++broker) {
      v1::SetBrokerUpRequest request;
      request.set_broker_id(broker);
      request.set_up(up);
      v1::KafkaCluster cluster;
      REQUIRE(kafka_control().SetBrokerUp(Context().get(), request, &cluster).ok());
    }
  }

  int64_t OutboxBacklog() {
    v1::Alerts alerts;
    REQUIRE(ops().GetAlerts(Context().get(), v1::GetAlertsRequest(), &alerts).ok());
    return alerts.outbox_backlog();
  }

 private:
  std::string tier_flag_;
};

TEST_CASE("in the mesh, a rejected credit Try is compensated through Kafka",
          "[binary][kafka][relay]") {
  KafkaMesh mesh;
  const v1::Exchange failed = mesh.Exchange("k1", 137'025, "nobody-usd");
  CHECK(failed.status() == v1::EXCHANGE_STATUS_FAILED);
  CHECK(failed.failure_reason() == "ACCOUNT_NOT_FOUND");
  CHECK(mesh.AwaitFinal(failed.saga_id()).state() == v1::SAGA_STATE_CANCELLED);
  CHECK(mesh.HasStep(failed.saga_id(), "every Cancel sent to the relay"));
  CHECK(mesh.HasStep(failed.saga_id(), "answered through the relay"));
  CHECK(mesh.Available(mesh.krw(), "alice-krw") == kAliceKrw);
  mesh.CheckLedgers();
  mesh.CheckLagZero();
}

TEST_CASE("in the mesh, a ledger down during Confirm is retried through the tiers",
          "[binary][kafka][relay]") {
  KafkaMesh mesh("500,1000,2000,4000");
  // The FX ledger goes down with the saga decided; the restarted coordinator hands the Confirms to
  // the relay, whose attempts on FX fail and wait in the tiers until the ledger is back.
  const std::string saga_id = mesh.ExchangeLeftConfirming([&] { mesh.KillLedger("fx"); });
  // The ledger stays down until the relay has moved the Confirm to a retry tier.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (mesh.relay(0).Output().find("command moved to a retry tier") == std::string::npos &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  REQUIRE(mesh.relay(0).Output().find("command moved to a retry tier") != std::string::npos);
  CHECK(mesh.Get(saga_id).state() == v1::SAGA_STATE_CONFIRMING);
  mesh.StartLedger("fx");
  const v1::Exchange done = mesh.AwaitFinal(saga_id, 30);
  REQUIRE(done.state() == v1::SAGA_STATE_COMPLETED);
  CHECK(mesh.HasStep(saga_id, "sent to the relay"));
  // It took the tiers to get there.
  CHECK(mesh.HasStep(saga_id, "Confirm of fx answered through the relay (attempt"));
  CHECK_FALSE(mesh.HasStep(saga_id, "Confirm of fx answered through the relay (attempt 1)"));
  CHECK(mesh.Available(mesh.fx(), "alice-usd") == done.buy().amount_minor());
  mesh.CheckLedgers();
  mesh.CheckLagZero();
}

TEST_CASE("in the mesh, an exhausted command is dead-lettered and an operator replays it",
          "[binary][kafka][relay]") {
  // Attempts at 0, 0.2, 0.4 and 3.4 s: the last gives the ledger time to be back for the replay.
  KafkaMesh mesh("200,200,3000");
  mesh.ExchangeLeftConfirming([&] { mesh.KillLedger("fx"); });
  v1::ListDeadLettersRequest list;
  v1::ListDeadLettersResponse dead;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    REQUIRE(mesh.ops().ListDeadLetters(MeshProcesses::Context().get(), list, &dead).ok());
    if (dead.dead_letters_size() > 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  REQUIRE(dead.dead_letters_size() == 1);
  const v1::DeadLetter& letter = dead.dead_letters(0);
  CHECK(letter.command().op() == v1::BRANCH_OP_CONFIRM);
  CHECK(letter.attempts() == 4);
  CHECK(absl::StrContains(letter.error(), "UNAVAILABLE"));
  v1::Alerts alerts;
  REQUIRE(
      mesh.ops().GetAlerts(MeshProcesses::Context().get(), v1::GetAlertsRequest(), &alerts).ok());
  CHECK(alerts.dead_letters_pending() == 1);

  mesh.StartLedger("fx");
  v1::ReplayDeadLettersRequest replay;
  replay.set_dead_letter_id(letter.dead_letter_id());
  replay.set_operator_("ops-kim");
  replay.set_reason("FX ledger restored");
  v1::ReplayDeadLettersResponse replayed;
  REQUIRE(mesh.ops().ReplayDeadLetters(MeshProcesses::Context().get(), replay, &replayed).ok());
  CHECK(replayed.replayed_size() == 1);
  const v1::Exchange done = mesh.AwaitFinal(letter.command().branch().saga_id(), 30);
  CHECK(done.state() == v1::SAGA_STATE_COMPLETED);
  grpc::Status again =
      mesh.ops().ReplayDeadLetters(MeshProcesses::Context().get(), replay, &replayed);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  mesh.CheckLedgers();
  mesh.CheckLagZero();
}

TEST_CASE("in the mesh, every broker down while sagas run loses nothing from the outbox",
          "[binary][kafka][relay]") {
  KafkaMesh mesh;
  mesh.SetBrokersUp(false);
  // Every exchange is decided; its Confirms (or Cancels) wait in the outbox, and a decided one
  // waits out its short deadline as PENDING.
  std::vector<std::string> saga_ids;
  for (int i = 0; i < 10; ++i) {
    const v1::Exchange started = mesh.Exchange(
        absl::StrCat("k", i), 10'000 + i, i % 2 == 0 ? "alice-usd" : "nobody-usd", /*seconds=*/1);
    saga_ids.push_back(started.saga_id());
  }
  CHECK(mesh.OutboxBacklog() > 0);
  for (int i = 0; i < 10; ++i) {
    CHECK(mesh.Get(saga_ids[i]).state() ==
          (i % 2 == 0 ? v1::SAGA_STATE_CONFIRMING : v1::SAGA_STATE_CANCELLING));
  }

  mesh.SetBrokersUp(true);
  for (int i = 0; i < 10; ++i) {
    CHECK(mesh.AwaitFinal(saga_ids[i], 60).state() ==
          (i % 2 == 0 ? v1::SAGA_STATE_COMPLETED : v1::SAGA_STATE_CANCELLED));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (mesh.OutboxBacklog() > 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(100));
  CHECK(mesh.OutboxBacklog() == 0);
  mesh.CheckLedgers();
  mesh.CheckLagZero();
}

TEST_CASE("in the mesh, a relay killed with SIGKILL mid-work loses and doubles nothing",
          "[binary][kafka][relay]") {
  KafkaMesh mesh;
  // Thirty failing exchanges: thirty Cancels of alice's KRW holds for the relay.
  std::vector<std::string> saga_ids;
  for (int i = 0; i < 30; ++i)
    saga_ids.push_back(mesh.Exchange(absl::StrCat("k", i), 10'000, "nobody-usd").saga_id());
  // Kill the relay once it has finished some of them, but not all.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  int cancelled = 0;
  while (absl::Now() < give_up) {
    cancelled = 0;
    for (const std::string& saga_id : saga_ids)
      cancelled += mesh.Get(saga_id).state() == v1::SAGA_STATE_CANCELLED ? 1 : 0;
    if (cancelled > 0) break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  mesh.relay(0).Signal(SIGKILL);
  mesh.relay(0).WaitForExit();
  INFO("cancelled before the kill: " << cancelled);
  mesh.StartRelay(0, {mesh.tier_flag()});
  for (const std::string& saga_id : saga_ids)
    CHECK(mesh.AwaitFinal(saga_id, 60).state() == v1::SAGA_STATE_CANCELLED);
  // Every hold released exactly once: alice has all her KRW, and nothing is held.
  CHECK(mesh.Available(mesh.krw(), "alice-krw") == kAliceKrw);
  mesh.CheckLedgers();
  mesh.CheckLagZero();
}

// Every span of `saga_id` that the coordinator, both ledgers and the relay keep.
std::vector<v1::Span> SpansOf(KafkaMesh& mesh, const std::string& saga_id) {
  std::vector<v1::Span> spans;
  for (int port : {mesh.coordinator_port(), mesh.ledger_port("krw"), mesh.ledger_port("fx"),
                   mesh.relay_port(0)}) {
    auto traces = v1::TraceService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
    v1::ListSpansRequest request;
    request.set_trace_id(saga_id);
    v1::ListSpansResponse response;
    grpc::Status status = traces->ListSpans(MeshProcesses::Context().get(), request, &response);
    INFO("port " << port << ": " << status.error_code() << " " << status.error_message());
    REQUIRE(status.ok());
    spans.insert(spans.end(), response.spans().begin(), response.spans().end());
  }
  return spans;
}

bool HasSpan(const std::vector<v1::Span>& spans, absl::string_view service,
             absl::string_view name_prefix) {
  for (const v1::Span& span : spans) {
    if (span.service() == service && absl::StartsWith(span.name(), name_prefix)) return true;
  }
  return false;
}

TEST_CASE("in the mesh, every hop of a saga is one trace whose spans all connect to its root",
          "[binary][kafka][tracing]") {
  KafkaMesh mesh;
  const auto [completed, failed] = mesh.CompletedAndCompensated();

  for (const v1::Exchange& exchange : {completed, failed}) {
    const std::vector<v1::Span> spans = SpansOf(mesh, exchange.saga_id());
    std::set<std::string> ids;
    for (const v1::Span& span : spans) ids.insert(span.span_id());
    INFO("saga " << exchange.saga_id() << ", " << spans.size() << " spans");
    // One trace: the root is the coordinator's, and every other span's parent was recorded too.
    for (const v1::Span& span : spans) {
      INFO(span.service() << " " << span.name());
      CHECK(span.trace_id() == exchange.saga_id());
      if (span.parent_span_id().empty()) {
        CHECK(span.span_id() == exchange.saga_id().substr(0, 16));
        CHECK(span.service() == "coordinator");
      } else {
        CHECK(ids.count(span.parent_span_id()) == 1);
      }
    }
    CHECK(HasSpan(spans, "coordinator", "exchange KRW"));
    CHECK(HasSpan(spans, "coordinator", "krw-ledger Try"));
    CHECK(HasSpan(spans, "krw-ledger", "Try"));
    CHECK(HasSpan(spans, "fx-ledger", "Try"));
  }
  // The compensation went through the relay: its attempt, its ledger calls, and the coordinator
  // applying the result are all in the failed saga's trace.
  const std::vector<v1::Span> failed_spans = SpansOf(mesh, failed.saga_id());
  CHECK(HasSpan(failed_spans, "relay", "Cancel krw attempt 1"));
  CHECK(HasSpan(failed_spans, "relay", "krw-ledger Cancel"));
  CHECK(HasSpan(failed_spans, "krw-ledger", "Cancel"));
  CHECK(HasSpan(failed_spans, "coordinator", "apply result"));
  // Log lines written inside a span name it: the coordinator's transitions and the relay's
  // attempts, as well as each ledger's branch calls.
  // A copy: clang 14 cannot capture a structured binding in a lambda.
  const std::string failed_id = failed.saga_id();
  auto logged_in_span = [&](const std::string& output, absl::string_view message) {
    for (absl::string_view line : absl::StrSplit(output, '\n')) {
      if (absl::StrContains(line, message) && absl::StrContains(line, failed_id) &&
          absl::StrContains(line, "\"span_id\":\""))
        return true;
    }
    return false;
  };
  CHECK(logged_in_span(mesh.coordinator().Output(), "\"msg\":\"saga transition\""));
  CHECK(logged_in_span(mesh.ledger_process("fx").Output(), "\"msg\":\"branch call\""));
  // Ledgers log each branch call with the saga's trace and span ids.
  CHECK_THAT(mesh.ledger_process("krw").Output(),
             Catch::Contains(absl::StrCat("\"trace_id\":\"", failed.saga_id(), "\",\"span_id\":")));
}

TEST_CASE("in the mesh, fxmesh trace draws a compensated exchange from every service",
          "[binary][kafka][tracing][cli]") {
  KafkaMesh mesh;
  const auto [completed, failed] = mesh.CompletedAndCompensated();
  const std::vector<std::string> addresses = {
      absl::StrCat("--coordinator=127.0.0.1:", mesh.coordinator_port()),
      absl::StrCat("--krw-ledger=127.0.0.1:", mesh.ledger_port("krw")),
      absl::StrCat("--fx-ledger=127.0.0.1:", mesh.ledger_port("fx")),
      absl::StrCat("--relay=127.0.0.1:", mesh.relay_port(0))};
  std::vector<std::string> args = {"trace", failed.saga_id()};
  args.insert(args.end(), addresses.begin(), addresses.end());
  const CommandResult drawn = RunCommand(FXMESH_CLI_PATH, args);
  INFO(drawn.out << drawn.err);
  CHECK(drawn.exit_code == 0);
  CHECK_THAT(drawn.out, Catch::StartsWith(absl::StrCat("trace ", failed.saga_id(), ": ")));
  CHECK_THAT(drawn.out, Catch::Contains("coordinator  exchange KRW→USD"));
  CHECK_THAT(drawn.out, Catch::Contains("Cancel krw attempt 1"));
  CHECK_THAT(drawn.out, Catch::Contains("OUTCOME_NULL_COMPENSATION"));
  CHECK_THAT(drawn.out, Catch::Contains("CANCELLING"));  // Where the first drive left the saga.
  CHECK_THAT(drawn.out, !Catch::Contains("UNSPECIFIED"));
  CHECK(drawn.err.empty());

  // A saga no service knows: exit 3, saying why.
  args[1] = "0123456789abcdef0123456789abcdef";
  const CommandResult unknown = RunCommand(FXMESH_CLI_PATH, args);
  CHECK(unknown.exit_code == 3);
  CHECK_THAT(unknown.err, Catch::Contains("no service keeps spans"));
}

TEST_CASE("in the mesh, fxmesh demo tells its whole story and can tell it twice",
          "[binary][kafka][cli]") {
  KafkaMesh mesh;
  const std::vector<std::string> args = {
      "demo", absl::StrCat("--coordinator=127.0.0.1:", mesh.coordinator_port()),
      absl::StrCat("--krw-ledger=127.0.0.1:", mesh.ledger_port("krw")),
      absl::StrCat("--fx-ledger=127.0.0.1:", mesh.ledger_port("fx"))};
  for (int run = 0; run < 2; ++run) {
    const CommandResult demo = RunCommand(FXMESH_CLI_PATH, args, {}, 120);
    INFO(demo.out << demo.err);
    REQUIRE(demo.exit_code == 0);
    CHECK_THAT(demo.out, Catch::Contains("EXCHANGE_STATUS_COMPLETED"));
    CHECK_THAT(demo.out, Catch::Contains("INSUFFICIENT_FUNDS"));
    CHECK_THAT(demo.out, Catch::Contains("participant fx-ledger is paused by an operator"));
    CHECK_THAT(demo.out, Catch::Contains("ops-kim resume_participant"));
    // The stuck exchange: PENDING while the FX ledger's dev fault refuses its Trys, found by an
    // operator, cancelled by two.
    CHECK_THAT(demo.out, Catch::Contains("EXCHANGE_STATUS_PENDING"));
    CHECK_THAT(demo.out, Catch::Contains("UNAVAILABLE: dev fault armed on Try"));
    CHECK_THAT(demo.out, Catch::Contains("PERMISSION_DENIED"));
    CHECK_THAT(demo.out, Catch::Contains("EXCHANGE_STATUS_FAILED — MANUAL"));
    CHECK_THAT(demo.out, Catch::Contains("alice propose_resolution"));
    CHECK_THAT(demo.out, Catch::Contains("bob approve_resolution"));
    CHECK_THAT(demo.out, Catch::Contains("The fault is cleared"));
    CHECK_THAT(demo.out, Catch::Contains("Done."));
  }
  mesh.CheckLedgers();
  mesh.CheckLagZero();
  // The demo leaves no fault armed behind it.
  auto faults = v1::LedgerFaultService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", mesh.ledger_port("fx")), grpc::InsecureChannelCredentials()));
  v1::LedgerFaults armed;
  REQUIRE(faults->GetFaults(MeshProcesses::Context().get(), v1::GetFaultsRequest(), &armed).ok());
  CHECK(armed.faults().empty());
}

TEST_CASE("in the mesh, every service serves Prometheus metrics of what it did",
          "[binary][kafka][metrics]") {
  KafkaMesh mesh;
  const auto [completed, failed] = mesh.CompletedAndCompensated();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (mesh.OutboxBacklog() > 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));

  auto scrape = [](ServiceProcess& service) {
    const HttpResponse response = HttpGet(MeshProcesses::MetricsPort(service), "/metrics");
    REQUIRE(response.status_line == "HTTP/1.1 200 OK");
    return response.body;
  };
  const std::string coordinator = scrape(mesh.coordinator());
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_sagas{state=\"COMPLETED\"} 1\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_sagas{state=\"CANCELLED\"} 1\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_sagas_finished_total{state=\"CANCELLED\","
                                          "reason=\"ACCOUNT_NOT_FOUND\"} 1\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_branch_calls_total{participant=\"fx-ledger\","
                                          "call=\"try\",status=\"REJECTED\"} 1\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_rpc_duration_seconds_count{method=\"/"
                                          "fxmesh.v1.ExchangeService/Exchange\",code=\"OK\"} 2\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_alerts{alert=\"outbox_backlog\"} 0\n"));
  CHECK_THAT(coordinator, Catch::Contains("fxmesh_consumer_lag{group=\"fxmesh-coordinator\"} 0\n"));

  const std::string relay = scrape(mesh.relay(0));
  CHECK_THAT(relay, Catch::Contains("fxmesh_relay_commands_total{op=\"cancel\","
                                    "outcome=\"NULL_COMPENSATION\"} 1\n"));
  CHECK_THAT(relay, Catch::Contains("fxmesh_consumer_lag{group=\"fxmesh-relay\"} 0\n"));

  const std::string fx = scrape(mesh.ledger_process("fx"));
  CHECK_THAT(fx, Catch::Contains("fxmesh_ledger_held_holds{older_than=\"0s\"} 0\n"));
  CHECK_THAT(fx, Catch::Contains("fxmesh_ledger_balanced{currency=\"USD\"} 1\n"));
  CHECK_THAT(fx, Catch::Contains("fxmesh_rpc_duration_seconds_count{method=\"/"
                                 "fxmesh.v1.LedgerService/Try\",code=\"OK\"} 2\n"));
}

}  // namespace
}  // namespace fxmesh::testing
