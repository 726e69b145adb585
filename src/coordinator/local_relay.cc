#include "coordinator/local_relay.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

absl::string_view OpLabel(v1::BranchOp op) {
  return op == v1::BRANCH_OP_CONFIRM ? "confirm" : "cancel";
}

}  // namespace

LocalRelay::LocalRelay(OutboxStore& store, RelayAnswerSink& sink,
                       std::map<std::string, ParticipantClient*> participants, const Clock& clock,
                       LocalRelayOptions options, MetricsRegistry& metrics, Tracer* tracer)
    : store_(store),
      sink_(sink),
      participants_(std::move(participants)),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics),
      tracer_(tracer),
      workers_(std::make_unique<Executor>("local-relay", std::max(options_.in_flight_max, 1),
                                          std::max(options_.in_flight_max, 1))) {
  for (const relay::RelayTier& tier : options_.tiers) metrics_.retries.With({tier.topic});
}

LocalRelay::~LocalRelay() { workers_.reset(); }

absl::Status LocalRelay::CheckRole() {
  const absl::Time now = clock_.Now();
  if (now < next_role_check_) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool held,
                   store_.ClaimRole(kOutboxPublisherRole, options_.owner, now,
                                    now + absl::Milliseconds(limits::kOutboxPublisherLeaseMs)));
  next_role_check_ = now + absl::Milliseconds(limits::kOutboxPublisherRenewMs);
  if (held != draining_) {
    LogInfo(held ? "this replica settles the outbox's commands now (in process, no Kafka)"
                 : "another replica settles the outbox's commands now; this one stands by")
        .With("replica_id", options_.owner);
  }
  draining_ = held;
  return absl::OkStatus();
}

absl::StatusOr<int> LocalRelay::Step() {
  // Without an answer about the role (the database is away) the last one stands.
  absl::Status status = CheckRole();
  if (draining_) status.Update(TakeOutbox());
  const absl::Time now = clock_.Now();

  std::vector<Answer> again;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = set_aside_.begin(); it != set_aside_.end();) {
      if (it->retry_at > now) {
        ++it;
        continue;
      }
      again.push_back(std::move(*it));
      it = set_aside_.erase(it);
    }
  }
  for (Answer& answer : again) {
    if (!Apply(answer)) SetAside(std::move(answer));
  }

  // The due commands, a saga's together, for sagas none of whose commands is running.
  std::map<std::string, std::vector<Held>> batches;
  {
    absl::MutexLock lock(&mu_);
    const size_t room = static_cast<size_t>(std::max(options_.in_flight_max, 1));
    for (auto it = held_.begin(); it != held_.end() && it->first <= now;) {
      const std::string& saga_id = it->second.command.branch().saga_id();
      const bool joins = batches.count(saga_id) > 0;
      if (sagas_running_.count(saga_id) > 0 ||
          (!joins && sagas_running_.size() + batches.size() >= room)) {
        ++it;
        continue;
      }
      batches[saga_id].push_back(std::move(it->second));
      it = held_.erase(it);
    }
    for (const auto& [saga_id, commands] : batches) sagas_running_.insert(saga_id);
  }
  int started = 0;
  for (auto& [saga_id, commands] : batches) {
    started += static_cast<int>(commands.size());
    // The workers are as many as the sagas running may be, so the queue always has room.
    const bool submitted = workers_->Submit(
        [this, commands = std::move(commands)]() mutable { Execute(std::move(commands)); });
    if (!submitted) status.Update(absl::InternalError("the local relay's workers refused work"));
  }
  if (!status.ok()) return status;
  return started;
}

absl::Status LocalRelay::TakeOutbox() {
  {
    absl::MutexLock lock(&mu_);
    if (held_.size() >= static_cast<size_t>(limits::kLocalRelayCommandsHeldMax))
      return absl::OkStatus();  // The rest waits in the outbox.
  }
  ASSIGN_OR_RETURN(std::vector<OutboxMessage> rows,
                   store_.ListUnsentOutbox(0, limits::kOutboxBatchMax));
  const absl::Time now = clock_.Now();
  for (const OutboxMessage& row : rows) {
    if (!unmarked_.insert(row.outbox_id).second) continue;  // Taken; its mark failed.
    // A saga event has no consumer without Kafka; the saga's step log keeps its history.
    if (row.topic != kafka::kBranchCommandsTopic) continue;
    v1::BranchCommand command;
    if (absl::Status parsed = ParseProtoJson(row.payload, command); !parsed.ok()) {
      Answer poison = Poison(row, parsed);
      if (!Apply(poison)) SetAside(std::move(poison));
      continue;
    }
    const absl::Time due =
        command.has_not_before() ? std::max(now, ToTime(command.not_before())) : now;
    absl::MutexLock lock(&mu_);
    held_.emplace(due, Held{std::move(command), row.outbox_id, row.traceparent, due});
  }
  if (unmarked_.empty()) return absl::OkStatus();
  const std::vector<int64_t> taken(unmarked_.begin(), unmarked_.end());
  absl::Status marked = store_.MarkOutboxSent(taken, now);
  if (marked.ok()) unmarked_.clear();
  return marked;
}

void LocalRelay::Execute(std::vector<Held> commands) {
  const std::string saga_id = commands.front().command.branch().saga_id();
  // Every command of the saga is sent at once through the clients' asynchronous calls (they answer
  // on their transport's threads, not on a thread per call), then the answers are judged together.
  struct Answers {
    absl::Mutex mu;
    std::vector<absl::StatusOr<v1::BranchResponse>> responses ABSL_GUARDED_BY(mu);
    std::vector<absl::Duration> took ABSL_GUARDED_BY(mu);
    size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  auto answers = std::make_shared<Answers>();
  {
    absl::MutexLock lock(&answers->mu);
    answers->responses.assign(commands.size(), absl::UnknownError("not sent"));
    answers->took.assign(commands.size(), absl::ZeroDuration());
  }
  std::vector<std::optional<relay::CommandFault>> faults(commands.size());
  // Each attempt's span, the parent of its ledger call; spans nest on this thread, so they end in
  // the reverse order of their start, once every answer is in.
  std::vector<std::unique_ptr<ScopedSpan>> spans(commands.size());
  for (size_t k = 0; k < commands.size(); ++k) {
    const Held& held = commands[k];
    const v1::BranchCommand& command = held.command;
    auto participant = participants_.find(command.participant());
    faults[k] = relay::CheckCommand(command, participant != participants_.end());
    if (faults[k]) continue;
    spans[k] = std::make_unique<ScopedSpan>(
        tracer_,
        absl::StrCat(command.op() == v1::BRANCH_OP_CONFIRM ? "Confirm " : "Cancel ",
                     command.branch().branch(), " attempt ", std::max(command.attempt(), 1)),
        saga_id, TraceContext::SpanIdIn(held.traceparent, saga_id));
    spans[k]->SetAttribute("participant", command.participant());
    v1::BranchRequest request;
    *request.mutable_branch() = command.branch();
    const absl::Time deadline = clock_.Now() + options_.ledger_call_timeout;
    {
      absl::MutexLock lock(&answers->mu);
      ++answers->pending;
    }
    // The latency metric measures the real wait, whatever clock the logic reads.
    ParticipantClient::Done done =
        [answers, k, called = absl::Now()](absl::StatusOr<v1::BranchResponse> response) {
          absl::MutexLock lock(&answers->mu);
          answers->responses[k] = std::move(response);
          answers->took[k] = absl::Now() - called;
          --answers->pending;
        };
    if (command.op() == v1::BRANCH_OP_CONFIRM) {
      participant->second->StartConfirm(request, deadline, std::move(done));
    } else {
      participant->second->StartCancel(request, deadline, std::move(done));
    }
  }
  std::vector<absl::StatusOr<v1::BranchResponse>> responses;
  std::vector<absl::Duration> took;
  {
    absl::MutexLock lock(&answers->mu);
    auto all_answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers->mu) {
      return answers->pending == 0;
    };
    answers->mu.Await(absl::Condition(&all_answered));
    responses = std::move(answers->responses);
    took = std::move(answers->took);
  }

  Answer results;
  for (size_t k = 0; k < commands.size(); ++k) {
    const Held& held = commands[k];
    Answer answer;
    if (faults[k]) {
      answer = DeadLetter(held, *faults[k], std::max(held.command.attempt(), 1));
    } else {
      metrics_.ledger_calls.With({held.command.participant(), OpLabel(held.command.op())})
          .Observe(absl::ToDoubleSeconds(took[k]));
      spans[k]->SetStatus(responses[k].status());
      answer = Judge(held, responses[k]);
    }
    if (!answer.dead_letter && !answer.best_effort) {
      for (v1::BranchResult& result : answer.results) results.results.push_back(std::move(result));
      continue;
    }
    if (!Apply(answer)) SetAside(std::move(answer));
  }
  for (size_t k = spans.size(); k > 0; --k) spans[k - 1].reset();
  if (!results.results.empty() && !Apply(results)) SetAside(std::move(results));
  {
    absl::MutexLock lock(&mu_);
    sagas_running_.erase(saga_id);
  }
  // Commands of this saga that fell due while it ran can start now.
  Notify();
}

void LocalRelay::AwaitIdle() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sagas_running_.empty(); };
  mu_.Await(absl::Condition(&idle));
}

LocalRelay::Answer LocalRelay::Judge(const Held& held,
                                     const absl::StatusOr<v1::BranchResponse>& response) {
  const relay::Verdict verdict = relay::Judge(held.command, response, options_.tiers, clock_.Now());
  metrics_.commands.With({OpLabel(held.command.op()), verdict.label}).Increment();
  Answer answer;
  switch (verdict.kind) {
    case relay::Verdict::Kind::kAnswered:
      answer.results.push_back(verdict.result);
      return answer;
    case relay::Verdict::Kind::kDeadLetter:
      return DeadLetter(held, verdict.fault, verdict.attempt);
    case relay::Verdict::Kind::kRetry:
      break;
  }
  const relay::RelayTier& tier = options_.tiers[verdict.tier];
  metrics_.retries.With({tier.topic}).Increment();
  relay::DescribeCommand(LogInfo("command moved to a retry tier"), verdict.next)
      .With("tier", tier.topic)
      .With("due", absl::FormatTime(verdict.due))
      .With("error", verdict.error);
  {
    absl::MutexLock lock(&mu_);
    held_.emplace(verdict.due, Held{verdict.next, held.outbox_id, held.traceparent, verdict.due});
  }
  answer.results.push_back(verdict.result);
  answer.best_effort = true;
  return answer;
}

LocalRelay::Answer LocalRelay::DeadLetter(const Held& held, const relay::CommandFault& fault,
                                          int attempts) {
  metrics_.dead_letters.With({fault.kind}).Increment();
  relay::DescribeCommand(LogWarning("command sent to the dead letters"), held.command)
      .With("reason", fault.reason);
  const int attempt = std::max(held.command.attempt(), 1);
  v1::DeadLetter dead;
  dead.set_saga_id(held.command.branch().saga_id());
  *dead.mutable_command() = held.command;
  dead.set_error(fault.reason);
  dead.set_attempts(attempts);
  // Where it waited last: the commands topic for a first attempt, else its tier.
  dead.set_source_topic(attempt >= 2 && attempt - 2 < static_cast<int>(options_.tiers.size())
                            ? options_.tiers[attempt - 2].topic
                            : std::string(kafka::kBranchCommandsTopic));
  dead.set_partition(-1);
  dead.set_offset(held.outbox_id);
  dead.set_payload(ProtoToJson(held.command));
  *dead.mutable_dead_lettered_at() = ToTimestamp(clock_.Now());
  Answer answer;
  answer.dead_letter = std::move(dead);
  return answer;
}

LocalRelay::Answer LocalRelay::Poison(const OutboxMessage& row, const absl::Status& parsed) {
  metrics_.dead_letters.With({"poison"}).Increment();
  LogWarning("an outbox row is not a BranchCommand; sent to the dead letters")
      .With("outbox_id", row.outbox_id)
      .With("saga_id", row.key);
  v1::DeadLetter dead;
  dead.set_saga_id(PrintableText(row.key, limits::kQuotedTextBytesMax));
  dead.set_error(absl::StrCat("not a BranchCommand: ",
                              PrintableText(parsed.message(), limits::kQuotedTextBytesMax)));
  dead.set_source_topic(row.topic);
  dead.set_partition(-1);
  dead.set_offset(row.outbox_id);
  dead.set_payload(PrintableText(row.payload, limits::kDeadLetterPayloadBytesMax));
  *dead.mutable_dead_lettered_at() = ToTimestamp(clock_.Now());
  Answer answer;
  answer.dead_letter = std::move(dead);
  return answer;
}

// The saga an answer is about, for the logs.
absl::string_view LocalRelay::SagaOf(const Answer& answer) {
  return answer.dead_letter ? answer.dead_letter->saga_id()
                            : absl::string_view(answer.results.front().branch().saga_id());
}

bool LocalRelay::Apply(Answer& answer) {
  const absl::Status applied = answer.dead_letter ? sink_.ApplyDeadLetter(*answer.dead_letter)
                               : answer.results.size() == 1
                                   ? sink_.ApplyBranchResult(answer.results.front())
                                   : sink_.ApplyBranchResults(answer.results);
  if (applied.ok()) return true;
  if (absl::IsAborted(applied) || absl::IsUnavailable(applied)) return answer.best_effort;
  LogError("an answer of the in-process relay cannot be applied; skipped")
      .With("saga_id", SagaOf(answer))
      .With("error", applied);
  return true;
}

void LocalRelay::SetAside(Answer answer) {
  answer.retry_at = clock_.Now() + answer.pause;
  answer.pause = std::min(answer.pause * 2, absl::Milliseconds(limits::kResultRetryMs));
  absl::MutexLock lock(&mu_);
  if (set_aside_.size() >= limits::kResultsSetAsideMax) {
    // Its saga hears nothing about the command and sends it again once its word is overdue.
    LogWarning("too many answers wait for their sagas; one is dropped and its command resent")
        .With("saga_id", SagaOf(answer));
    return;
  }
  set_aside_.push_back(std::move(answer));
}

void LocalRelay::Wait(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  absl::Time next = now + timeout;
  // Commands already due wait for a worker or for their saga's running commands, whose end
  // notifies.
  if (auto later = held_.upper_bound(now); later != held_.end())
    next = std::min(next, later->first);
  for (const Answer& answer : set_aside_) next = std::min(next, answer.retry_at);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_; };
  mu_.AwaitWithTimeout(absl::Condition(&ready), std::max(next - now, absl::ZeroDuration()));
  notified_ = false;
}

void LocalRelay::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
}

}  // namespace fxmesh::coordinator
