// Which offsets a consumer may commit when it works on several messages of a partition at once.
// Kafka keeps one committed offset per partition: "everything before this is done". A message
// finished out of order therefore moves nothing until every earlier one taken in the same
// partition is finished too; committing past one still being worked on would let a restarted or
// rebalanced consumer skip it.
//
// Per partition, the tracker knows the offsets taken and not yet finished (in flight), the offsets
// handed back to be delivered again (their outcome could not be published), and the offset after
// the highest one finished. A partition's committable offset is the lowest of those. Not
// thread-safe: the consumer's polling thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fxmesh::kafka {

struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;  // The next offset to read: everything before it is done.
};

class OffsetTracker {
 public:
  // A message taken to work on. An offset handed back before and delivered again is in flight once
  // more; offsets handed back but below `offset` were passed by a fetch that started after them (a
  // rebalance moved the partition on: another member finished them), so they are forgotten.
  void Take(const std::string& topic, int32_t partition, int64_t offset);
  // The message's work is done (its outcome is published).
  void Finish(const std::string& topic, int32_t partition, int64_t offset);
  // The message's work must be done again: it holds its partition's commits back until it is
  // delivered again and finished.
  void HandBack(const std::string& topic, int32_t partition, int64_t offset);

  // The partitions whose committable offset moved since they were last taken here, with it. A
  // failed commit is put back with Retry.
  std::vector<PartitionOffset> TakeCommits();
  void Retry(const std::vector<PartitionOffset>& commits);

  // Messages in flight, over every partition.
  size_t InFlight() const { return in_flight_; }

 private:
  struct Partition {
    std::set<int64_t> in_flight;
    std::set<int64_t> handed_back;
    int64_t after_finished = -1;  // -1: nothing finished yet.
    int64_t committed = -1;       // What TakeCommits last returned.
  };
  // The offset everything before which is done; -1 when unknown (nothing finished yet).
  static int64_t Committable(const Partition& partition);

  std::map<std::pair<std::string, int32_t>, Partition> partitions_;
  size_t in_flight_ = 0;
};

}  // namespace fxmesh::kafka
