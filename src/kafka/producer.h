// A Kafka producer for fxmesh's outboxes: idempotent (no duplicates or reordering from its own
// retries), acks from all in-sync replicas, and a delivery report for every message, returned by
// Poll with the caller's token. Not thread-safe: one thread produces and polls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/limits.h"
#include "kafka/client_config.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace fxmesh::kafka {

struct OutgoingMessage {
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t token = 0;  // Returned with its delivery report.
};

struct DeliveryReport {
  int64_t token = 0;
  absl::Status status;  // OK once the cluster has the message.
};

class KafkaProducer {
 public:
  // Connects as `config` says, with client.id `client_id` unless its properties name another.
  // Messages not delivered within `delivery_timeout` are reported as failed (UNAVAILABLE). Each
  // message waits up to `linger` to be sent in a batch with others. INVALID_ARGUMENT for a bad
  // property or one librdkafka cannot use (a missing CA file), with librdkafka's message.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Create(
      const ClientConfig& config, const std::string& client_id, absl::Duration delivery_timeout,
      absl::Duration linger = absl::Milliseconds(limits::kProducerLingerMsDefault));
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues `message`. RESOURCE_EXHAUSTED when the local queue is full (Poll, then try again).
  absl::Status Produce(const OutgoingMessage& message);
  // Serves delivery reports for up to `timeout` and returns those that arrived.
  std::vector<DeliveryReport> Poll(absl::Duration timeout);
  // Messages queued or in flight.
  int Pending() const;
  // librdkafka's name for this client, as its log lines show it: "<client.id>#producer-<n>".
  std::string Name() const;

 private:
  KafkaProducer() = default;
  static void OnDelivery(rd_kafka_t* handle, const void* message, void* opaque);

  rd_kafka_t* handle_ = nullptr;
  std::vector<DeliveryReport> reports_;
};

}  // namespace fxmesh::kafka
