#include "relay/relay.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "relay/command_policy.h"

namespace fxmesh::relay {

std::vector<std::string> ConsumedTopics(const RelayOptions& options) {
  std::vector<std::string> topics = {std::string(kafka::kBranchCommandsTopic)};
  for (const RelayTier& tier : options.tiers) topics.push_back(tier.topic);
  return topics;
}

Relay::Relay(kafka::KafkaConsumer& consumer, kafka::KafkaProducer& producer,
             std::map<std::string, ParticipantClient*> participants, const Clock& clock,
             RelayOptions options, MetricsRegistry& metrics, Tracer* tracer)
    : consumer_(consumer),
      producer_(producer),
      participants_(std::move(participants)),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics),
      tracer_(tracer) {
  for (const RelayTier& tier : options_.tiers) metrics_.retries.With({tier.topic});
}

Relay::~Relay() {
  // Waits for the ledger calls in flight (each ends by its deadline); their outcomes are not
  // published, so their messages are not committed and whoever owns their partitions next
  // executes them again.
  absl::MutexLock lock(&mu_);
  auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_in_flight_ == 0; };
  mu_.Await(absl::Condition(&answered));
}

absl::StatusOr<int> Relay::Step(absl::Duration poll) {
  consumer_.ResumeDue(clock_.Now());
  const int capacity = std::max(options_.in_flight_max, 1);
  absl::Status taken = absl::OkStatus();
  if (static_cast<int>(offsets_.InFlight()) < capacity) {
    // While commands are being executed, poll briefly so their outcomes are not kept waiting.
    // Then the messages already fetched are taken without waiting, while there is room: a
    // saga's Confirms and a burst of commands start together, not one per Step.
    absl::Duration wait = offsets_.InFlight() == 0
                              ? poll
                              : std::min(poll, absl::Milliseconds(limits::kRelayBusyPollMs));
    for (int polls = 0; polls < capacity && static_cast<int>(offsets_.InFlight()) < capacity;
         ++polls) {
      absl::StatusOr<bool> got = Take(wait);
      if (!got.ok()) {
        taken = got.status();
        break;
      }
      if (!*got) break;
      wait = absl::ZeroDuration();
    }
  } else {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](std::vector<Finished>* done) { return !done->empty(); }, &done_),
                         poll);
  }
  std::vector<Finished> done;
  {
    absl::MutexLock lock(&mu_);
    done.swap(done_);
  }
  const int finished = static_cast<int>(done.size());
  absl::Status status = Finish(std::move(done));
  status.Update(taken);
  if (!status.ok()) return status;
  return finished;
}

absl::StatusOr<bool> Relay::Take(absl::Duration poll) {
  std::optional<kafka::IncomingMessage> message = consumer_.Poll(poll);
  if (!message) return false;
  if (consumer_.HoldIfPaused(*message)) return true;

  // Parsed once: for its due time here, and for its execution.
  Finished work{std::move(*message), v1::BranchCommand(), {}, clock_.Now()};
  // A newer coordinator's fields are ignored (a rolling upgrade); what is not JSON of a command
  // at all is poison.
  const absl::Status parsed = ParseProtoJson(work.message.value, work.command);
  if (parsed.ok() && work.command.has_not_before()) {
    const absl::Time due = ToTime(work.command.not_before());
    if (due > clock_.Now()) {
      RETURN_IF_ERROR(consumer_.PauseUntil(work.message, due));
      return true;
    }
  }
  offsets_.Take(work.message.topic, work.message.partition, work.message.offset);
  if (!parsed.ok()) {
    work.handled.outcomes.push_back(
        DeadLetter(work.message, "poison",
                   absl::StrCat("not a BranchCommand: ",
                                PrintableText(parsed.message(), limits::kQuotedTextBytesMax)),
                   0));
    work.handled.label = "dead_letter";
    absl::MutexLock lock(&mu_);
    done_.push_back(std::move(work));
    return true;
  }
  Execute(std::move(work));
  return true;
}

absl::Status Relay::Finish(std::vector<Finished> done) {
  if (done.empty()) return absl::OkStatus();
  const std::vector<absl::Status> published = Publish(done);
  absl::Status status = absl::OkStatus();
  const absl::Time now = clock_.Now();
  for (size_t i = 0; i < done.size(); ++i) {
    const Finished& work = done[i];
    const kafka::IncomingMessage& message = work.message;
    if (!published[i].ok()) {
      DescribeCommand(LogWarning("cannot publish a command's outcome; it is handled again"),
                      work.command)
          .With("outcome", work.handled.label)
          .With("error", published[i]);
      // Not committed: rewound, so the message is handled again shortly.
      offsets_.HandBack(message.topic, message.partition, message.offset);
      status.Update(consumer_.PauseUntil(
          message, clock_.Now() + absl::Milliseconds(limits::kRelayUnpublishedPauseMs)));
      status.Update(published[i]);
      continue;
    }
    // One line per command handled: what became of it, how long this attempt took here, and how
    // long since its message was written (for a retry, that includes the tier's wait).
    DescribeCommand(LogInfo("command handled"), work.command)
        .With("outcome", work.handled.label)
        .With("handling_ms", absl::ToInt64Milliseconds(now - work.started))
        .With("latency_ms", message.created_at == absl::InfinitePast()
                                ? int64_t{-1}
                                : absl::ToInt64Milliseconds(now - message.created_at))
        .With("topic", message.topic)
        .With("offset", message.offset);
    offsets_.Finish(message.topic, message.partition, message.offset);
  }
  // One commit for every partition that moved: each up to its earliest message not finished.
  const std::vector<kafka::PartitionOffset> commits = offsets_.TakeCommits();
  absl::StatusOr<std::vector<kafka::PartitionOffset>> held = consumer_.CommitAssigned(commits);
  offsets_.Retry(held.ok() ? *held : commits);
  status.Update(held.status());
  return status;
}

void Relay::Execute(Finished work) {
  const v1::BranchCommand& command = work.command;
  auto participant = participants_.find(command.participant());
  if (std::optional<CommandFault> fault =
          CheckCommand(command, participant != participants_.end())) {
    work.handled = {{DeadLetter(work.message, fault->kind, fault->reason, command.attempt())},
                    "dead_letter"};
    absl::MutexLock lock(&mu_);
    done_.push_back(std::move(work));
    return;
  }
  // This attempt's span: the child of whoever sent the command (the coordinator, or the previous
  // attempt), the parent of the ledger call and of what the relay publishes. It belongs to no
  // thread: it ends when the last of this function and the answer's callback lets go of it.
  auto incoming = work.message.headers.find("traceparent");
  auto span = std::make_unique<ScopedSpan>(
      tracer_,
      absl::StrCat(command.op() == v1::BRANCH_OP_CONFIRM ? "Confirm " : "Cancel ",
                   command.branch().branch(), " attempt ", std::max(command.attempt(), 1)),
      command.branch().saga_id(),
      incoming == work.message.headers.end()
          ? ""
          : TraceContext::SpanIdIn(incoming->second, command.branch().saga_id()),
      ScopedSpan::Scope::kDetached);
  span->SetAttribute("participant", command.participant());
  v1::BranchRequest request;
  *request.mutable_branch() = command.branch();
  const bool confirm = command.op() == v1::BRANCH_OP_CONFIRM;
  const absl::Time deadline = clock_.Now() + options_.ledger_call_timeout;
  // The latency metric measures the real wait, whatever clock the logic reads.
  auto call = std::make_shared<Call>(Call{std::move(work), std::move(span), absl::Now()});
  {
    absl::MutexLock lock(&mu_);
    ++calls_in_flight_;
  }
  ParticipantClient::Done answered = [this, call](absl::StatusOr<v1::BranchResponse> response) {
    Finished& finished = call->work;
    finished.handled = Conclude(finished.message, finished.command, *call->span, response,
                                absl::Now() - call->called);
    absl::MutexLock lock(&mu_);
    done_.push_back(std::move(finished));
    --calls_in_flight_;
  };
  // The ledger call's own span is a child of this attempt's.
  AdoptSpan under(call->span.get());
  if (confirm) {
    participant->second->StartConfirm(request, deadline, std::move(answered));
  } else {
    participant->second->StartCancel(request, deadline, std::move(answered));
  }
}

Relay::Handled Relay::Conclude(const kafka::IncomingMessage& message,
                               const v1::BranchCommand& command, ScopedSpan& span,
                               const absl::StatusOr<v1::BranchResponse>& response,
                               absl::Duration took) {
  const bool confirm = command.op() == v1::BRANCH_OP_CONFIRM;
  const absl::string_view op_label = confirm ? "confirm" : "cancel";
  metrics_.ledger_calls.With({command.participant(), op_label})
      .Observe(absl::ToDoubleSeconds(took));
  const std::string reply_topic = command.reply_topic().empty()
                                      ? std::string(kafka::kBranchResultsTopic)
                                      : command.reply_topic();
  const Verdict verdict = Judge(command, response, options_.tiers, clock_.Now());
  metrics_.commands.With({op_label, verdict.label}).Increment();
  switch (verdict.kind) {
    case Verdict::Kind::kAnswered:
      span.SetAttribute("outcome", v1::Outcome_Name(response->outcome()));
      return {{Outcome{reply_topic, ProtoToJson(verdict.result), {}, span.traceparent()}},
              verdict.label};
    case Verdict::Kind::kDeadLetter: {
      span.SetStatus(response.status());
      Outcome dead = DeadLetter(message, verdict.fault.kind, verdict.fault.reason, verdict.attempt);
      dead.traceparent = span.traceparent();
      return {{dead}, verdict.label};
    }
    case Verdict::Kind::kRetry:
      break;
  }
  span.SetStatus(response.status());
  const RelayTier& tier = options_.tiers[verdict.tier];
  metrics_.retries.With({tier.topic}).Increment();
  DescribeCommand(LogInfo("command moved to a retry tier"), verdict.next)
      .With("tier", tier.topic)
      .With("due", absl::FormatTime(verdict.due))
      .With("error", verdict.error);
  span.SetAttribute("next_tier", tier.topic);
  Outcome report{reply_topic, ProtoToJson(verdict.result), {}, span.traceparent()};
  report.best_effort = true;
  return {
      {Outcome{tier.topic, ProtoToJson(verdict.next), {}, span.traceparent()}, std::move(report)},
      verdict.label};
}

Relay::Outcome Relay::DeadLetter(const kafka::IncomingMessage& message, absl::string_view kind,
                                 const std::string& reason, int attempts) {
  metrics_.dead_letters.With({kind}).Increment();
  // Best effort, for the log only: what of the command can be read names it; an unreadable one is
  // why it is here, and `reason` says so.
  v1::BranchCommand command;
  ParseProtoJson(message.value, command).IgnoreError();
  DescribeCommand(LogWarning("command sent to the dead letters"), command)
      .With("key", message.key)
      .With("source_topic", message.topic)
      .With("reason", reason);
  // The original bytes, untouched, so a replay sends exactly what was sent.
  return Outcome{std::string(kafka::kDeadLetterTopic),
                 message.value,
                 {{"fxmesh-error", reason},
                  {"fxmesh-attempts", absl::StrCat(attempts)},
                  {"fxmesh-source-topic", message.topic}}};
}

std::vector<absl::Status> Relay::Publish(const std::vector<Finished>& done) {
  std::vector<absl::Status> statuses(done.size());
  struct Waiting {
    size_t index;  // In `done`.
    const Outcome* outcome;
  };
  std::map<int64_t, Waiting> waiting;  // By delivery token.
  for (size_t i = 0; i < done.size(); ++i) {
    const kafka::IncomingMessage& message = done[i].message;
    for (const Outcome& outcome : done[i].handled.outcomes) {
      kafka::OutgoingMessage outgoing{outcome.topic, message.key, outcome.value,
                                      outcome.extra_headers, next_token_++};
      outgoing.headers.emplace_back("content-type", "application/json");
      auto traceparent = message.headers.find("traceparent");
      if (!outcome.traceparent.empty()) {
        outgoing.headers.emplace_back("traceparent", outcome.traceparent);
      } else if (traceparent != message.headers.end()) {
        outgoing.headers.emplace_back("traceparent", traceparent->second);
      }
      absl::Status produced = producer_.Produce(outgoing);
      if (produced.ok()) {
        waiting[outgoing.token] = {i, &outcome};
      } else if (!outcome.best_effort) {
        statuses[i].Update(produced);
      }
    }
  }
  // A real wait on Kafka's delivery reports, bounded in real time.
  const absl::Time give_up = absl::Now() + absl::Milliseconds(limits::kRelayPublishTimeoutMs);
  while (!waiting.empty() && absl::Now() < give_up) {
    for (const kafka::DeliveryReport& report :
         producer_.Poll(absl::Milliseconds(limits::kRelayDeliveryPollMs))) {
      auto found = waiting.find(report.token);
      if (found == waiting.end()) continue;
      if (!report.status.ok() && !found->second.outcome->best_effort)
        statuses[found->second.index].Update(report.status);
      waiting.erase(found);
    }
  }
  for (const auto& [token, unacknowledged] : waiting) {
    if (!unacknowledged.outcome->best_effort) {
      statuses[unacknowledged.index].Update(absl::UnavailableError(
          absl::StrCat("no acknowledgement from Kafka for ", unacknowledged.outcome->topic)));
    }
  }
  return statuses;
}

}  // namespace fxmesh::relay
