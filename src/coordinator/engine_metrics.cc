#include "coordinator/engine_metrics.h"

namespace fxmesh::coordinator {

EngineMetrics::EngineMetrics(MetricsRegistry& registry)
    : sagas_finished(registry.AddCounter(
          "fxmesh_sagas_finished_total",
          "Sagas that reached COMPLETED or CANCELLED, by state and failure reason.",
          {"state", "reason"})),
      saga_duration(registry.AddHistogram(
          "fxmesh_saga_duration_seconds",
          "Time from a saga's creation to COMPLETED or CANCELLED, by final state.", {"state"},
          kLatencyBucketsSeconds)),
      branch_calls(registry.AddCounter(
          "fxmesh_branch_calls_total",
          "Answers to Try, Confirm and Cancel calls (sent inline or through the relay), by "
          "participant, call and the status recorded (UNKNOWN: no answer).",
          {"participant", "call", "status"})),
      alerts(registry.AddCounter("fxmesh_alerts_total",
                                 "Alerts raised: a saga found stuck, a ledger refusing a call the "
                                 "saga cannot accept (inconsistency), or a stored saga that "
                                 "cannot be read (unreadable_saga).",
                                 {"alert"})) {
  // Every alert has a sample from the start, so a dashboard tells 0 from missing.
  for (const char* alert : {"stuck", "inconsistency", "unreadable_saga"}) alerts.With({alert});
}

}  // namespace fxmesh::coordinator
