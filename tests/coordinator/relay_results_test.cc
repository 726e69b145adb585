// Proves the coordinator's result consumer over a real Kafka protocol endpoint (the embedded mock
// cluster), with a sink of the test's own in place of the saga engine: an answer whose saga is
// busy is set aside while the answers behind it on its partition are applied, the partition's
// offset is not committed past it until it is applied, and then everything is.
#include "coordinator/relay_results.h"

#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <set>

#include "absl/synchronization/mutex.h"
#include "common/log.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/lag.h"
#include "kafka/producer.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

// Applies every answer except those of a busy saga, which it turns away as a driver holding the
// saga would (ABORTED) until it is freed.
class BusySagaSink final : public RelayAnswerSink {
 public:
  explicit BusySagaSink(std::string busy) : busy_(std::move(busy)) {}
  absl::Status ApplyBranchResult(const v1::BranchResult& result) override {
    absl::MutexLock lock(&mu_);
    const std::string& saga_id = result.branch().saga_id();
    if (saga_id == busy_ && !freed_) {
      ++turned_away_;
      return absl::AbortedError("another driver holds the saga");
    }
    applied_.insert(saga_id);
    return absl::OkStatus();
  }
  absl::Status ApplyDeadLetter(const v1::DeadLetter&) override { return absl::OkStatus(); }

  void Free() {
    absl::MutexLock lock(&mu_);
    freed_ = true;
  }
  bool Applied(const std::string& saga_id) {
    absl::MutexLock lock(&mu_);
    return applied_.count(saga_id) > 0;
  }
  int turned_away() {
    absl::MutexLock lock(&mu_);
    return turned_away_;
  }

 private:
  const std::string busy_;
  absl::Mutex mu_;
  bool freed_ ABSL_GUARDED_BY(mu_) = false;
  int turned_away_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> applied_ ABSL_GUARDED_BY(mu_);
};

std::string ResultJson(const std::string& saga_id, const std::string& branch = "krw") {
  v1::BranchResult result;
  result.mutable_branch()->set_saga_id(saga_id);
  result.mutable_branch()->set_branch(branch);
  result.set_op(v1::BRANCH_OP_CONFIRM);
  result.set_outcome(v1::OUTCOME_APPLIED);
  result.set_attempt(1);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(result, &json);
  return json;
}

// Writes `messages` (key, BranchResult JSON) to the results topic and waits for Kafka to have all.
void ProduceResults(const std::string& brokers,
                    const std::vector<std::pair<std::string, std::string>>& messages) {
  std::unique_ptr<kafka::KafkaProducer> producer =
      *kafka::KafkaProducer::Create(brokers, "results-test", absl::Seconds(10));
  int64_t token = 0;
  for (const auto& [key, json] : messages) {
    REQUIRE(
        producer->Produce({std::string(kafka::kBranchResultsTopic), key, json, {}, ++token}).ok());
  }
  size_t acknowledged = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (acknowledged < messages.size() && absl::Now() < give_up) {
    for (const kafka::DeliveryReport& report : producer->Poll(absl::Milliseconds(50))) {
      REQUIRE(report.status.ok());
      ++acknowledged;
    }
  }
  REQUIRE(acknowledged == messages.size());
}

TEST_CASE("an answer whose saga is busy does not hold up the answers behind it",
          "[relay][kafka][integration]") {
  SetLogLevel(LogLevel::kError);
  // One partition: every answer is behind the first.
  std::unique_ptr<kafka::EmbeddedKafka> kafka =
      *kafka::EmbeddedKafka::Start(1, 1, kafka::AllTopics());
  const std::string& brokers = kafka->bootstrap_servers();
  const std::string busy = "a0000000000000000000000000000001";
  const std::vector<std::string> behind = {"b0000000000000000000000000000002",
                                           "c0000000000000000000000000000003"};
  ProduceResults(brokers, {{busy, ResultJson(busy)},
                           {behind[0], ResultJson(behind[0])},
                           {behind[1], ResultJson(behind[1])}});
  const std::vector<std::string> topics = {std::string(kafka::kBranchResultsTopic),
                                           std::string(kafka::kDeadLetterTopic)};
  std::unique_ptr<kafka::KafkaConsumer> consumer =
      *kafka::KafkaConsumer::Create(brokers, std::string(kCoordinatorGroup), topics);
  MetricsRegistry metrics;
  BusySagaSink sink(busy);
  RelayResultConsumer results(*consumer, sink, SystemClock::Get(), metrics);
  auto consume_until = [&](const std::function<bool()>& done) {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!done() && absl::Now() < give_up) (void)results.ConsumeOnce(absl::Milliseconds(50));
    return done();
  };
  auto lag = [&] {
    absl::StatusOr<int64_t> lag =
        kafka::ConsumerGroupLag(brokers, std::string(kCoordinatorGroup),
                                {std::string(kafka::kBranchResultsTopic)}, absl::Seconds(5));
    REQUIRE(lag.ok());
    return *lag;
  };

  // The two behind it are applied while the busy saga's answer is turned away, again and again.
  REQUIRE(consume_until([&] { return sink.Applied(behind[0]) && sink.Applied(behind[1]); }));
  REQUIRE(consume_until([&] { return sink.turned_away() >= 2; }));
  CHECK_FALSE(sink.Applied(busy));
  // Nothing is committed past the answer still set aside: a restart must read it again.
  for (int i = 0; i < 5; ++i) (void)results.ConsumeOnce(absl::Milliseconds(50));
  CHECK(lag() == 3);

  sink.Free();
  REQUIRE(consume_until([&] { return sink.Applied(busy); }));
  // Once it is applied, everything is committed.
  CHECK(consume_until([&] { return lag() == 0; }));
  CHECK_THAT(metrics.RenderPrometheusText(),
             Catch::Contains("fxmesh_relay_results_total{topic=\"fxmesh.branch.results\","
                             "outcome=\"applied\"} 3"));
}

// Records how the answers arrive: each call of ApplyBranchResults with the sagas it names.
class BatchRecordingSink final : public RelayAnswerSink {
 public:
  absl::Status ApplyBranchResult(const v1::BranchResult& result) override {
    return ApplyBranchResults({result});
  }
  absl::Status ApplyBranchResults(const std::vector<v1::BranchResult>& results) override {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> batch;
    for (const v1::BranchResult& result : results) {
      batch.push_back(result.branch().saga_id() + "/" + result.branch().branch());
    }
    batches_.push_back(batch);
    return absl::OkStatus();
  }
  absl::Status ApplyDeadLetter(const v1::DeadLetter&) override { return absl::OkStatus(); }
  std::vector<std::vector<std::string>> batches() {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> batches_ ABSL_GUARDED_BY(mu_);
};

TEST_CASE("a saga's results that arrive together are applied together", "[relay][kafka]") {
  SetLogLevel(LogLevel::kError);
  std::unique_ptr<kafka::EmbeddedKafka> kafka =
      *kafka::EmbeddedKafka::Start(1, 1, kafka::AllTopics());
  const std::string& brokers = kafka->bootstrap_servers();
  const std::string both = "a0000000000000000000000000000001";
  const std::string one = "b0000000000000000000000000000002";
  ProduceResults(brokers, {{both, ResultJson(both, "krw")},
                           {one, ResultJson(one, "krw")},
                           {both, ResultJson(both, "fx")}});
  std::unique_ptr<kafka::KafkaConsumer> consumer = *kafka::KafkaConsumer::Create(
      brokers, std::string(kCoordinatorGroup),
      {std::string(kafka::kBranchResultsTopic), std::string(kafka::kDeadLetterTopic)});
  MetricsRegistry metrics;
  BatchRecordingSink sink;
  RelayResultConsumer results(*consumer, sink, SystemClock::Get(), metrics);
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (sink.batches().empty() && absl::Now() < give_up) {
    (void)results.ConsumeOnce(absl::Milliseconds(50));
  }
  // The first pass takes all three: the saga with two results is recorded in one call (one
  // write), the other on its own.
  const std::vector<std::vector<std::string>> batches = sink.batches();
  INFO(batches.size());
  REQUIRE(batches.size() == 2);
  CHECK(batches[0] == std::vector<std::string>{both + "/krw", both + "/fx"});
  CHECK(batches[1] == std::vector<std::string>{one + "/krw"});
  CHECK_THAT(metrics.RenderPrometheusText(),
             Catch::Contains("fxmesh_relay_results_total{topic=\"fxmesh.branch.results\","
                             "outcome=\"applied\"} 3"));
}

}  // namespace
}  // namespace fxmesh::coordinator
