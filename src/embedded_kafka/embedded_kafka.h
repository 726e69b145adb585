// An embedded Kafka for development and tests: librdkafka's mock cluster, a real Kafka protocol
// endpoint on loopback with several brokers, plus the fault injection the tests need (brokers down,
// slow brokers, failing requests). Production points every service at a real cluster instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "fxmesh/v1/kafka_control.pb.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace fxmesh::kafka {

namespace internal {
class BootstrapForwarder;
}  // namespace internal

// Thread-safe.
class EmbeddedKafka {
 public:
  // Starts `brokers` brokers (ids 1..brokers) on loopback ports chosen by the OS and creates each
  // topic in `topics` with `partitions` partitions.
  static absl::StatusOr<std::unique_ptr<EmbeddedKafka>> Start(
      int brokers, int partitions, const std::vector<std::string>& topics);
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers: the brokers' own ports, new on every start.
  const std::string& bootstrap_servers() const { return bootstrap_servers_; }

  // The mock cluster cannot be told which ports its brokers listen on, so a bootstrap address that
  // stays the same across runs is a forwarder: every connection to 127.0.0.1:`port` is relayed to
  // the first broker that accepts it. A client bootstraps there and then talks to the brokers the
  // metadata names. FAILED_PRECONDITION if the port is taken. Call once, before sharing `this`.
  absl::Status ForwardBootstrapFrom(int port);

  // NOT_FOUND for an unknown broker id.
  absl::Status SetBrokerUp(int32_t broker_id, bool up);
  absl::Status SetBrokerLatency(int32_t broker_id, int32_t latency_ms);
  // The next `count` requests with Kafka API key `api_key` fail with Kafka error `error_code`.
  absl::Status FailRequests(int32_t api_key, int32_t error_code, int32_t count);
  // The next request with Kafka API key `api_key` to broker `broker_id` is answered only after
  // `delay_ms`: a broker that stalls on one request (and, behind it, on that connection).
  absl::Status StallNextRequest(int32_t broker_id, int32_t api_key, int32_t delay_ms);

  v1::KafkaCluster Describe() const;

 private:
  EmbeddedKafka();

  std::unique_ptr<internal::BootstrapForwarder> forwarder_;
  rd_kafka_t* handle_ = nullptr;  // The client instance that hosts the mock cluster.
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_servers_;
  std::vector<std::string> topics_;
  mutable absl::Mutex mu_;
  std::vector<v1::KafkaBroker> brokers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::kafka
