// Proves that the outbox publisher never skips a committed row (ARCHITECTURE.md §8 item 9), against
// a real Kafka protocol endpoint (the embedded mock cluster): on PostgreSQL, a row whose
// transaction commits after a row with a higher id was already published is still published; on
// both backends, rows whose mark-as-sent failed are marked on a later pass, and of two replicas'
// publishers only one sends each row, until it stops and the other takes over. Time is a fake
// clock, so the publisher's rescan and role lease move exactly when the test moves time.
#include "coordinator/outbox_publisher.h"

#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "absl/synchronization/notification.h"
#include "common/limits.h"
#include "common/soci_util.h"
#include "coordinator/saga_store.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/consumer.h"
#include "kafka/topics.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;
using testing::TestDatabase;

void InsertRow(soci::session& sql, const std::string& key) {
  const std::string topic(kafka::kSagaEventsTopic), payload = "{}", traceparent;
  long long zero = 0;
  sql << "INSERT INTO outbox (topic, message_key, payload, traceparent, created_at_us, sent_at_us)"
         " VALUES (:t, :k, :p, :tp, :c, :s)",
      soci::use(topic), soci::use(key), soci::use(payload), soci::use(traceparent), soci::use(zero),
      soci::use(zero);
}

// Unsent rows' keys, in id order.
std::vector<std::string> UnsentKeys(Database& database) {
  std::vector<std::string> keys;
  REQUIRE(database
              .Read(
                  [&](soci::session& sql) {
                    soci::rowset<soci::row> rows =
                        sql.prepare
                        << "SELECT message_key FROM outbox WHERE sent_at_us = 0 ORDER BY outbox_id";
                    for (const soci::row& row : rows) keys.push_back(RowString(row, 0));
                    return absl::OkStatus();
                  })
              .ok());
  return keys;
}

// Publishes until the outbox holds exactly `unsent` or 20 s pass; returns the unsent keys.
std::vector<std::string> PublishUntil(OutboxPublisher& publisher, Database& database,
                                      size_t unsent) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  std::vector<std::string> keys = UnsentKeys(database);
  while (keys.size() != unsent && absl::Now() < give_up) {
    (void)publisher.PublishOnce(absl::Milliseconds(100));
    keys = UnsentKeys(database);
  }
  return keys;
}

struct Fixture {
  explicit Fixture(Backend backend) : test_database(backend) {
    database = test_database.Open();
    store = NewSociSagaStore(*database);
    REQUIRE(store->Migrate().ok());
    absl::StatusOr<std::unique_ptr<kafka::EmbeddedKafka>> started =
        kafka::EmbeddedKafka::Start(1, 1, kafka::AllTopics());
    REQUIRE(started.ok());
    kafka = std::move(*started);
    absl::StatusOr<std::unique_ptr<kafka::KafkaProducer>> created = kafka::KafkaProducer::Create(
        kafka->bootstrap_servers(), "outbox-publisher-test", absl::Seconds(5));
    REQUIRE(created.ok());
    producer = std::move(*created);
    publisher = std::make_unique<OutboxPublisher>(*store, *producer, clock, "replica-a");
  }

  TestDatabase test_database;
  std::unique_ptr<Database> database;
  std::unique_ptr<SagaStore> store;
  std::unique_ptr<kafka::EmbeddedKafka> kafka;
  std::unique_ptr<kafka::KafkaProducer> producer;
  testing::FakeClock clock;
  std::unique_ptr<OutboxPublisher> publisher;
};

TEST_CASE("a row that commits after a higher id was published is still published",
          "[coordinator][kafka][pg]") {
  Fixture fixture(Backend::kPostgres);
  // Transaction A takes the lower id and stays open; B takes the next id and commits first.
  absl::Notification inserted, release;
  std::thread slow([&] {
    CHECK(fixture.database
              ->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                InsertRow(sql, "first-id-commits-last");
                inserted.Notify();
                release.WaitForNotification();
                return Completion::kCommit;
              })
              .ok());
  });
  inserted.WaitForNotification();
  REQUIRE(fixture.database
              ->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                InsertRow(sql, "second-id-commits-first");
                return Completion::kCommit;
              })
              .ok());
  REQUIRE(PublishUntil(*fixture.publisher, *fixture.database, 0).empty());

  release.Notify();
  slow.join();
  REQUIRE(UnsentKeys(*fixture.database) == std::vector<std::string>{"first-id-commits-last"});
  // The cursor has passed the late row's id; the sweep from the start finds it.
  fixture.clock.Advance(absl::Milliseconds(limits::kOutboxRescanMs));
  CHECK(PublishUntil(*fixture.publisher, *fixture.database, 0).empty());
}

FXMESH_BACKEND_TEST("rows delivered while marking them sent fails are marked later",
                    "[coordinator][kafka]") {
  Fixture fixture(backend);
  // Marking rows sent fails while the trigger exists, as it would while the database is away.
  auto set_failing = [&](bool failing) {
    testing::SetUpdatesFailing(*fixture.database, backend, "outbox", failing);
  };
  set_failing(true);
  REQUIRE(fixture.database
              ->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                InsertRow(sql, "a");
                InsertRow(sql, "b");
                return Completion::kCommit;
              })
              .ok());
  // Both rows reach Kafka, but cannot be marked.
  bool failed = false;
  for (int pass = 0; pass < 50 && !failed; ++pass)
    failed = !fixture.publisher->PublishOnce(absl::Milliseconds(100)).ok();
  REQUIRE(failed);
  CHECK(UnsentKeys(*fixture.database).size() == 2);

  // Once the database takes writes again the rows are marked, without waiting for a rescan.
  set_failing(false);
  CHECK(PublishUntil(*fixture.publisher, *fixture.database, 0).empty());
}

// How many times each key was published to the saga events topic: reads until `at_least`
// messages came (or 20 s passed), then for 1 s more, so a copy sent twice is counted.
std::map<std::string, int> PublishedKeys(kafka::EmbeddedKafka& kafka, const std::string& group,
                                         int at_least) {
  absl::StatusOr<std::unique_ptr<kafka::KafkaConsumer>> consumer = kafka::KafkaConsumer::Create(
      kafka.bootstrap_servers(), group, {std::string(kafka::kSagaEventsTopic)});
  REQUIRE(consumer.ok());
  std::map<std::string, int> keys;
  int read = 0;
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (read < at_least && absl::Now() < give_up) {
    if (std::optional<kafka::IncomingMessage> message = (*consumer)->Poll(absl::Milliseconds(200)))
      ++keys[message->key], ++read;
  }
  while (std::optional<kafka::IncomingMessage> message = (*consumer)->Poll(absl::Seconds(1)))
    ++keys[message->key];
  return keys;
}

FXMESH_BACKEND_TEST("of two replicas one publishes each row once and the other takes over",
                    "[coordinator][kafka]") {
  Fixture fixture(backend);
  std::unique_ptr<kafka::KafkaProducer> producer_b = *kafka::KafkaProducer::Create(
      fixture.kafka->bootstrap_servers(), "outbox-publisher-test-b", absl::Seconds(5));
  std::unique_ptr<Database> database_b = fixture.test_database.Open();
  std::unique_ptr<SagaStore> store_b = NewSociSagaStore(*database_b);
  OutboxPublisher publisher_b(*store_b, *producer_b, fixture.clock, "replica-b");
  auto insert = [&](const std::string& key) {
    REQUIRE(fixture.database
                ->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                  InsertRow(sql, key);
                  return Completion::kCommit;
                })
                .ok());
  };
  // Both replicas run their publishers side by side.
  REQUIRE(fixture.publisher->PublishOnce(absl::Milliseconds(10)).ok());
  REQUIRE(publisher_b.PublishOnce(absl::Milliseconds(10)).ok());
  CHECK(fixture.publisher->publishing());
  CHECK_FALSE(publisher_b.publishing());
  insert("a");
  insert("b");
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!UnsentKeys(*fixture.database).empty() && absl::Now() < give_up) {
    (void)fixture.publisher->PublishOnce(absl::Milliseconds(50));
    (void)publisher_b.PublishOnce(absl::Milliseconds(50));
    fixture.clock.Advance(absl::Milliseconds(limits::kOutboxRescanMs));  // Sweeps and renewals.
  }
  REQUIRE(UnsentKeys(*fixture.database).empty());
  CHECK(PublishedKeys(*fixture.kafka, "count-1", 2) ==
        std::map<std::string, int>{{"a", 1}, {"b", 1}});

  // Replica A stops. Until its lease runs out B stands by; then B publishes what is left.
  insert("c");
  for (int pass = 0; pass < 5; ++pass) (void)publisher_b.PublishOnce(absl::Milliseconds(50));
  CHECK(UnsentKeys(*fixture.database) == std::vector<std::string>{"c"});
  CHECK_FALSE(publisher_b.publishing());
  fixture.clock.Advance(absl::Milliseconds(limits::kOutboxPublisherLeaseMs));
  CHECK(PublishUntil(publisher_b, *fixture.database, 0).empty());
  CHECK(publisher_b.publishing());
  CHECK(PublishedKeys(*fixture.kafka, "count-2", 3) ==
        std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}});
}

}  // namespace
}  // namespace fxmesh::coordinator
