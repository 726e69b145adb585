#include "relay/relay_metrics.h"

#include "fxmesh/v1/ledger.pb.h"

namespace fxmesh::relay {

RelayMetrics::RelayMetrics(MetricsRegistry& registry)
    : commands(registry.AddCounter(
          "fxmesh_relay_commands_total",
          "Branch commands handled, by op and outcome: the ledger's answer (APPLIED, DUPLICATE, "
          "REJECTED, NULL_COMPENSATION), retry (moved to a tier) or dead_letter.",
          {"op", "outcome"})),
      retries(registry.AddCounter("fxmesh_relay_retries_total",
                                  "Commands moved to a retry tier, by tier topic.", {"tier"})),
      dead_letters(registry.AddCounter(
          "fxmesh_relay_dead_letters_total",
          "Messages sent to the dead-letter topic, by reason: poison (not a BranchCommand), "
          "bad_op, unknown_participant, refused (the ledger answered INVALID_ARGUMENT or "
          "FAILED_PRECONDITION), exhausted (no answer after the last tier).",
          {"reason"})),
      ledger_calls(
          registry.AddHistogram("fxmesh_relay_ledger_call_duration_seconds",
                                "Time of each Confirm or Cancel call to a ledger, answered or not.",
                                {"participant", "op"}, kLatencyBucketsSeconds)) {
  // Every known label value has a sample from the start, so a dashboard tells 0 from missing.
  for (const char* op : {"confirm", "cancel"}) {
    for (v1::Outcome outcome : {v1::OUTCOME_APPLIED, v1::OUTCOME_DUPLICATE, v1::OUTCOME_REJECTED,
                                v1::OUTCOME_NULL_COMPENSATION}) {
      commands.With({op, v1::Outcome_Name(outcome)});
    }
    for (const char* outcome : {"retry", "dead_letter"}) commands.With({op, outcome});
  }
  for (const char* reason : {"poison", "bad_op", "unknown_participant", "refused", "exhausted"})
    dead_letters.With({reason});
}

}  // namespace fxmesh::relay
