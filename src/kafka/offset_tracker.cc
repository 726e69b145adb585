#include "kafka/offset_tracker.h"

#include <algorithm>

namespace fxmesh::kafka {

void OffsetTracker::Take(const std::string& topic, int32_t partition, int64_t offset) {
  Partition& entry = partitions_[{topic, partition}];
  entry.handed_back.erase(entry.handed_back.begin(), entry.handed_back.upper_bound(offset));
  if (entry.in_flight.insert(offset).second) ++in_flight_;
}

void OffsetTracker::Finish(const std::string& topic, int32_t partition, int64_t offset) {
  Partition& entry = partitions_[{topic, partition}];
  if (entry.in_flight.erase(offset) > 0) --in_flight_;
  entry.after_finished = std::max(entry.after_finished, offset + 1);
}

void OffsetTracker::HandBack(const std::string& topic, int32_t partition, int64_t offset) {
  Partition& entry = partitions_[{topic, partition}];
  if (entry.in_flight.erase(offset) > 0) --in_flight_;
  entry.handed_back.insert(offset);
}

int64_t OffsetTracker::Committable(const Partition& partition) {
  int64_t committable = partition.after_finished;
  if (committable < 0) return -1;
  if (!partition.in_flight.empty())
    committable = std::min(committable, *partition.in_flight.begin());
  if (!partition.handed_back.empty())
    committable = std::min(committable, *partition.handed_back.begin());
  return committable;
}

std::vector<PartitionOffset> OffsetTracker::TakeCommits() {
  std::vector<PartitionOffset> commits;
  for (auto& [key, entry] : partitions_) {
    const int64_t committable = Committable(entry);
    if (committable < 0 || committable == entry.committed) continue;
    entry.committed = committable;
    commits.push_back({key.first, key.second, committable});
  }
  return commits;
}

void OffsetTracker::Retry(const std::vector<PartitionOffset>& commits) {
  for (const PartitionOffset& commit : commits) {
    auto entry = partitions_.find({commit.topic, commit.partition});
    if (entry != partitions_.end() && entry->second.committed == commit.offset)
      entry->second.committed = -1;
  }
}

}  // namespace fxmesh::kafka
