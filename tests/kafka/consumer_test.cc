// Proves that KafkaConsumer never lets the group commit past a message that was not processed,
// across pauses and rebalances: consumers in one group, run like the relay (a message not due
// pauses and rewinds its partition; a processed one is committed), share a partition whose first
// message is not due yet while members join and leave; every message is processed and the group
// ends with zero lag.
#include "kafka/consumer.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/lag.h"
#include "kafka/producer.h"

namespace fxmesh::kafka {
namespace {

constexpr char kTopic[] = "fxmesh.branch.retry.5s";
constexpr char kGroup[] = "consumer-test";

// What every member did, shared by the members' threads.
struct Processed {
  std::mutex mu;
  std::set<int64_t> offsets;
  int pauses = 0;
};

// One group member with its own polling thread, handling messages as the relay does. A message's
// value is the time it is due, in Unix milliseconds.
class Member {
 public:
  Member(const std::string& bootstrap, Processed& processed) : processed_(processed) {
    consumer_ = *KafkaConsumer::Create(bootstrap, kGroup, {kTopic});
    thread_ = std::thread([this] { Run(); });
  }
  ~Member() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run() {
    while (!stop_) {
      consumer_->ResumeDue(absl::Now());
      std::optional<IncomingMessage> message = consumer_->Poll(absl::Milliseconds(20));
      if (!message || consumer_->HoldIfPaused(*message)) continue;
      int64_t due_ms = 0;
      (void)absl::SimpleAtoi(message->value, &due_ms);
      if (absl::FromUnixMillis(due_ms) > absl::Now()) {
        (void)consumer_->PauseUntil(*message, absl::FromUnixMillis(due_ms));
        std::lock_guard<std::mutex> lock(processed_.mu);
        ++processed_.pauses;
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(processed_.mu);
        processed_.offsets.insert(message->offset);
      }
      // A failed commit (a rebalance in progress) only means the message comes again.
      (void)consumer_->Commit(*message);
    }
  }

  Processed& processed_;
  std::unique_ptr<KafkaConsumer> consumer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void Produce(KafkaProducer& producer, absl::Time due, int64_t& token) {
  REQUIRE(producer.Produce({kTopic, "k", absl::StrCat(absl::ToUnixMillis(due)), {}, ++token}).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (absl::Now() < give_up) {
    for (const DeliveryReport& report : producer.Poll(absl::Milliseconds(20))) {
      if (report.token == token) {
        REQUIRE(report.status.ok());
        return;
      }
    }
  }
  FAIL("not acknowledged");
}

template <typename Predicate>
bool WaitFor(Predicate predicate, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (predicate()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return predicate();
}

TEST_CASE("a message not due yet is neither skipped nor committed past when members join and leave",
          "[kafka][integration]") {
  SetLogLevel(LogLevel::kError);
  auto kafka = *EmbeddedKafka::Start(1, 1, {kTopic});
  auto producer = *KafkaProducer::Create(kafka->bootstrap_servers(), "test", absl::Seconds(10));
  Processed processed;
  int64_t token = 0;
  int64_t produced = 0;
  auto pauses = [&] {
    std::lock_guard<std::mutex> lock(processed.mu);
    return processed.pauses;
  };

  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    // The first message of the round is due in 10 s, the ones behind it now.
    const int pauses_before = pauses();
    Produce(*producer, absl::Now() + absl::Seconds(10), token);
    for (int i = 0; i < 4; ++i) Produce(*producer, absl::Now(), token);
    produced += 5;
    auto first = std::make_unique<Member>(kafka->bootstrap_servers(), processed);
    const bool paused = WaitFor([&] { return pauses() > pauses_before; }, absl::Seconds(15));
    {
      std::lock_guard<std::mutex> lock(processed.mu);
      INFO("processed " << processed.offsets.size());
      REQUIRE(paused);
    }
    // A second member joins while the partition is paused: the group rebalances.
    auto second = std::make_unique<Member>(kafka->bootstrap_servers(), processed);
    absl::SleepFor(absl::Milliseconds(500 * round));
    if (round == 2) first.reset();  // ... and one leaves again.
    const bool drained = WaitFor(
        [&] {
          absl::StatusOr<int64_t> lag =
              ConsumerGroupLag(kafka->bootstrap_servers(), kGroup, {kTopic}, absl::Seconds(2));
          return lag.ok() && *lag == 0;
        },
        absl::Seconds(30));
    REQUIRE(drained);
    second.reset();
    first.reset();
    std::lock_guard<std::mutex> lock(processed.mu);
    for (int64_t offset = 0; offset < produced; ++offset) {
      INFO("offset " << offset);
      CHECK(processed.offsets.count(offset) == 1);
    }
  }
}

TEST_CASE("a consumer whose commit met a stale generation rejoins and commits what it processed",
          "[kafka][integration]") {
  // A commit refused with ILLEGAL_GENERATION makes the client drop its generation and rejoin. A
  // caller that keeps retrying the commit meanwhile (as the relay and the coordinator's results
  // consumer do when idle) sends it with no generation: each refusal restarted the rejoin, and the
  // consumer stayed out of its group with its partitions unread for good.
  SetLogLevel(LogLevel::kError);
  auto kafka = *EmbeddedKafka::Start(1, 1, {kTopic});
  auto producer = *KafkaProducer::Create(kafka->bootstrap_servers(), "test", absl::Seconds(10));
  auto consumer = *KafkaConsumer::Create(kafka->bootstrap_servers(), kGroup, {kTopic});
  OffsetTracker offsets;
  std::set<int64_t> processed;
  // One pass of a caller that commits whatever it has finished, every pass, as the relay does.
  auto pass = [&] {
    if (std::optional<IncomingMessage> message = consumer->Poll(absl::Milliseconds(20))) {
      offsets.Take(message->topic, message->partition, message->offset);
      processed.insert(message->offset);
      offsets.Finish(message->topic, message->partition, message->offset);
    }
    const std::vector<PartitionOffset> commits = offsets.TakeCommits();
    absl::StatusOr<std::vector<PartitionOffset>> held = consumer->CommitAssigned(commits);
    offsets.Retry(held.ok() ? *held : commits);
  };
  auto lag = [&] {
    return ConsumerGroupLag(kafka->bootstrap_servers(), kGroup, {kTopic}, absl::Seconds(2));
  };
  auto drain = [&](int64_t produced) {
    const absl::Time give_up = absl::Now() + absl::Seconds(40);
    while (absl::Now() < give_up) {
      for (int i = 0; i < 10; ++i) pass();
      absl::StatusOr<int64_t> behind = lag();
      if (processed.size() == static_cast<size_t>(produced) && behind.ok() && *behind == 0)
        return true;
    }
    return false;
  };
  int64_t token = 0;
  Produce(*producer, absl::Now(), token);
  REQUIRE(drain(1));

  // The group coordinator refuses the next commits as if the group had moved to a new generation.
  REQUIRE(kafka->FailRequests(/*OffsetCommit*/ 8, /*ILLEGAL_GENERATION*/ 22, 2).ok());
  for (int i = 0; i < 3; ++i) Produce(*producer, absl::Now(), token);
  CHECK(drain(4));
  INFO("processed " << processed.size());
  for (int64_t offset = 0; offset < 4; ++offset) CHECK(processed.count(offset) == 1);
}

TEST_CASE("a consumer whose JoinGroup goes unanswered joins again and consumes", "[kafka]") {
  SetLogLevel(LogLevel::kError);
  std::unique_ptr<EmbeddedKafka> kafka = *EmbeddedKafka::Start(1, 1, {kTopic});
  {
    std::unique_ptr<KafkaProducer> producer =
        *KafkaProducer::Create(kafka->bootstrap_servers(), "stall-test", absl::Seconds(10));
    REQUIRE(producer->Produce({kTopic, "k", "v", {}, 1}).ok());
    int acknowledged = 0;
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (acknowledged < 1 && absl::Now() < give_up) {
      for (const DeliveryReport& report : producer->Poll(absl::Milliseconds(50))) {
        REQUIRE(report.status.ok());
        ++acknowledged;
      }
    }
    REQUIRE(acknowledged == 1);
  }
  // The group coordinator holds the first JoinGroup (API key 11) for 5 minutes, as the embedded
  // Kafka did when it stalled during a bank test's start. The consumer gives up on it after
  // max.poll.interval.ms and joins again, instead of waiting out librdkafka's 300 s default.
  REQUIRE(kafka->StallNextRequest(1, 11, 300'000).ok());
  std::unique_ptr<KafkaConsumer> consumer =
      *KafkaConsumer::Create(kafka->bootstrap_servers(), kGroup, {kTopic});
  const absl::Time started = absl::Now();
  std::optional<IncomingMessage> message;
  while (!message && absl::Now() < started + absl::Seconds(90)) {
    message = consumer->Poll(absl::Milliseconds(200));
  }
  INFO("waited " << absl::ToInt64Seconds(absl::Now() - started) << " s");
  REQUIRE(message.has_value());
  CHECK(message->value == "v");
}

}  // namespace
}  // namespace fxmesh::kafka
