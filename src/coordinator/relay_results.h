// Consumes what the relay sends back to the coordinator: BranchResults (fxmesh.branch.results)
// finish branches and sagas, and dead letters (fxmesh.branch.dlq) are recorded and shown on their
// saga. An offset is committed only once its message is applied (at least once; applying is
// idempotent). A message that cannot be applied yet, because another driver holds its saga or the
// database is unreachable, pauses its partition and comes back after limits::kResultRetryMs; one
// that can never be applied (it does not parse, or names no saga) is logged and skipped. Not
// thread-safe: one consumer thread.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "coordinator/saga_engine.h"
#include "kafka/consumer.h"

namespace fxmesh::coordinator {

// The consumer group of the coordinator replicas.
inline constexpr absl::string_view kCoordinatorGroup = "fxmesh-coordinator";

// A message of the dead-letter topic as the coordinator records it: key, payload and headers made
// printable and bounded (common/printable.h), the command parsed from the payload when it is one,
// and `now` as the time it was dead-lettered. A pure function of its inputs.
v1::DeadLetter DecodeDeadLetter(const kafka::IncomingMessage& message, absl::Time now);

class RelayResultConsumer {
 public:
  // `consumer` (subscribed to the results and dead-letter topics), `engine`, `clock`, `metrics` and
  // `tracer` (if not null: each message applied is a span) must outlive this.
  RelayResultConsumer(kafka::KafkaConsumer& consumer, SagaEngine& engine, const Clock& clock,
                      MetricsRegistry& metrics, Tracer* tracer = nullptr);

  // Handles at most one message, waiting up to `poll` for it. Returns whether one was applied.
  absl::StatusOr<bool> ConsumeOnce(absl::Duration poll);

 private:
  absl::Status Apply(const kafka::IncomingMessage& message);

  kafka::KafkaConsumer& consumer_;
  SagaEngine& engine_;
  const Clock& clock_;
  Tracer* const tracer_;
  Counter& handled_;  // {topic, outcome}: applied, deferred (comes back later) or skipped.
};

}  // namespace fxmesh::coordinator
