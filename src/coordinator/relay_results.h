// Consumes what the relay sends back to the coordinator: BranchResults (fxmesh.branch.results)
// finish branches and sagas, and dead letters (fxmesh.branch.dlq) are recorded and shown on their
// saga. An offset is committed only once its message and every earlier one of its partition are
// applied (at least once; applying is idempotent), in one commit per limits::kResultCommitMs for
// every partition that moved. A message whose saga is busy (another driver holds it) is set aside
// and applied again after limits::kResultRetryMs while the messages behind it go on: answers about
// one saga do not depend on their order (a late one changes nothing). Up to
// limits::kResultsSetAsideMax are set aside; past that, and when the database is unreachable, the
// message's partition is paused and rewound to it instead. One that can never be applied (it does
// not parse, or names no saga) is logged and skipped. Messages are taken in batches of what Kafka
// has already fetched (up to limits::kResultsBatchMax), and the results about one saga in a batch
// (a saga's two Confirms, answered together) are recorded in one write. Not thread-safe: one
// consumer thread.
#pragma once

#include <deque>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/tracing.h"
#include "coordinator/relay_answer_sink.h"
#include "kafka/consumer.h"
#include "kafka/offset_tracker.h"

namespace fxmesh::coordinator {

// The consumer group of the coordinator replicas.
inline constexpr absl::string_view kCoordinatorGroup = "fxmesh-coordinator";

// A message of the dead-letter topic as the coordinator records it: key, payload and headers made
// printable and bounded (common/printable.h), the command parsed from the payload when it is one,
// and `now` as the time it was dead-lettered. A pure function of its inputs.
v1::DeadLetter DecodeDeadLetter(const kafka::IncomingMessage& message, absl::Time now);

class RelayResultConsumer {
 public:
  // `consumer` (subscribed to the results and dead-letter topics), `sink`, `clock`, `metrics` and
  // `tracer` (if not null: each message applied is a span) must outlive this.
  RelayResultConsumer(kafka::KafkaConsumer& consumer, RelayAnswerSink& sink, const Clock& clock,
                      MetricsRegistry& metrics, Tracer* tracer = nullptr);

  // Applies again the messages set aside that are due, handles the new messages Kafka has at
  // hand (waiting up to `poll` for the first, briefly while some are set aside), and commits what
  // is applied. Returns whether a message was applied.
  absl::StatusOr<bool> ConsumeOnce(absl::Duration poll);

 private:
  struct SetAside {
    kafka::IncomingMessage message;
    absl::Time due;
  };
  // Applies `message`, already taken by offsets_; sets it aside or hands it back when it cannot be
  // applied now. Returns whether it was applied; `status` gets a failure to pause.
  bool Handle(kafka::IncomingMessage message, absl::Status& status);
  // Handles `messages` (taken by offsets_): each saga's results among them in one write when
  // they apply together, everything else one by one with Handle. Returns whether any applied.
  bool HandleBatch(std::vector<kafka::IncomingMessage> messages, absl::Status& status);
  absl::Status Apply(const kafka::IncomingMessage& message);
  // Commits what moved, at most once per limits::kResultCommitMs unless `now_anyway`.
  absl::Status CommitApplied(bool now_anyway);

  kafka::KafkaConsumer& consumer_;
  RelayAnswerSink& sink_;
  const Clock& clock_;
  Tracer* const tracer_;
  Counter& handled_;  // {topic, outcome}: applied, deferred (comes back later) or skipped.
  kafka::OffsetTracker offsets_;
  std::deque<SetAside> set_aside_;  // In due order: each waits the same time.
  absl::Time last_commit_ = absl::InfinitePast();
};

}  // namespace fxmesh::coordinator
