// Proves the coordinator's transactional outbox against a real Kafka protocol endpoint (the
// embedded mock cluster): every saga transition is written with the transition and reaches
// fxmesh.saga.events, in order per saga, with its traceparent; while every broker is down the
// events wait in the outbox (a visible backlog) and arrive once Kafka is back — none is lost; and
// retention deletes sent rows only, never one still waiting.
#include <google/protobuf/util/json_util.h>
#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/outbox_publisher.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/topics.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

struct Consumed {
  std::map<std::string, std::vector<v1::SagaState>> states_by_saga;
  std::map<std::string, v1::SagaEvent> last_event_by_saga;
  int messages = 0;
  int missing_traceparent = 0;
};

// Reads fxmesh.saga.events from the beginning until `expected` messages arrived or 30 s passed.
Consumed ConsumeEvents(const std::string& bootstrap, int expected) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"bootstrap.servers", bootstrap},
                                                        {"group.id", "outbox-test"},
                                                        {"auto.offset.reset", "earliest"},
                                                        {"log_level", "2"}}) {
    REQUIRE(rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof(error)) ==
            RD_KAFKA_CONF_OK);
  }
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  REQUIRE(consumer != nullptr);
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, std::string(kafka::kSagaEventsTopic).c_str(),
                                    RD_KAFKA_PARTITION_UA);
  REQUIRE(rd_kafka_subscribe(consumer, topics) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  Consumed consumed;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (consumed.messages < expected && std::chrono::steady_clock::now() < give_up) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      v1::SagaEvent event;
      REQUIRE(google::protobuf::util::JsonStringToMessage(
                  std::string(static_cast<char*>(message->payload), message->len), &event)
                  .ok());
      CHECK(std::string(static_cast<char*>(message->key), message->key_len) == event.saga_id());
      rd_kafka_headers_t* headers = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR ||
          rd_kafka_header_get_last(headers, "traceparent", &value, &size) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          std::string(static_cast<const char*>(value), size).find(event.saga_id()) ==
              std::string::npos) {
        ++consumed.missing_traceparent;
      }
      consumed.states_by_saga[event.saga_id()].push_back(event.to_state());
      consumed.last_event_by_saga[event.saga_id()] = event;
      ++consumed.messages;
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return consumed;
}

// Publishes until the outbox is empty or `timeout` passes; returns the backlog left.
int64_t Drain(OutboxPublisher& publisher, SagaStore& store, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    REQUIRE(publisher.PublishOnce(absl::Milliseconds(100)).ok());
    absl::StatusOr<int64_t> backlog = store.CountUnsentOutbox();
    REQUIRE(backlog.ok());
    if (*backlog == 0) return 0;
  }
  return *store.CountUnsentOutbox();
}

FXMESH_BACKEND_TEST("every saga transition reaches Kafka, even across a Kafka outage",
                    "[coordinator][kafka][integration]") {
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedKafka>> kafka =
      kafka::EmbeddedKafka::Start(3, 3, kafka::AllTopics());
  REQUIRE(kafka.ok());
  // This test publishes the outbox itself, and no relay answers the commands in it: every saga
  // stops at its decision, whose three transitions (creation included) and two commands are five
  // rows.
  HarnessOptions options;
  options.external_relay = true;
  CoordinatorHarness mesh(backend, options);
  absl::StatusOr<std::unique_ptr<kafka::KafkaProducer>> producer =
      kafka::KafkaProducer::Create((*kafka)->bootstrap_servers(), "outbox-test", absl::Seconds(5));
  REQUIRE(producer.ok());
  OutboxPublisher publisher(mesh.store(), **producer, SystemClock::Get(), "outbox-test");
  const absl::Duration wait = absl::Seconds(1);

  // Two exchanges are decided while Kafka is up.
  for (int i = 0; i < 2; ++i) {
    REQUIRE(
        mesh.Exchange(absl::StrCat("up-", i), "alice", mesh.Quote("KRW", "USD", 0, 1'000 + i), wait)
            ->state() == v1::SAGA_STATE_CONFIRMING);
  }
  CHECK(Drain(publisher, mesh.store(), absl::Seconds(20)) == 0);

  // Every broker goes down; one exchange is decided and one is refused and cancelled meanwhile.
  for (int broker = 1; broker <= 3; ++broker) REQUIRE((*kafka)->SetBrokerUp(broker, false).ok());
  REQUIRE(mesh.Exchange("down-ok", "bob", mesh.Quote("KRW", "USD", 0, 2'000), wait)->state() ==
          v1::SAGA_STATE_CONFIRMING);
  REQUIRE(mesh.Exchange("down-refused", "bob", mesh.Quote("KRW", "USD", 5'000'000, 0), wait)
              ->status() == v1::EXCHANGE_STATUS_FAILED);
  const int64_t backlog = Drain(publisher, mesh.store(), absl::Seconds(2));
  CHECK(backlog == 10);
  CHECK(mesh.engine().operators().GetAlerts()->outbox_backlog() == 10);
  // Retention deletes sent rows only: the 10 sent before the outage go, the 10 waiting stay.
  CHECK(*mesh.store().PruneSentOutbox(absl::Now() + absl::Hours(1), 1'000) == 10);
  CHECK(*mesh.store().CountUnsentOutbox() == 10);

  for (int broker = 1; broker <= 3; ++broker) REQUIRE((*kafka)->SetBrokerUp(broker, true).ok());
  CHECK(Drain(publisher, mesh.store(), absl::Seconds(30)) == 0);

  Consumed consumed = ConsumeEvents((*kafka)->bootstrap_servers(), 12);
  CHECK(*mesh.store().PruneSentOutbox(absl::Now() + absl::Hours(1), 1'000) == 10);
  CHECK(consumed.missing_traceparent == 0);
  REQUIRE(consumed.states_by_saga.size() == 4);
  const std::vector<v1::SagaState> confirming = {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING,
                                                 v1::SAGA_STATE_CONFIRMING};
  const std::vector<v1::SagaState> cancelled = {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING,
                                                v1::SAGA_STATE_CANCELLING};
  int decided_sagas = 0, cancelled_sagas = 0;
  for (const auto& [saga_id, states] : consumed.states_by_saga) {
    INFO("saga " << saga_id);
    if (states == confirming) ++decided_sagas;
    if (states == cancelled) {
      ++cancelled_sagas;
      // Events carry who and why, as the transition wrote them.
      const v1::SagaEvent& last = consumed.last_event_by_saga[saga_id];
      CHECK(last.customer_id() == "bob");
      CHECK(last.failure_reason() == "INSUFFICIENT_FUNDS");
    }
  }
  CHECK(decided_sagas == 3);
  CHECK(cancelled_sagas == 1);
  mesh.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
