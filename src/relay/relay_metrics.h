// The relay's metrics, registered the same by the Kafka relay and the coordinator's in-process
// relay, so one dashboard reads either (docs/operations.md lists them all).
#pragma once

#include "common/metrics.h"

namespace fxmesh::relay {

struct RelayMetrics {
  explicit RelayMetrics(MetricsRegistry& registry);
  Counter& commands;        // {op, outcome}: the ledger's outcome, "retry" or "dead_letter".
  Counter& retries;         // {tier}: commands moved to each retry tier.
  Counter& dead_letters;    // {reason}: "poison", "bad_op", "unknown_participant", "refused",
                            // "exhausted".
  Histogram& ledger_calls;  // {participant, op}: each ledger call's duration.
};

}  // namespace fxmesh::relay
