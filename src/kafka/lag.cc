#include "kafka/lag.h"

#include <librdkafka/rdkafka.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace fxmesh::kafka {
namespace {

absl::Status KafkaError(absl::string_view what, rd_kafka_resp_err_t err) {
  return absl::UnavailableError(absl::StrCat(what, ": ", rd_kafka_err2str(err)));
}

}  // namespace

absl::StatusOr<int64_t> ConsumerGroupLag(const ClientConfig& config, const std::string& group,
                                         const std::vector<std::string>& topics,
                                         absl::Duration timeout) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (absl::Status applied =
          ApplyClientConfig(conf, config, {{"group.id", group}, {"log_level", "2"}});
      !applied.ok()) {
    rd_kafka_conf_destroy(conf);
    return applied;
  }
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> client(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error)), &rd_kafka_destroy);
  if (client == nullptr) return absl::InvalidArgumentError(error);
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));

  std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)>
      partitions(rd_kafka_topic_partition_list_new(16), &rd_kafka_topic_partition_list_destroy);
  for (const std::string& topic : topics) {
    rd_kafka_topic_t* handle = rd_kafka_topic_new(client.get(), topic.c_str(), nullptr);
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(client.get(), 0, handle, &metadata, timeout_ms);
    rd_kafka_topic_destroy(handle);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError("cannot read topic metadata", err);
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      for (int p = 0; p < metadata->topics[t].partition_cnt; ++p) {
        rd_kafka_topic_partition_list_add(partitions.get(), topic.c_str(),
                                          metadata->topics[t].partitions[p].id);
      }
    }
    rd_kafka_metadata_destroy(metadata);
  }
  rd_kafka_resp_err_t err = rd_kafka_committed(client.get(), partitions.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError("cannot read committed offsets", err);
  int64_t lag = 0;
  for (int i = 0; i < partitions->cnt; ++i) {
    const rd_kafka_topic_partition_t& partition = partitions->elems[i];
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(client.get(), partition.topic, partition.partition, &low,
                                           &high, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError("cannot read end offsets", err);
    lag += high - (partition.offset >= 0 ? partition.offset : low);
  }
  return lag;
}

}  // namespace fxmesh::kafka
