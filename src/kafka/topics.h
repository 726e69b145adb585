// The Kafka topics of fxmesh (ARCHITECTURE.md §5), named in one place. Every message is keyed by
// saga id, so one saga's messages stay in order on one partition.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/limits.h"

namespace fxmesh::kafka {

inline constexpr absl::string_view kBranchCommandsTopic = "fxmesh.branch.commands";
// The relays' consumer group, unless they are started with another --group.
inline constexpr absl::string_view kRelayGroupDefault = "fxmesh-relay";
inline constexpr absl::string_view kBranchResultsTopic = "fxmesh.branch.results";
inline constexpr absl::string_view kDeadLetterTopic = "fxmesh.branch.dlq";
inline constexpr absl::string_view kSagaEventsTopic = "fxmesh.saga.events";

// Delay tiers for retries: a command that failed waits in the next tier's topic for its delay.
struct RetryTier {
  absl::string_view topic;
  int64_t delay_ms;
};
inline constexpr std::array<RetryTier, limits::kRelayTierDelaysMsDefault.size()> kRetryTiers = {{
    {"fxmesh.branch.retry.5s", limits::kRelayTierDelaysMsDefault[0]},
    {"fxmesh.branch.retry.30s", limits::kRelayTierDelaysMsDefault[1]},
    {"fxmesh.branch.retry.2m", limits::kRelayTierDelaysMsDefault[2]},
    {"fxmesh.branch.retry.10m", limits::kRelayTierDelaysMsDefault[3]},
}};
static_assert(limits::kRelayTierDelaysMsDefault ==
                  std::array<int64_t, 4>{5'000, 30'000, 120'000, 600'000},
              "each tier's topic names its delay: a new delay needs a new topic");

// Every topic above.
std::vector<std::string> AllTopics();

}  // namespace fxmesh::kafka
