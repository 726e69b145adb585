#include "relay/relay.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace fxmesh::relay {
namespace {

std::string ToJson(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

}  // namespace

std::vector<RelayTier> DefaultTiers() {
  std::vector<RelayTier> tiers;
  for (const kafka::RetryTier& tier : kafka::kRetryTiers) {
    tiers.push_back({std::string(tier.topic), absl::Milliseconds(tier.delay_ms)});
  }
  return tiers;
}

std::vector<std::string> ConsumedTopics(const RelayOptions& options) {
  std::vector<std::string> topics = {std::string(kafka::kBranchCommandsTopic)};
  for (const RelayTier& tier : options.tiers) topics.push_back(tier.topic);
  return topics;
}

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
          "bad_op, unknown_participant, exhausted (no answer after the last tier).",
          {"reason"})),
      ledger_calls(
          registry.AddHistogram("fxmesh_relay_ledger_call_duration_seconds",
                                "Time of each Confirm or Cancel call to a ledger, answered or not.",
                                {"participant", "op"}, kLatencyBucketsSeconds)) {}

Relay::Relay(kafka::KafkaConsumer& consumer, kafka::KafkaProducer& producer,
             std::map<std::string, ParticipantClient*> participants, const Clock& clock,
             RelayOptions options, MetricsRegistry& metrics, Tracer* tracer)
    : consumer_(consumer),
      producer_(producer),
      participants_(std::move(participants)),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics),
      tracer_(tracer) {}

absl::StatusOr<bool> Relay::Step(absl::Duration poll) {
  consumer_.ResumeDue(clock_.Now());
  std::optional<kafka::IncomingMessage> message = consumer_.Poll(poll);
  if (!message) return false;
  if (consumer_.HoldIfPaused(*message)) return true;

  // Parsed once: for its due time here, and for its execution.
  v1::BranchCommand command;
  const absl::Status parsed = [&]() -> absl::Status {
    auto status = google::protobuf::util::JsonStringToMessage(message->value, &command);
    if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
    return absl::OkStatus();
  }();
  if (parsed.ok() && command.has_not_before()) {
    const absl::Time due = ToTime(command.not_before());
    if (due > clock_.Now()) {
      RETURN_IF_ERROR(consumer_.PauseUntil(*message, due));
      return true;
    }
  }
  Outcome outcome = parsed.ok()
                        ? Execute(*message, std::move(command))
                        : DeadLetter(*message, "poison",
                                     absl::StrCat("not a BranchCommand: ", parsed.message()), 0);
  absl::Status published = Publish(*message, outcome);
  if (!published.ok()) {
    // Not committed: rewind so the message is handled again shortly.
    RETURN_IF_ERROR(consumer_.PauseUntil(*message, clock_.Now() + absl::Seconds(1)));
    return published;
  }
  RETURN_IF_ERROR(consumer_.Commit(*message));
  return true;
}

Relay::Outcome Relay::Execute(const kafka::IncomingMessage& message, v1::BranchCommand command) {
  if (command.op() != v1::BRANCH_OP_CONFIRM && command.op() != v1::BRANCH_OP_CANCEL) {
    return DeadLetter(message, "bad_op", "op must be BRANCH_OP_CONFIRM or BRANCH_OP_CANCEL",
                      command.attempt());
  }
  auto participant = participants_.find(command.participant());
  if (participant == participants_.end()) {
    return DeadLetter(message, "unknown_participant",
                      absl::StrCat("unknown participant '", command.participant(), "'"),
                      command.attempt());
  }
  // This attempt's span: the child of whoever sent the command (the coordinator, or the previous
  // attempt), the parent of the ledger call and of what the relay publishes.
  auto incoming = message.headers.find("traceparent");
  ScopedSpan span(
      tracer_,
      absl::StrCat(command.op() == v1::BRANCH_OP_CONFIRM ? "Confirm " : "Cancel ",
                   command.branch().branch(), " attempt ", std::max(command.attempt(), 1)),
      command.branch().saga_id(),
      incoming == message.headers.end()
          ? ""
          : TraceContext::SpanIdIn(incoming->second, command.branch().saga_id()));
  span.SetAttribute("participant", command.participant());
  v1::BranchRequest request;
  *request.mutable_branch() = command.branch();
  const absl::Time deadline = clock_.Now() + options_.ledger_call_timeout;
  const bool confirm = command.op() == v1::BRANCH_OP_CONFIRM;
  const absl::Time called = absl::Now();
  absl::StatusOr<v1::BranchResponse> response =
      confirm ? participant->second->Confirm(request, deadline)
              : participant->second->Cancel(request, deadline);
  const absl::string_view op_label = confirm ? "confirm" : "cancel";
  metrics_.ledger_calls.With({command.participant(), op_label})
      .Observe(absl::ToDoubleSeconds(absl::Now() - called));
  const int attempt = std::max(command.attempt(), 1);
  if (response.ok()) {
    v1::BranchResult result;
    *result.mutable_branch() = command.branch();
    result.set_participant(command.participant());
    result.set_op(command.op());
    result.set_attempt(attempt);
    result.set_outcome(response->outcome());
    result.set_reason(response->reason());
    result.set_detail(response->detail());
    *result.mutable_executed_at() = ToTimestamp(clock_.Now());
    std::string outcome = v1::Outcome_Name(response->outcome());
    if (absl::StartsWith(outcome, "OUTCOME_")) outcome.erase(0, std::string("OUTCOME_").size());
    metrics_.commands.With({op_label, outcome}).Increment();
    span.SetAttribute("outcome", v1::Outcome_Name(response->outcome()));
    return Outcome{command.reply_topic().empty() ? std::string(kafka::kBranchResultsTopic)
                                                 : command.reply_topic(),
                   ToJson(result),
                   {},
                   span.traceparent()};
  }
  // No answer: the next tier, or the dead letters after the last one. Attempt n waits in tier n.
  const std::string error = response.status().ToString();
  span.SetStatus(response.status());
  if (attempt > static_cast<int>(options_.tiers.size())) {
    metrics_.commands.With({op_label, "dead_letter"}).Increment();
    Outcome dead =
        DeadLetter(message, "exhausted",
                   absl::StrCat("gave up after ", attempt, " attempts: ", error), attempt);
    dead.traceparent = span.traceparent();
    return dead;
  }
  const RelayTier& tier = options_.tiers[attempt - 1];
  command.set_attempt(attempt + 1);
  command.set_last_error(error);
  *command.mutable_not_before() = ToTimestamp(clock_.Now() + tier.delay);
  metrics_.commands.With({op_label, "retry"}).Increment();
  metrics_.retries.With({tier.topic}).Increment();
  LogInfo("command moved to a retry tier")
      .With("saga_id", command.branch().saga_id())
      .With("trace_id", command.branch().saga_id())
      .With("tier", tier.topic)
      .With("attempt", attempt + 1)
      .With("error", error);
  span.SetAttribute("next_tier", tier.topic);
  return Outcome{tier.topic, ToJson(command), {}, span.traceparent()};
}

Relay::Outcome Relay::DeadLetter(const kafka::IncomingMessage& message, absl::string_view kind,
                                 const std::string& reason, int attempts) {
  metrics_.dead_letters.With({kind}).Increment();
  LogWarning("command sent to the dead letters")
      .With("saga_id", message.key)
      .With("source_topic", message.topic)
      .With("reason", reason);
  // The original bytes, untouched, so a replay sends exactly what was sent.
  return Outcome{std::string(kafka::kDeadLetterTopic),
                 message.value,
                 {{"fxmesh-error", reason},
                  {"fxmesh-attempts", absl::StrCat(attempts)},
                  {"fxmesh-source-topic", message.topic}}};
}

absl::Status Relay::Publish(const kafka::IncomingMessage& message, const Outcome& outcome) {
  kafka::OutgoingMessage outgoing{outcome.topic, message.key, outcome.value, outcome.extra_headers,
                                  next_token_++};
  outgoing.headers.emplace_back("content-type", "application/json");
  auto traceparent = message.headers.find("traceparent");
  if (!outcome.traceparent.empty()) {
    outgoing.headers.emplace_back("traceparent", outcome.traceparent);
  } else if (traceparent != message.headers.end()) {
    outgoing.headers.emplace_back("traceparent", traceparent->second);
  }
  RETURN_IF_ERROR(producer_.Produce(outgoing));
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    for (const kafka::DeliveryReport& report : producer_.Poll(absl::Milliseconds(50))) {
      if (report.token == outgoing.token) return report.status;
    }
  }
  return absl::UnavailableError(absl::StrCat("no acknowledgement from Kafka for ", outcome.topic));
}

}  // namespace fxmesh::relay
