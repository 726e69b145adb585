// The saga engine's metrics, shared by its parts (docs/operations.md lists them all).
#pragma once

#include "common/metrics.h"

namespace fxmesh::coordinator {

// Registers the metrics in the registry given; the registry must outlive them. Counting is
// thread-safe.
struct EngineMetrics {
  explicit EngineMetrics(MetricsRegistry& registry);
  Counter& sagas_finished;   // {state, reason}
  Histogram& saga_duration;  // {state}: creation to COMPLETED or CANCELLED.
  Counter& branch_calls;     // {participant, call, status}: answers, inline or through the relay.
  Counter& alerts;           // {alert}: "stuck", "inconsistency", "unreadable_saga".
};

}  // namespace fxmesh::coordinator
