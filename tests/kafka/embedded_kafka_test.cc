// Proves the embedded Kafka is a real Kafka protocol endpoint that fxmesh can rely on in tests:
// librdkafka clients connect over loopback TCP; an idempotent producer sending while a broker is
// taken down and brought back loses nothing and duplicates nothing; a consumer group reads every
// message once, in order per key; and the fault-injection calls refuse what they cannot do.
#include "embedded_kafka/embedded_kafka.h"

#include <librdkafka/rdkafka.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "kafka/topics.h"

namespace fxmesh::kafka {
namespace {

rd_kafka_t* NewClient(rd_kafka_type_t type, const std::map<std::string, std::string>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  for (const auto& [key, value] : settings) {
    REQUIRE(rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof(error)) ==
            RD_KAFKA_CONF_OK);
  }
  rd_kafka_t* client = rd_kafka_new(type, conf, error, sizeof(error));
  INFO(error);
  REQUIRE(client != nullptr);
  return client;
}

TEST_CASE("an idempotent producer loses and duplicates nothing while a broker goes down and back",
          "[kafka][integration]") {
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka = EmbeddedKafka::Start(3, 4, AllTopics());
  REQUIRE(kafka.ok());
  const std::string topic(kSagaEventsTopic);
  rd_kafka_t* producer =
      NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", (*kafka)->bootstrap_servers()},
                                    {"enable.idempotence", "true"},
                                    {"message.timeout.ms", "30000"},
                                    {"log_level", "2"}});
  constexpr int kMessages = 600;
  constexpr int kKeys = 12;
  int failed = 0;
  for (int i = 0; i < kMessages; ++i) {
    if (i == kMessages / 3) REQUIRE((*kafka)->SetBrokerUp(2, false).ok());
    if (i == 2 * kMessages / 3) REQUIRE((*kafka)->SetBrokerUp(2, true).ok());
    const std::string key = absl::StrCat("saga-", i % kKeys);
    const std::string value = absl::StrCat(i);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) ++failed;
    rd_kafka_poll(producer, 0);
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(failed == 0);
  CHECK(rd_kafka_flush(producer, 30'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  CHECK(rd_kafka_outq_len(producer) == 0);
  rd_kafka_destroy(producer);

  rd_kafka_t* consumer =
      NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", (*kafka)->bootstrap_servers()},
                                    {"group.id", "embedded-kafka-test"},
                                    {"auto.offset.reset", "earliest"},
                                    {"log_level", "2"}});
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  REQUIRE(rd_kafka_subscribe(consumer, subscription) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(subscription);

  std::set<int> seen;
  int duplicates = 0, out_of_order = 0;
  std::map<std::string, int> last_per_key;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (static_cast<int>(seen.size()) < kMessages && std::chrono::steady_clock::now() < give_up) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const int value = std::stoi(std::string(static_cast<char*>(message->payload), message->len));
      const std::string key(static_cast<char*>(message->key), message->key_len);
      if (!seen.insert(value).second) ++duplicates;
      auto last = last_per_key.find(key);
      if (last != last_per_key.end() && last->second > value) ++out_of_order;
      last_per_key[key] = value;
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  CHECK(seen.size() == static_cast<size_t>(kMessages));
  CHECK(duplicates == 0);
  CHECK(out_of_order == 0);
}

TEST_CASE("the embedded Kafka describes itself and refuses impossible faults", "[kafka][unit]") {
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka = EmbeddedKafka::Start(3, 2, AllTopics());
  REQUIRE(kafka.ok());
  v1::KafkaCluster cluster = (*kafka)->Describe();
  CHECK(cluster.brokers_size() == 3);
  CHECK(cluster.topics_size() == static_cast<int>(AllTopics().size()));
  CHECK_THAT(cluster.bootstrap_servers(), Catch::Contains("127.0.0.1:"));
  REQUIRE((*kafka)->SetBrokerLatency(1, 50).ok());
  CHECK((*kafka)->Describe().brokers(0).latency_ms() == 50);
  CHECK(absl::IsNotFound((*kafka)->SetBrokerUp(4, false)));
  CHECK(absl::IsInvalidArgument((*kafka)->SetBrokerLatency(1, -1)));
  CHECK(absl::IsInvalidArgument((*kafka)->FailRequests(0, 7, 0)));
  CHECK(absl::IsInvalidArgument(EmbeddedKafka::Start(0, 1, {}).status()));
}

}  // namespace
}  // namespace fxmesh::kafka
