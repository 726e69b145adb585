// Proves the embedded Kafka's fixed bootstrap port (ForwardBootstrapFrom) is a usable bootstrap
// address: a producer and a consumer given only that port reach the brokers and exchange a message;
// a port already taken is refused with FAILED_PRECONDITION; and once the cluster is gone, the port
// is free again for the next one (what a restarted `fxmesh-kafka` needs).
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/topics.h"

namespace fxmesh::kafka {
namespace {

// A loopback port free right now (bound to port 0, then closed).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

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

// Produces one message through `bootstrap` and reads it back from the start of the topic.
void RoundTrip(const std::string& bootstrap, const std::string& value) {
  const std::string topic(kSagaEventsTopic);
  rd_kafka_t* producer =
      NewClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}, {"log_level", "2"}});
  REQUIRE(rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
  CHECK(rd_kafka_flush(producer, 30'000) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);

  rd_kafka_t* consumer = NewClient(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                       {"group.id", "bootstrap-forwarder-test"},
                                                       {"auto.offset.reset", "earliest"},
                                                       {"log_level", "2"}});
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  REQUIRE(rd_kafka_subscribe(consumer, subscription) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(subscription);
  bool found = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!found && std::chrono::steady_clock::now() < give_up) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      found = std::string(static_cast<const char*>(message->payload), message->len) == value;
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  CHECK(found);
}

TEST_CASE("Clients bootstrapped at the fixed port reach the brokers", "[kafka][integration]") {
  const int port = FreePort();
  const std::string bootstrap = absl::StrCat("127.0.0.1:", port);
  {
    absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka = EmbeddedKafka::Start(3, 2, AllTopics());
    REQUIRE(kafka.ok());
    REQUIRE((*kafka)->ForwardBootstrapFrom(port).ok());
    CHECK((*kafka)->bootstrap_servers().find(bootstrap) == std::string::npos);
    RoundTrip(bootstrap, "first cluster");

    // A second cluster cannot take the port while the first holds it.
    absl::StatusOr<std::unique_ptr<EmbeddedKafka>> other = EmbeddedKafka::Start(1, 1, AllTopics());
    REQUIRE(other.ok());
    const absl::Status taken = (*other)->ForwardBootstrapFrom(port);
    CHECK(absl::IsFailedPrecondition(taken));
    CHECK(taken.message().find(bootstrap) != std::string::npos);
  }
  // The next cluster takes the same port at once, with its own (empty) topics.
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> next = EmbeddedKafka::Start(3, 2, AllTopics());
  REQUIRE(next.ok());
  REQUIRE((*next)->ForwardBootstrapFrom(port).ok());
  RoundTrip(bootstrap, "second cluster");
}

TEST_CASE("A bootstrap port out of range is refused", "[kafka][unit]") {
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka = EmbeddedKafka::Start(1, 1, AllTopics());
  REQUIRE(kafka.ok());
  CHECK(absl::IsInvalidArgument((*kafka)->ForwardBootstrapFrom(0)));
  CHECK(absl::IsInvalidArgument((*kafka)->ForwardBootstrapFrom(70'000)));
}

}  // namespace
}  // namespace fxmesh::kafka
