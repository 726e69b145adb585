#include "kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fxmesh::kafka {
namespace {

// A one-partition list, owned by the caller's scope.
struct PartitionList {
  PartitionList(const std::string& topic, int32_t partition,
                int64_t offset = RD_KAFKA_OFFSET_INVALID)
      : list(rd_kafka_topic_partition_list_new(1)) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  rd_kafka_topic_partition_list_t* list;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(
    const ClientConfig& config, const std::string& group_id,
    const std::vector<std::string>& topics) {
  std::unique_ptr<KafkaConsumer> consumer(new KafkaConsumer());
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const KafkaProperties settings = {
      {"group.id", group_id},
      // Offsets move only when the relay has published a message's outcome: at least once.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"session.timeout.ms", "6000"},
      {"heartbeat.interval.ms", "500"},
      // Every fxmesh consumer polls continuously, so 20 s between polls means it is stuck. It is
      // also how long a JoinGroup may go unanswered before the consumer gives up and joins again
      // (librdkafka's default, 300 s, left both relays of a bank-test seed outside their group for
      // a whole run after the embedded Kafka stalled during their first join).
      {"max.poll.interval.ms", "20000"},
      {"fetch.wait.max.ms", absl::StrCat(limits::kConsumerFetchWaitMs)},
      {"log_level", "3"},
  };
  if (absl::Status applied = ApplyClientConfig(conf, config, settings); !applied.ok()) {
    rd_kafka_conf_destroy(conf);
    return applied;
  }
  consumer->handle_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (consumer->handle_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(absl::StrCat("cannot create a Kafka consumer: ", error));
  }
  rd_kafka_poll_set_consumer(consumer->handle_);
  rd_kafka_topic_partition_list_t* subscription = rd_kafka_topic_partition_list_new(topics.size());
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(subscription, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer->handle_, subscription);
  rd_kafka_topic_partition_list_destroy(subscription);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot subscribe: ", rd_kafka_err2str(err)));
  }
  return consumer;
}

KafkaConsumer::~KafkaConsumer() {
  if (handle_ == nullptr) return;
  rd_kafka_consumer_close(handle_);
  rd_kafka_destroy(handle_);
}

std::optional<IncomingMessage> KafkaConsumer::Poll(absl::Duration timeout) {
  rd_kafka_message_t* message =
      rd_kafka_consumer_poll(handle_, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (message == nullptr) return std::nullopt;
  std::optional<IncomingMessage> incoming;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    IncomingMessage& m = incoming.emplace();
    m.topic = rd_kafka_topic_name(message->rkt);
    m.partition = message->partition;
    m.offset = message->offset;
    rd_kafka_timestamp_type_t timestamp_type;
    const int64_t timestamp_ms = rd_kafka_message_timestamp(message, &timestamp_type);
    if (timestamp_ms >= 0) m.created_at = absl::FromUnixMillis(timestamp_ms);
    if (message->key != nullptr)
      m.key.assign(static_cast<const char*>(message->key), message->key_len);
    if (message->payload != nullptr) {
      m.value.assign(static_cast<const char*>(message->payload), message->len);
    }
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        m.headers[name] =
            value == nullptr ? "" : std::string(static_cast<const char*>(value), size);
      }
    }
  } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    LogWarning("kafka consumer error").With("error", rd_kafka_message_errstr(message));
  }
  rd_kafka_message_destroy(message);
  return incoming;
}

absl::Status KafkaConsumer::Commit(const IncomingMessage& message) {
  PartitionList next(message.topic, message.partition, message.offset + 1);
  rd_kafka_resp_err_t err = rd_kafka_commit(handle_, next.list, /*async=*/0);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot commit offset: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<PartitionOffset>> KafkaConsumer::CommitAssigned(
    const std::vector<PartitionOffset>& offsets) {
  std::set<std::pair<std::string, int32_t>> assigned;
  rd_kafka_topic_partition_list_t* assignment = nullptr;
  if (!offsets.empty() && !rd_kafka_assignment_lost(handle_) &&
      rd_kafka_assignment(handle_, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < assignment->cnt; ++i)
      assigned.insert({assignment->elems[i].topic, assignment->elems[i].partition});
    rd_kafka_topic_partition_list_destroy(assignment);
  }
  std::vector<PartitionOffset> held;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
  for (const PartitionOffset& offset : offsets) {
    if (!assigned.contains({offset.topic, offset.partition})) {
      held.push_back(offset);
      continue;
    }
    rd_kafka_topic_partition_list_add(list, offset.topic.c_str(), offset.partition)->offset =
        offset.offset;
  }
  const rd_kafka_resp_err_t err =
      list->cnt == 0 ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_commit(handle_, list, /*async=*/0);
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot commit offsets: ", rd_kafka_err2str(err)));
  }
  return held;
}

absl::Status KafkaConsumer::PauseUntil(const IncomingMessage& message, absl::Time due) {
  auto [entry, fresh] = paused_.insert({{message.topic, message.partition}, Paused{}});
  entry->second.due = due;
  entry->second.offset = fresh ? message.offset : std::min(entry->second.offset, message.offset);
  entry->second.rewound = false;
  if (!PauseAndRewind(entry)) paused_.erase(entry);
  return absl::OkStatus();
}

bool KafkaConsumer::HoldIfPaused(const IncomingMessage& message) {
  auto entry = paused_.find({message.topic, message.partition});
  if (entry == paused_.end()) return false;
  entry->second.offset = std::min(entry->second.offset, message.offset);
  entry->second.rewound = false;
  if (!PauseAndRewind(entry)) paused_.erase(entry);
  return true;
}

bool KafkaConsumer::PauseAndRewind(PausedMap::iterator entry) {
  const auto& [topic, partition] = entry->first;
  PartitionList list(topic, partition);
  const rd_kafka_resp_err_t err = rd_kafka_pause_partitions(handle_, list.list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    LogWarning("cannot pause a partition")
        .With("topic", topic)
        .With("error", rd_kafka_err2str(err));
  }
  const absl::Status rewound = Rewind(topic, partition, entry->second.offset);
  // Revoked meanwhile: the next owner starts from the committed offset, at or before ours.
  if (absl::IsNotFound(rewound)) return false;
  if (rewound.ok()) {
    entry->second.rewound = true;
  } else {
    LogWarning("cannot rewind a paused partition yet; it stays paused until it can")
        .With("topic", topic)
        .With("partition", partition)
        .With("error", rewound);
  }
  return true;
}

void KafkaConsumer::ResumeDue(absl::Time now) {
  for (auto entry = paused_.begin(); entry != paused_.end();) {
    Paused& paused = entry->second;
    if (paused.due > now) {
      ++entry;
      continue;
    }
    if (!paused.rewound) {
      if (!PauseAndRewind(entry)) {
        entry = paused_.erase(entry);
        continue;
      }
      if (!paused.rewound) {
        paused.due = now + absl::Milliseconds(limits::kKafkaRewindRetryMs);
        ++entry;
        continue;
      }
    }
    absl::Status resumed = Resume(entry->first.first, entry->first.second);
    if (!resumed.ok()) LogWarning("cannot resume a partition").With("error", resumed);
    entry = paused_.erase(entry);
  }
}

absl::Status KafkaConsumer::Rewind(const std::string& topic, int32_t partition, int64_t offset) {
  PartitionList list(topic, partition, offset);
  rd_kafka_error_t* error =
      rd_kafka_seek_partitions(handle_, list.list, limits::kKafkaSeekTimeoutMs);
  if (error != nullptr) {
    std::string text = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    return absl::UnavailableError(absl::StrCat("cannot rewind: ", text));
  }
  const rd_kafka_resp_err_t err = list.list->elems[0].err;
  if (err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
    return absl::NotFoundError("the partition is no longer assigned to this consumer");
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat("cannot rewind: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status KafkaConsumer::Resume(const std::string& topic, int32_t partition) {
  PartitionList list(topic, partition);
  rd_kafka_resp_err_t err = rd_kafka_resume_partitions(handle_, list.list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("cannot resume: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

}  // namespace fxmesh::kafka
