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
// The message's offset is committed only after that outcome is published: at least once, made
// harmless by the ledgers' idempotency. Every log line about a command carries saga_id, branch,
// op and attempt; each command handled gets one line with its outcome and latency.
//
// Not thread-safe: one thread calls Step. Several relays in one consumer group share the work.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/participant_client.h"
#include "common/tracing.h"
#include "fxmesh/v1/relay.pb.h"
#include "kafka/consumer.h"
#include "kafka/producer.h"
#include "kafka/topics.h"

namespace fxmesh::relay {

struct RelayTier {
  std::string topic;
  absl::Duration delay;
};

struct RelayOptions {
  // Retry tiers in order; the defaults are kafka::kRetryTiers.
  std::vector<RelayTier> tiers;
  absl::Duration ledger_call_timeout = absl::Seconds(2);
};

// The default tiers of kafka::kRetryTiers.
std::vector<RelayTier> DefaultTiers();
// The topics a relay consumes: the commands topic and every tier of `options`.
std::vector<std::string> ConsumedTopics(const RelayOptions& options);

// The relay's metrics (docs/operations.md lists them all).
struct RelayMetrics {
  explicit RelayMetrics(MetricsRegistry& registry);
  Counter& commands;        // {op, outcome}: the ledger's outcome, "retry" or "dead_letter".
  Counter& retries;         // {tier}: commands moved to each retry tier.
  Counter& dead_letters;    // {reason}: "poison", "bad_op", "unknown_participant", "refused",
                            // "exhausted".
  Histogram& ledger_calls;  // {participant, op}: each ledger call's duration.
};

class Relay {
 public:
  // Everything passed in must outlive the relay. `participants` maps participant names to clients.
  Relay(kafka::KafkaConsumer& consumer, kafka::KafkaProducer& producer,
        std::map<std::string, ParticipantClient*> participants, const Clock& clock,
        RelayOptions options, MetricsRegistry& metrics, Tracer* tracer = nullptr);

  // Resumes partitions that became due, then handles at most one message, waiting up to `poll`
  // for it. Returns whether a message was handled. An error means the message's outcome could not
  // be published; the message is delivered again later.
  absl::StatusOr<bool> Step(absl::Duration poll);

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
  // `command` is `message` parsed.
  Handled Execute(const kafka::IncomingMessage& message, v1::BranchCommand command);
  // `kind` labels the dead-letter metric.
  Outcome DeadLetter(const kafka::IncomingMessage& message, absl::string_view kind,
                     const std::string& reason, int attempts);
  // Produces every outcome and waits until Kafka has them. An error: a required one is not
  // taken.
  absl::Status Publish(const kafka::IncomingMessage& message, const std::vector<Outcome>& outcomes);

  kafka::KafkaConsumer& consumer_;
  kafka::KafkaProducer& producer_;
  const std::map<std::string, ParticipantClient*> participants_;
  const Clock& clock_;
  const RelayOptions options_;
  const RelayMetrics metrics_;
  Tracer* const tracer_;
  int64_t next_token_ = 1;
};

}  // namespace fxmesh::relay
