// A Kafka consumer-group member for fxmesh's relays: offsets are committed only when the caller
// says so (after it has published the message's outcome), and a partition can be paused and
// rewound to a message that is not due yet, so delays never put a thread to sleep. Not
// thread-safe: one thread polls.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kafka/client_config.h"
#include "kafka/offset_tracker.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace fxmesh::kafka {

struct IncomingMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  // When the producer created the message (its Kafka timestamp); InfinitePast if unknown.
  absl::Time created_at = absl::InfinitePast();
};

class KafkaConsumer {
 public:
  // Connects as `config` says, joins `group_id` and subscribes to `topics`; a new group starts
  // from the earliest offsets. INVALID_ARGUMENT for a bad property, with librdkafka's message.
  static absl::StatusOr<std::unique_ptr<KafkaConsumer>> Create(
      const ClientConfig& config, const std::string& group_id,
      const std::vector<std::string>& topics);
  // Leaves the group cleanly (its partitions go to the other members at once).
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // The next message, or nullopt when none arrived within `timeout`.
  std::optional<IncomingMessage> Poll(absl::Duration timeout);
  // Commits `message` as processed: the group resumes after it.
  absl::Status Commit(const IncomingMessage& message);
  // Commits, in one request, the offsets (each the next one to read) of the partitions assigned
  // here now, and returns the others uncommitted: their partitions are being rebalanced or have
  // moved on. Nothing is sent while the assignment is lost: a commit with the generation the
  // client left behind is refused, and each refusal makes the client start its rejoin again, so
  // retrying commits during a rejoin would keep the consumer out of its group for good.
  absl::StatusOr<std::vector<PartitionOffset>> CommitAssigned(
      const std::vector<PartitionOffset>& offsets);
  // Stops fetching `message`'s partition and rewinds it to `message`, which is delivered again
  // once `due` has passed and ResumeDue was called. A rewind that cannot finish now (the
  // partition's broker is slow or away) is retried by ResumeDue, which keeps the partition paused
  // until it succeeds: resuming without it would deliver the messages after `message` and let
  // their commits skip it.
  absl::Status PauseUntil(const IncomingMessage& message, absl::Time due);
  // Resumes every partition paused until `now` or earlier whose rewind has succeeded.
  void ResumeDue(absl::Time now);
  // Whether `message` came from a paused partition; if so it must not be processed. It was either
  // fetched before the pause took effect, or delivered because a rebalance handed the partition
  // back unpaused from its committed offset. Either way the partition is paused again and rewound
  // to the earliest message not processed yet, so no later message is processed (and committed)
  // before it.
  bool HoldIfPaused(const IncomingMessage& message);

 private:
  KafkaConsumer() = default;
  // Seeks a partition to `offset`. NOT_FOUND: the partition is no longer assigned here.
  absl::Status Rewind(const std::string& topic, int32_t partition, int64_t offset);
  absl::Status Resume(const std::string& topic, int32_t partition);

  rd_kafka_t* handle_ = nullptr;
  struct Paused {
    absl::Time due;
    // The earliest offset of the partition not processed yet, where fetching must resume.
    int64_t offset = 0;
    // Whether the partition was rewound to `offset` since it last had to be.
    bool rewound = false;
  };
  using PausedMap = std::map<std::pair<std::string, int32_t>, Paused>;
  // Pauses the partition of `entry` and rewinds it to its offset. False when the partition is no
  // longer assigned here (the entry is then to be forgotten).
  bool PauseAndRewind(PausedMap::iterator entry);
  // Paused partitions, by (topic, partition).
  PausedMap paused_;
};

}  // namespace fxmesh::kafka
