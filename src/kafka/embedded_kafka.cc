#include "kafka/embedded_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "absl/strings/str_cat.h"
#include "kafka/topics.h"

namespace fxmesh::kafka {

std::vector<std::string> AllTopics() {
  std::vector<std::string> topics = {std::string(kBranchCommandsTopic),
                                     std::string(kBranchResultsTopic),
                                     std::string(kDeadLetterTopic), std::string(kSagaEventsTopic)};
  for (const RetryTier& tier : kRetryTiers) topics.emplace_back(tier.topic);
  return topics;
}

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(
    int brokers, int partitions, const std::vector<std::string>& topics) {
  if (brokers < 1 || partitions < 1) {
    return absl::InvalidArgumentError(
        "an embedded Kafka needs at least one broker and one partition");
  }
  std::unique_ptr<EmbeddedKafka> kafka(new EmbeddedKafka());
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The hosting client never connects anywhere; it only owns the mock cluster's threads.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  kafka->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (kafka->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("cannot create the hosting Kafka client: ", error));
  }
  kafka->cluster_ = rd_kafka_mock_cluster_new(kafka->handle_, brokers);
  if (kafka->cluster_ == nullptr)
    return absl::UnavailableError("cannot start the mock Kafka cluster");
  kafka->bootstrap_servers_ = rd_kafka_mock_cluster_bootstraps(kafka->cluster_);
  const int replication = std::min(brokers, 3);
  for (const std::string& topic : topics) {
    rd_kafka_resp_err_t created =
        rd_kafka_mock_topic_create(kafka->cluster_, topic.c_str(), partitions, replication);
    if (created != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("cannot create topic ", topic, ": ", rd_kafka_err2str(created)));
    }
    kafka->topics_.push_back(topic);
  }
  absl::MutexLock lock(&kafka->mu_);
  for (int id = 1; id <= brokers; ++id) {
    v1::KafkaBroker& broker = kafka->brokers_.emplace_back();
    broker.set_broker_id(id);
    broker.set_up(true);
  }
  return kafka;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status EmbeddedKafka::SetBrokerUp(int32_t broker_id, bool up) {
  absl::MutexLock lock(&mu_);
  if (broker_id < 1 || broker_id > static_cast<int32_t>(brokers_.size())) {
    return absl::NotFoundError(
        absl::StrCat("no broker ", broker_id, "; brokers are 1..", brokers_.size()));
  }
  rd_kafka_resp_err_t result = up ? rd_kafka_mock_broker_set_up(cluster_, broker_id)
                                  : rd_kafka_mock_broker_set_down(cluster_, broker_id);
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(result));
  brokers_[broker_id - 1].set_up(up);
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::SetBrokerLatency(int32_t broker_id, int32_t latency_ms) {
  absl::MutexLock lock(&mu_);
  if (broker_id < 1 || broker_id > static_cast<int32_t>(brokers_.size())) {
    return absl::NotFoundError(
        absl::StrCat("no broker ", broker_id, "; brokers are 1..", brokers_.size()));
  }
  if (latency_ms < 0) return absl::InvalidArgumentError("latency_ms must not be negative");
  rd_kafka_resp_err_t result = rd_kafka_mock_broker_set_rtt(cluster_, broker_id, latency_ms);
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return absl::InternalError(rd_kafka_err2str(result));
  brokers_[broker_id - 1].set_latency_ms(latency_ms);
  return absl::OkStatus();
}

absl::Status EmbeddedKafka::FailRequests(int32_t api_key, int32_t error_code, int32_t count) {
  if (api_key < 0 || count < 1 || count > 10'000) {
    return absl::InvalidArgumentError("api_key must be >= 0 and count 1..10000");
  }
  std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(error_code));
  rd_kafka_mock_push_request_errors_array(cluster_, static_cast<int16_t>(api_key), errors.size(),
                                          errors.data());
  return absl::OkStatus();
}

v1::KafkaCluster EmbeddedKafka::Describe() const {
  v1::KafkaCluster cluster;
  cluster.set_bootstrap_servers(bootstrap_servers_);
  absl::MutexLock lock(&mu_);
  for (const v1::KafkaBroker& broker : brokers_) *cluster.add_brokers() = broker;
  for (const std::string& topic : topics_) cluster.add_topics(topic);
  return cluster;
}

}  // namespace fxmesh::kafka
