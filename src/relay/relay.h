// The relay: executes branch commands (Confirm/Cancel) from Kafka against the ledgers, off the
// customer's path (ARCHITECTURE.md §5).
//
// For each message on fxmesh.branch.commands or a retry tier:
//   - not parseable, or naming an unknown participant → the dead-letter topic, with the reason in
//     the header fxmesh-error; the relay moves on.
//   - not due yet (not_before in the future) → its partition is paused and rewound to it, and
//     resumed when it is due; no thread sleeps.
//   - executed: a business answer (applied, duplicate, rejected, null compensation) → a
//     BranchResult on the reply topic; a ledger that refuses the request itself (INVALID_ARGUMENT,
//     FAILED_PRECONDITION: a "no", which no retry changes) → the dead-letter topic at once, with
//     that status; a ledger that may not have seen it (down, timeout) → the next retry tier with
//     attempt + 1 and not_before = now + the tier's delay, and a RESULT_KIND_RETRYING report on
//     the reply topic saying when that attempt is due (so the coordinator knows when it should
//     hear about the command next); after the last tier → the dead-letter topic with the last
//     error.
// Up to RelayOptions::in_flight_max commands are executed at once, each through the participant
// client's asynchronous call: no thread waits on a ledger, and one slow ledger call does not hold
// up the commands behind it. Answers arrive on the transport's threads and are handed to Step. A
// message's offset is committed only after its outcome is published and every earlier message taken
// from its partition is finished too (kafka/offset_tracker.h): at least once, made harmless by the
// ledgers' idempotency. Every log line about a command carries saga_id, branch, op and attempt;
// each command handled gets one line with its outcome and latency.
//
// Not thread-safe: one thread calls Step (and only that thread touches Kafka). Several relays in
// one consumer group share the work.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/participant_client.h"
#include "common/tracing.h"
#include "fxmesh/v1/relay.pb.h"
#include "kafka/consumer.h"
#include "kafka/offset_tracker.h"
#include "kafka/producer.h"
#include "kafka/topics.h"
#include "relay/command_policy.h"
#include "relay/relay_metrics.h"

namespace fxmesh::relay {

struct RelayOptions {
  // Retry tiers in order; the defaults are kafka::kRetryTiers.
  std::vector<RelayTier> tiers;
  absl::Duration ledger_call_timeout = absl::Milliseconds(limits::kLedgerCallTimeoutMs);
  // Commands executed at once.
  int in_flight_max = limits::kRelayCommandsInFlightMax;
};

// The topics a relay consumes: the commands topic and every tier of `options`.
std::vector<std::string> ConsumedTopics(const RelayOptions& options);

class Relay {
 public:
  // Everything passed in must outlive the relay. `participants` maps participant names to clients.
  Relay(kafka::KafkaConsumer& consumer, kafka::KafkaProducer& producer,
        std::map<std::string, ParticipantClient*> participants, const Clock& clock,
        RelayOptions options, MetricsRegistry& metrics, Tracer* tracer = nullptr);
  // Waits for the commands being executed; their outcomes are not published (their messages are
  // delivered again to whoever owns their partitions next).
  ~Relay();

  // Resumes partitions that became due; takes new messages while there is room and Kafka has them
  // at hand (waiting up to `poll` for the first when nothing is in flight, briefly otherwise, and
  // not at all for the rest) and starts executing them; then publishes the
  // outcome of every command whose execution has ended, and commits what is finished. Returns how
  // many commands were finished. An error means an outcome could not be published (its message
  // is delivered again later) or the commit failed (it is tried again at the next Step).
  absl::StatusOr<int> Step(absl::Duration poll);

 private:
  struct Outcome {
    std::string topic;
    std::string value;
    std::vector<std::pair<std::string, std::string>> extra_headers;
    // The traceparent to send on; empty: the incoming message's.
    std::string traceparent;
    // A hint whose loss costs nothing but time (a tier-move report): the message is committed
    // even if Kafka does not take it.
    bool best_effort = false;
  };
  // What a command led to: the messages to publish, and what to log and count.
  struct Handled {
    std::vector<Outcome> outcomes;
    std::string label;  // The ledger's outcome, "retry" or "dead_letter".
  };
  // A message taken, and once its execution has ended, what it led to.
  struct Finished {
    kafka::IncomingMessage message;
    v1::BranchCommand command;  // `message` parsed.
    Handled handled;
    absl::Time started;
  };
  // Polls for a message and starts executing it, or pauses its partition until it is due.
  // Returns whether Kafka gave one.
  absl::StatusOr<bool> Take(absl::Duration poll);
  // Publishes what `done` led to, then commits what is finished.
  absl::Status Finish(std::vector<Finished> done);
  // A ledger call in flight: the command, and the span of this attempt (detached: it ends on the
  // thread the answer arrives on).
  struct Call {
    Finished work;
    std::unique_ptr<ScopedSpan> span;
    absl::Time called;  // Real time, for the latency metric.
  };
  // Starts the ledger call `work.command` asks for; its answer is judged by Conclude and queued for
  // Finish. A command that cannot be executed is queued at once as a dead letter.
  void Execute(Finished work);
  // What the ledger's `response` to `command` (the parsed `message`) leads to. On the thread the
  // answer arrives on.
  Handled Conclude(const kafka::IncomingMessage& message, const v1::BranchCommand& command,
                   ScopedSpan& span, const absl::StatusOr<v1::BranchResponse>& response,
                   absl::Duration took);
  // `kind` labels the dead-letter metric.
  Outcome DeadLetter(const kafka::IncomingMessage& message, absl::string_view kind,
                     const std::string& reason, int attempts);
  // Produces every outcome of `done` and waits until Kafka has them. For each of `done`, an error
  // when a required outcome was not taken.
  std::vector<absl::Status> Publish(const std::vector<Finished>& done);

  kafka::KafkaConsumer& consumer_;
  kafka::KafkaProducer& producer_;
  const std::map<std::string, ParticipantClient*> participants_;
  const Clock& clock_;
  const RelayOptions options_;
  const RelayMetrics metrics_;
  Tracer* const tracer_;
  int64_t next_token_ = 1;
  kafka::OffsetTracker offsets_;  // The polling thread's.
  absl::Mutex mu_;
  std::vector<Finished> done_ ABSL_GUARDED_BY(mu_);  // Executed, not yet published.
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;     // Started, not yet answered.
};

}  // namespace fxmesh::relay
