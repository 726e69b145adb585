#include "kafka/producer.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"

namespace fxmesh::kafka {

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(
    const ClientConfig& config, const std::string& client_id, absl::Duration delivery_timeout,
    absl::Duration linger) {
  std::unique_ptr<KafkaProducer> producer(new KafkaProducer());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const KafkaProperties settings = {
      {"client.id", client_id},
      // Idempotence: the broker drops the producer's own retried duplicates and keeps order.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(delivery_timeout))},
      {"linger.ms", absl::StrCat(absl::ToInt64Milliseconds(linger))},
      {"log_level", "3"},
  };
  if (absl::Status applied = ApplyClientConfig(conf, config, settings); !applied.ok()) {
    rd_kafka_conf_destroy(conf);
    return applied;
  }
  rd_kafka_conf_set_opaque(conf, producer.get());
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t* handle, const rd_kafka_message_t* message,
                                       void* opaque) { OnDelivery(handle, message, opaque); });
  producer->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (producer->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka producer: ", error));
  }
  return producer;
}

std::string KafkaProducer::Name() const { return rd_kafka_name(handle_); }

KafkaProducer::~KafkaProducer() {
  if (handle_ == nullptr) return;
  // Give queued messages a moment; anything undelivered stays unsent in the outbox and is sent
  // again by the next publisher.
  rd_kafka_flush(handle_, 2'000);
  rd_kafka_destroy(handle_);
}

void KafkaProducer::OnDelivery(rd_kafka_t*, const void* raw, void* opaque) {
  const auto* message = static_cast<const rd_kafka_message_t*>(raw);
  auto* producer = static_cast<KafkaProducer*>(opaque);
  DeliveryReport report;
  report.token = reinterpret_cast<intptr_t>(message->_private);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    report.status = absl::UnavailableError(
        absl::StrCat("kafka delivery failed: ", rd_kafka_err2str(message->err)));
  }
  producer->reports_.push_back(std::move(report));
}

absl::Status KafkaProducer::Produce(const OutgoingMessage& message) {
  rd_kafka_headers_t* headers = rd_kafka_headers_new(message.headers.size());
  for (const auto& [name, value] : message.headers) {
    rd_kafka_header_add(headers, name.data(), name.size(), value.data(), value.size());
  }
  rd_kafka_resp_err_t err = rd_kafka_producev(
      handle_, RD_KAFKA_V_TOPIC(message.topic.c_str()),
      RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(message.value.data()), message.value.size()),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<intptr_t>(message.token))),
      RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  rd_kafka_headers_destroy(headers);  // Ownership passes to librdkafka only on success.
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
    return absl::ResourceExhaustedError("kafka producer queue full");
  return absl::InternalError(
      absl::StrCat("cannot produce to ", message.topic, ": ", rd_kafka_err2str(err)));
}

std::vector<DeliveryReport> KafkaProducer::Poll(absl::Duration timeout) {
  rd_kafka_poll(handle_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  std::vector<DeliveryReport> reports;
  reports.swap(reports_);
  return reports;
}

int KafkaProducer::Pending() const { return rd_kafka_outq_len(handle_); }

}  // namespace fxmesh::kafka
