// Proves that librdkafka properties pass through from configuration to every Kafka client: a
// properties file and FXMESH_KAFKA_* variables parse as documented; the properties reach
// librdkafka (client.id names the client); a producer and a consumer configured with them deliver
// and read a message through the embedded Kafka (the real Kafka protocol); SASL turned on by them
// is spoken on the wire (the mock cluster, PLAINTEXT only, then takes nothing); and unknown,
// invalid, unusable (SSL with a missing CA file) or fxmesh-owned properties are refused at once
// with librdkafka's message, never quoting a password.
#include "kafka/client_config.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_replace.h"
#include "common/log.h"
#include "embedded_kafka/embedded_kafka.h"
#include "kafka/consumer.h"
#include "kafka/lag.h"
#include "kafka/producer.h"

namespace fxmesh::kafka {
namespace {

constexpr char kTopic[] = "fxmesh.saga.events";

TEST_CASE("a Kafka properties file parses into name and value pairs", "[kafka][unit]") {
  absl::StatusOr<KafkaProperties> parsed = ParseKafkaProperties(
      "# TLS to the brokers\n"
      "security.protocol = SASL_SSL\n"
      "\n"
      "  ! another comment\n"
      "ssl.ca.location=/etc/kafka/ca.crt\n"
      "sasl.password=p=a ss\r\n",
      "kafka.properties");
  REQUIRE(parsed.ok());
  CHECK(*parsed == KafkaProperties{{"security.protocol", "SASL_SSL"},
                                   {"ssl.ca.location", "/etc/kafka/ca.crt"},
                                   {"sasl.password", "p=a ss"}});

  absl::StatusOr<KafkaProperties> bad = ParseKafkaProperties("client.id=a\nno equals sign\n", "f");
  REQUIRE(absl::IsInvalidArgument(bad.status()));
  CHECK(bad.status().message() == "f line 2: expected name=value (a librdkafka property)");
  CHECK(absl::IsInvalidArgument(ParseKafkaProperties("=value\n", "f").status()));
}

TEST_CASE("FXMESH_KAFKA_ variables name librdkafka properties", "[kafka][unit]") {
  std::string entries[] = {"FXMESH_KAFKA_SASL_PASSWORD=s3cret", "FXMESH_KAFKA_BROKERS=host:9092",
                           "FXMESH_KAFKA_CONFIG=/etc/kafka.properties", "PATH=/bin",
                           "FXMESH_KAFKA_SECURITY_PROTOCOL=SASL_SSL"};
  char* environment[] = {entries[0].data(), entries[1].data(), entries[2].data(),
                         entries[3].data(), entries[4].data(), nullptr};
  CHECK(KafkaPropertiesFromEnvironment(environment) ==
        KafkaProperties{{"sasl.password", "s3cret"}, {"security.protocol", "SASL_SSL"}});
}

TEST_CASE("Kafka clients with pass-through properties deliver through the embedded Kafka",
          "[kafka][integration]") {
  SetLogLevel(LogLevel::kError);
  auto kafka = *EmbeddedKafka::Start(1, 1, {kTopic});
  ClientConfig config(kafka->bootstrap_servers());
  config.properties = {{"security.protocol", "PLAINTEXT"},
                       {"client.id", "bank-outbox-7"},
                       {"socket.keepalive.enable", "true"}};

  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
      KafkaProducer::Create(config, "fxmesh-default-id", absl::Seconds(10));
  REQUIRE(producer.ok());
  // The operator's client.id wins over fxmesh's default: librdkafka names the client by it.
  CHECK((*producer)->Name().rfind("bank-outbox-7#producer-", 0) == 0);
  REQUIRE((*producer)->Produce({.topic = kTopic, .key = "k", .value = "v", .token = 1}).ok());
  std::vector<DeliveryReport> reports;
  for (int i = 0; i < 100 && reports.empty(); ++i) reports = (*producer)->Poll(absl::Seconds(0.1));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].status.ok());

  absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
      KafkaConsumer::Create(config, "client-config-test", {kTopic});
  REQUIRE(consumer.ok());
  std::optional<IncomingMessage> message;
  for (int i = 0; i < 100 && !message; ++i) message = (*consumer)->Poll(absl::Seconds(0.1));
  REQUIRE(message.has_value());
  CHECK(message->value == "v");
  CHECK(ConsumerGroupLag(config, "client-config-test", {kTopic}, absl::Seconds(5)).ok());
}

TEST_CASE("SASL turned on by pass-through properties is spoken on the wire",
          "[kafka][integration]") {
  SetLogLevel(LogLevel::kError);
  auto kafka = *EmbeddedKafka::Start(1, 1, {kTopic});
  ClientConfig config(kafka->bootstrap_servers());
  config.properties = {{"security.protocol", "SASL_PLAINTEXT"},
                       {"sasl.mechanisms", "PLAIN"},
                       {"sasl.username", "fxmesh"},
                       {"sasl.password", "s3cret"},
                       {"log_level", "0"}};
  // The mock cluster knows no SASL handshake, so a client that speaks SASL delivers nothing; the
  // same producer without these properties delivers at once (the test above).
  auto producer = *KafkaProducer::Create(config, "sasl-test", absl::Seconds(2));
  REQUIRE(producer->Produce({.topic = kTopic, .key = "k", .value = "v", .token = 1}).ok());
  std::vector<DeliveryReport> reports;
  for (int i = 0; i < 50 && reports.empty(); ++i) reports = producer->Poll(absl::Seconds(0.1));
  REQUIRE(reports.size() == 1);
  CHECK(absl::IsUnavailable(reports[0].status));
}

TEST_CASE("bad Kafka properties are refused when the client is created", "[kafka][unit]") {
  auto refusal = [](KafkaProperties properties) {
    ClientConfig config("127.0.0.1:1");
    config.properties = std::move(properties);
    absl::StatusOr<std::unique_ptr<KafkaProducer>> producer =
        KafkaProducer::Create(config, "refused", absl::Seconds(1));
    REQUIRE(absl::IsInvalidArgument(producer.status()));
    absl::StatusOr<std::unique_ptr<KafkaConsumer>> consumer =
        KafkaConsumer::Create(config, "refused", {kTopic});
    REQUIRE(absl::IsInvalidArgument(consumer.status()));
    // The same refusal, whichever client meets it.
    CHECK(consumer.status().message() ==
          absl::StrReplaceAll(producer.status().message(), {{"producer", "consumer"}}));
    return std::string(producer.status().message());
  };
  CHECK(refusal({{"sasl.passwrd", "x"}}) ==
        "kafka property sasl.passwrd: No such configuration property: \"sasl.passwrd\"");
  CHECK(refusal({{"security.protocol", "TLS"}}) ==
        "kafka property security.protocol: Invalid value \"TLS\" for configuration property "
        "\"security.protocol\"");
  const std::string missing_ca =
      refusal({{"security.protocol", "SSL"}, {"ssl.ca.location", "/nonexistent/ca.crt"}});
  INFO(missing_ca);
  CHECK(missing_ca.find("ssl.ca.location failed") != std::string::npos);
  CHECK(refusal({{"enable.auto.commit", "true"}}) ==
        "kafka property enable.auto.commit is set by fxmesh itself (its flags or its delivery "
        "guarantees); remove it");
  CHECK(refusal({{"group.id", "other"}}).find("set by fxmesh itself") != std::string::npos);
  // A refusal never quotes a secret.
  const std::string secret = refusal({{"security.protocol", "SSL"},
                                      {"ssl.key.password", "s3cret"},
                                      {"ssl.ca.location", "/nonexistent/ca.crt"}});
  CHECK(secret.find("ssl.ca.location failed") != std::string::npos);
  CHECK(secret.find("s3cret") == std::string::npos);
}

}  // namespace
}  // namespace fxmesh::kafka
