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
  int delay_ms;
};
inline constexpr std::array<RetryTier, 4> kRetryTiers = {{
    {"fxmesh.branch.retry.5s", 5'000},
    {"fxmesh.branch.retry.30s", 30'000},
    {"fxmesh.branch.retry.2m", 120'000},
    {"fxmesh.branch.retry.10m", 600'000},
}};
static_assert(kRetryTiers[0].delay_ms == limits::kRelayFirstTierDelayMsDefault,
              "the coordinator expects the first word on a command after the first tier");

// Every topic above.
std::vector<std::string> AllTopics();

}  // namespace fxmesh::kafka
