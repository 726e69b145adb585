// Consumer lag: how far a consumer group's committed offsets are behind the end of its topics.
// ARCHITECTURE.md §8 requires it to reach zero once faults stop; tests and operators check it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kafka/client_config.h"

namespace fxmesh::kafka {

// The sum over every partition of `topics` of (end offset − `group`'s committed offset); a
// partition the group never committed counts from its first offset. Does not join the group.
absl::StatusOr<int64_t> ConsumerGroupLag(const ClientConfig& config, const std::string& group,
                                         const std::vector<std::string>& topics,
                                         absl::Duration timeout);

}  // namespace fxmesh::kafka
