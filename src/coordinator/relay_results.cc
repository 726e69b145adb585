#include "coordinator/relay_results.h"

#include <google/protobuf/util/json_util.h>

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

std::string Header(const kafka::IncomingMessage& message, const std::string& name) {
  auto it = message.headers.find(name);
  return it == message.headers.end() ? "" : it->second;
}

}  // namespace

v1::DeadLetter DecodeDeadLetter(const kafka::IncomingMessage& message, absl::Time now) {
  // Anything may sit in the topic: bytes that are not text never reach a proto string or a TEXT
  // column as they are.
  v1::DeadLetter dead_letter;
  dead_letter.set_saga_id(PrintableText(message.key, limits::kQuotedTextBytesMax));
  dead_letter.set_payload(PrintableText(message.value, limits::kDeadLetterPayloadBytesMax));
  v1::BranchCommand command;
  if (ParseProtoJson(message.value, command).ok()) *dead_letter.mutable_command() = command;
  dead_letter.set_error(
      PrintableText(Header(message, "fxmesh-error"), limits::kQuotedTextBytesMax));
  dead_letter.set_source_topic(
      PrintableText(Header(message, "fxmesh-source-topic"), limits::kQuotedTextBytesMax));
  int attempts = 0;
  if (absl::SimpleAtoi(Header(message, "fxmesh-attempts"), &attempts))
    dead_letter.set_attempts(attempts);
  dead_letter.set_partition(message.partition);
  dead_letter.set_offset(message.offset);
  *dead_letter.mutable_dead_lettered_at() = ToTimestamp(now);
  return dead_letter;
}

RelayResultConsumer::RelayResultConsumer(kafka::KafkaConsumer& consumer, RelayAnswerSink& sink,
                                         const Clock& clock, MetricsRegistry& metrics,
                                         Tracer* tracer)
    : consumer_(consumer),
      sink_(sink),
      clock_(clock),
      tracer_(tracer),
      handled_(metrics.AddCounter(
          "fxmesh_relay_results_total",
          "Messages from the relay (results, retry reports, dead letters) by topic and outcome: "
          "applied (late copies included), deferred (another driver held the saga, or the "
          "database was away: it comes back after a pause) or skipped (it can never apply).",
          {"topic", "outcome"})) {
  for (absl::string_view topic : {kafka::kBranchResultsTopic, kafka::kDeadLetterTopic}) {
    for (absl::string_view outcome : {"applied", "deferred", "skipped"})
      handled_.With({std::string(topic), std::string(outcome)});
  }
}

absl::StatusOr<bool> RelayResultConsumer::ConsumeOnce(absl::Duration poll) {
  consumer_.ResumeDue(clock_.Now());
  absl::Status status = absl::OkStatus();
  bool applied = false;
  // Those set aside that are due, once each: one set aside again goes to the back.
  for (size_t due = set_aside_.size(); due > 0 && set_aside_.front().due <= clock_.Now(); --due) {
    kafka::IncomingMessage message = std::move(set_aside_.front().message);
    set_aside_.pop_front();
    applied |= Handle(std::move(message), status);
  }
  std::optional<kafka::IncomingMessage> message = consumer_.Poll(
      set_aside_.empty() ? poll : std::min(poll, absl::Milliseconds(limits::kResultRetryMs / 5)));
  const bool idle = !message.has_value();
  // The first message, then what Kafka already has at hand, without waiting.
  std::vector<kafka::IncomingMessage> taken;
  while (message) {
    if (!consumer_.HoldIfPaused(*message)) {
      offsets_.Take(message->topic, message->partition, message->offset);
      taken.push_back(std::move(*message));
    }
    if (taken.size() >= limits::kResultsBatchMax) break;
    message = consumer_.Poll(absl::ZeroDuration());
  }
  applied |= HandleBatch(std::move(taken), status);
  status.Update(CommitApplied(/*now_anyway=*/idle));
  if (!status.ok()) return status;
  return applied;
}

bool RelayResultConsumer::HandleBatch(std::vector<kafka::IncomingMessage> messages,
                                      absl::Status& status) {
  // The results (not retry reports) of each saga, by position in `messages`.
  std::vector<v1::BranchResult> results(messages.size());
  std::map<std::string, std::vector<size_t>> by_saga;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].topic != kafka::kBranchResultsTopic) continue;
    if (!ParseProtoJson(messages[i].value, results[i]).ok() ||
        results[i].kind() == v1::RESULT_KIND_RETRYING) {
      continue;
    }
    by_saga[results[i].branch().saga_id()].push_back(i);
  }
  bool applied = false;
  std::vector<bool> done(messages.size(), false);
  for (const auto& [saga_id, indexes] : by_saga) {
    if (indexes.size() < 2) continue;
    std::vector<v1::BranchResult> together;
    for (size_t i : indexes) together.push_back(results[i]);
    std::optional<ScopedSpan> span;
    if (std::optional<TraceContext> parent =
            TraceContext::Parse(Header(messages[indexes.front()], "traceparent"))) {
      span.emplace(tracer_, "apply results", parent->trace_id, parent->span_id);
      span->SetAttribute("results", absl::StrCat(indexes.size()));
    }
    // Not applicable together (the saga is busy, one of them is malformed): each goes its own way
    // below, with its own verdict.
    if (!sink_.ApplyBranchResults(together).ok()) continue;
    for (size_t i : indexes) {
      handled_.With({messages[i].topic, "applied"}).Increment();
      offsets_.Finish(messages[i].topic, messages[i].partition, messages[i].offset);
      done[i] = true;
    }
    applied = true;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!done[i]) applied |= Handle(std::move(messages[i]), status);
  }
  return applied;
}

bool RelayResultConsumer::Handle(kafka::IncomingMessage message, absl::Status& status) {
  const absl::Status applied = Apply(message);
  const absl::Time retry_at = clock_.Now() + absl::Milliseconds(limits::kResultRetryMs);
  const bool busy = absl::IsAborted(applied);
  if (busy || absl::IsUnavailable(applied)) {
    handled_.With({message.topic, "deferred"}).Increment();
    if (busy && set_aside_.size() < limits::kResultsSetAsideMax) {
      // Another driver holds the saga, or moved it on mid-write: this one waits a moment aside,
      // still uncommitted, and the messages behind it go on.
      set_aside_.push_back({std::move(message), retry_at});
      return false;
    }
    // The database is away (everything behind it would wait too), or too many are set aside: the
    // partition is paused and rewound to this message, which comes back after the pause.
    offsets_.HandBack(message.topic, message.partition, message.offset);
    status.Update(consumer_.PauseUntil(message, retry_at));
    return false;
  }
  handled_.With({message.topic, applied.ok() ? "applied" : "skipped"}).Increment();
  if (!applied.ok()) {
    LogError("a message from the relay cannot be applied; skipped")
        .With("topic", message.topic)
        .With("partition", message.partition)
        .With("offset", message.offset)
        .With("saga_id", message.key)
        .With("error", applied);
  }
  offsets_.Finish(message.topic, message.partition, message.offset);
  return applied.ok();
}

absl::Status RelayResultConsumer::CommitApplied(bool now_anyway) {
  const absl::Time now = clock_.Now();
  if (!now_anyway && now - last_commit_ < absl::Milliseconds(limits::kResultCommitMs))
    return absl::OkStatus();
  last_commit_ = now;
  const std::vector<kafka::PartitionOffset> commits = offsets_.TakeCommits();
  absl::StatusOr<std::vector<kafka::PartitionOffset>> held = consumer_.CommitAssigned(commits);
  offsets_.Retry(held.ok() ? *held : commits);
  return held.status();
}

absl::Status RelayResultConsumer::Apply(const kafka::IncomingMessage& message) {
  // The span's parent is the relay's, from the message's traceparent.
  std::optional<TraceContext> parent = TraceContext::Parse(Header(message, "traceparent"));
  std::optional<ScopedSpan> span;
  if (parent) {
    span.emplace(tracer_,
                 message.topic == kafka::kDeadLetterTopic ? "apply dead letter" : "apply result",
                 parent->trace_id, parent->span_id);
  }
  if (message.topic == kafka::kDeadLetterTopic) {
    return sink_.ApplyDeadLetter(DecodeDeadLetter(message, clock_.Now()));
  }
  v1::BranchResult result;
  // A newer relay's fields are ignored (a rolling upgrade).
  if (absl::Status parsed = ParseProtoJson(message.value, result); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a BranchResult: ", parsed.message()));
  }
  return sink_.ApplyBranchResult(result);
}

}  // namespace fxmesh::coordinator
