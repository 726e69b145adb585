// SagaEngine's side of the Kafka relay (ARCHITECTURE.md §5): handing Confirms and Cancels to the
// relay through the outbox, applying the relay's results and dead letters, and the operator's
// dead-letter list and replay.
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/participant_client.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/tracing.h"
#include "coordinator/relay_expectation.h"
#include "coordinator/saga_engine.h"
#include "coordinator/saga_state_machine.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

// The outbox message that hands `command` to the relay.
OutboxMessage CommandMessage(const v1::BranchCommand& command) {
  std::string payload;
  (void)google::protobuf::util::MessageToJsonString(command, &payload);
  const std::string& saga_id = command.branch().saga_id();
  return OutboxMessage{0, std::string(kafka::kBranchCommandsTopic), saga_id, std::move(payload),
                       TraceparentFor(saga_id)};
}

absl::string_view OpName(v1::BranchOp op) {
  return op == v1::BRANCH_OP_CONFIRM ? "Confirm" : "Cancel";
}

// The saga state in which `op` is what the saga waits for.
v1::SagaState PhaseOf(v1::BranchOp op) {
  return op == v1::BRANCH_OP_CONFIRM ? v1::SAGA_STATE_CONFIRMING : v1::SAGA_STATE_CANCELLING;
}

int BranchIndex(const v1::Saga& saga, absl::string_view branch) {
  for (int i = 0; i < saga.branches_size(); ++i) {
    if (saga.branches(i).branch() == branch) return i;
  }
  return -1;
}

// The engine's options as the expectation rules take them.
WordTimings TimingsOf(const EngineOptions& options) {
  return WordTimings{options.relay_first_word_after, options.relay_word_after_due,
                     options.redispatch_after};
}

}  // namespace

absl::Time SagaEngine::NextRedispatch(const v1::Saga& saga, absl::Time otherwise) const {
  absl::Time next = otherwise;
  for (const v1::Branch& branch : saga.branches()) {
    if (IsBranchSettled(branch, saga.state()) || !branch.has_dispatched_at() ||
        !branch.dead_letter().empty()) {
      continue;
    }
    next = std::min(next, RedispatchAt(branch, TimingsOf(options_)));
  }
  return next;
}

std::vector<OutboxMessage> SagaEngine::Dispatch(v1::Saga& saga,
                                                const std::vector<int>& indexes) const {
  const bool confirming = saga.state() == v1::SAGA_STATE_CONFIRMING;
  std::vector<OutboxMessage> commands;
  for (int index : indexes) {
    v1::Branch& branch = *saga.mutable_branches(index);
    *branch.mutable_dispatched_at() = ToTimestamp(clock_.Now());
    *branch.mutable_expect_word_by() =
        ToTimestamp(ExpectAfterSend(clock_.Now(), TimingsOf(options_), branch.dispatches()));
    branch.set_dispatches(branch.dispatches() + 1);
    v1::BranchCommand command;
    command.mutable_branch()->set_saga_id(saga.saga_id());
    command.mutable_branch()->set_branch(branch.branch());
    command.set_participant(branch.participant());
    command.set_op(confirming ? v1::BRANCH_OP_CONFIRM : v1::BRANCH_OP_CANCEL);
    command.set_attempt(1);
    commands.push_back(CommandMessage(command));
  }
  return commands;
}

absl::Status SagaEngine::DispatchSettling(v1::Saga& saga, absl::string_view why) {
  const absl::Time now = clock_.Now();
  // A branch already with the relay waits for its next word (a result, or a report that its
  // command moved to a retry tier); past the time that word was due, the command is taken as lost
  // and sent again (harmless: the ledger is idempotent), unless it is dead-lettered and waits for
  // an operator.
  std::vector<int> due;
  std::vector<std::string> silent;
  // A relay with unread commands is behind, not deaf: silence then means "late", and sending
  // again would only lengthen its queue. Lost commands are the ones nobody will ever read.
  const bool relay_behind = options_.relay_has_backlog && options_.relay_has_backlog();
  for (int index = 0; index < saga.branches_size(); ++index) {
    v1::Branch& branch = *saga.mutable_branches(index);
    if (IsBranchSettled(branch, saga.state())) continue;
    if (!branch.has_dispatched_at()) {
      due.push_back(index);
    } else if (branch.dead_letter().empty() && RedispatchAt(branch, TimingsOf(options_)) <= now) {
      const bool outer_bound_passed =
          ToTime(branch.dispatched_at()) + options_.redispatch_after <= now;
      if (relay_behind && !outer_bound_passed) {
        *branch.mutable_expect_word_by() = ToTimestamp(now + options_.relay_first_word_after);
        continue;
      }
      due.push_back(index);
      silent.push_back(branch.branch());
    }
  }
  std::vector<std::string> names;
  for (int index : due) names.push_back(saga.branches(index).branch());
  std::vector<OutboxMessage> commands = Dispatch(saga, due);
  *saga.mutable_next_attempt_at() =
      ToTimestamp(NextRedispatch(saga, now + options_.redispatch_after));
  *saga.mutable_updated_at() = ToTimestamp(now);
  std::optional<StepRecord> step;
  if (!due.empty()) {
    step = StepRecord{
        saga.state(), saga.state(),
        absl::StrCat(why, saga.state() == v1::SAGA_STATE_CONFIRMING ? "Confirm" : "Cancel", " of ",
                     absl::StrJoin(names, ", "), " sent to the relay",
                     silent.empty() ? ""
                                    : absl::StrCat(" (again: nothing heard in time about ",
                                                   absl::StrJoin(silent, ", "), ")"))};
    if (!silent.empty()) {
      LogWarning("commands the relay went silent about are sent again")
          .With("saga_id", saga.saga_id())
          .With("trace_id", saga.saga_id())
          .With("branches", absl::StrJoin(silent, ","));
    }
  }
  return Save(saga, saga.state(), step, commands);
}

absl::Status SagaEngine::WithOpenBranch(
    const v1::BranchRef& ref, v1::BranchOp op, absl::FunctionRef<bool(const v1::Branch&)> needed,
    absl::FunctionRef<absl::Status(v1::Saga&, v1::Branch&)> update) {
  const std::string& saga_id = ref.saga_id();
  ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
  if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  v1::Saga& saga = *loaded;
  const int index = BranchIndex(saga, ref.branch());
  if (saga.state() != PhaseOf(op) || index < 0 ||
      IsBranchSettled(saga.branches(index), saga.state()) || !needed(saga.branches(index))) {
    return absl::OkStatus();  // Moved on, already settled, or nothing to change.
  }
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, /*leased=*/false).second)
      return absl::AbortedError("another driver holds the saga");
  }
  absl::Status updated = update(saga, *saga.mutable_branches(index));
  absl::MutexLock lock(&mu_);
  in_flight_.erase(saga_id);
  return updated;
}

absl::Status SagaEngine::ApplyBranchResult(const v1::BranchResult& result) {
  RETURN_IF_ERROR(ValidateSagaId(result.branch().saga_id()));
  if (result.op() != v1::BRANCH_OP_CONFIRM && result.op() != v1::BRANCH_OP_CANCEL)
    return absl::InvalidArgumentError("a branch result's op must be Confirm or Cancel");
  if (result.kind() == v1::RESULT_KIND_RETRYING) return ApplyRetryReport(result);
  return WithOpenBranch(
      result.branch(), result.op(), [](const v1::Branch&) { return true; },
      [&](v1::Saga& saga, v1::Branch& branch) -> absl::Status {
        v1::BranchResponse answer;
        answer.set_outcome(result.outcome());
        answer.set_reason(result.reason());
        answer.set_detail(result.detail());
        RecordAnswer(branch, result.op() == v1::BRANCH_OP_CONFIRM ? Call::kConfirm : Call::kCancel,
                     answer);
        branch.clear_dead_letter();
        branch.clear_expect_word_by();
        const std::string answered =
            absl::StrCat(OpName(result.op()), " of ", branch.branch(),
                         " answered through the relay (attempt ", result.attempt(), ")");
        std::vector<std::string> open;
        bool refused = false;
        ASSIGN_OR_RETURN(bool finished,
                         FinishIfSettled(saga, open, refused, absl::StrCat("; ", answered)));
        if (finished) return absl::OkStatus();
        *saga.mutable_updated_at() = ToTimestamp(clock_.Now());
        return Save(saga, saga.state(),
                    StepRecord{saga.state(), saga.state(),
                               absl::StrCat(answered, "; pending: ", absl::StrJoin(open, ", "))});
      });
}

absl::Status SagaEngine::ApplyRetryReport(const v1::BranchResult& report) {
  if (!report.has_next_attempt_at())
    return absl::InvalidArgumentError("a retry report must say when the next attempt is due");
  const absl::Time due = ToTime(report.next_attempt_at());
  // Where the report moves the branch's expectation; nothing to write if it does not move it.
  auto expectation = [&](const v1::Branch& branch) -> std::optional<absl::Time> {
    if (!branch.has_dispatched_at()) return std::nullopt;  // Not the relay's to retry.
    const absl::Time expected = branch.has_expect_word_by() ? ToTime(branch.expect_word_by())
                                                            : ToTime(branch.dispatched_at());
    const absl::Time after = ExpectAfterReport(expected, due, TimingsOf(options_));
    if (branch.has_expect_word_by() && after == expected) return std::nullopt;
    return after;
  };
  return WithOpenBranch(
      report.branch(), report.op(),
      [&](const v1::Branch& branch) { return expectation(branch).has_value(); },
      [&](v1::Saga& saga, v1::Branch& branch) -> absl::Status {
        const std::optional<absl::Time> after = expectation(branch);
        if (!after) return absl::OkStatus();
        *branch.mutable_expect_word_by() = ToTimestamp(*after);
        branch.set_last_error(report.detail());
        *saga.mutable_next_attempt_at() =
            ToTimestamp(NextRedispatch(saga, clock_.Now() + options_.redispatch_after));
        *saga.mutable_updated_at() = ToTimestamp(clock_.Now());
        return Save(saga, saga.state(),
                    StepRecord{saga.state(), saga.state(),
                               absl::StrCat(OpName(report.op()), " of ", branch.branch(),
                                            " is retried by the relay: attempt ", report.attempt(),
                                            " due at ", absl::FormatTime(due), " (",
                                            report.detail(), ")")});
      });
}

absl::Status SagaEngine::ApplyDeadLetter(const v1::DeadLetter& dead_letter) {
  ASSIGN_OR_RETURN(bool recorded, store_.InsertDeadLetter(dead_letter));
  if (recorded) {
    LogError("a branch command was dead-lettered; replay it once the cause is fixed")
        .With("saga_id", dead_letter.saga_id())
        .With("trace_id", dead_letter.saga_id())
        .With("error", dead_letter.error())
        .With("attempts", dead_letter.attempts());
  }
  // A poison message names no branch to mark; an unknown saga has none either.
  if (!dead_letter.has_command()) return absl::OkStatus();
  const v1::BranchCommand& command = dead_letter.command();
  if (!ValidateSagaId(command.branch().saga_id()).ok()) return absl::OkStatus();
  absl::Status marked = WithOpenBranch(
      command.branch(), command.op(),
      [](const v1::Branch& branch) { return branch.dead_letter().empty(); },
      [&](v1::Saga& saga, v1::Branch& branch) -> absl::Status {
        if (!branch.dead_letter().empty()) return absl::OkStatus();
        branch.set_dead_letter(dead_letter.error());
        *saga.mutable_updated_at() = ToTimestamp(clock_.Now());
        return Save(saga, saga.state(),
                    StepRecord{saga.state(), saga.state(),
                               absl::StrCat(OpName(command.op()), " of ", branch.branch(),
                                            " dead-lettered after ", dead_letter.attempts(),
                                            " attempts: ", dead_letter.error(),
                                            "; waiting for an operator's replay")});
      });
  return absl::IsNotFound(marked) ? absl::OkStatus() : marked;
}

absl::StatusOr<v1::ListDeadLettersResponse> SagaEngine::ListDeadLetters(
    const v1::ListDeadLettersRequest& request) {
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(int limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(int64_t after, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(
      std::vector<v1::DeadLetter> dead_letters,
      store_.ListDeadLetters(request.saga_id(), request.include_replayed(), after, limit));
  v1::ListDeadLettersResponse response;
  for (v1::DeadLetter& dead_letter : dead_letters)
    *response.add_dead_letters() = std::move(dead_letter);
  if (static_cast<int>(dead_letters.size()) == limit) {
    response.set_next_page_token(absl::StrCat(response.dead_letters(limit - 1).dead_letter_id()));
  }
  return response;
}

absl::StatusOr<v1::ReplayDeadLettersResponse> SagaEngine::ReplayDeadLetters(
    const v1::ReplayDeadLettersRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  RETURN_IF_ERROR(ValidateNote(request.reason(), "reason"));
  if (request.target_case() == v1::ReplayDeadLettersRequest::kAll && !request.all()) {
    return absl::InvalidArgumentError(
        "all must be true to replay every dead letter; or name a dead_letter_id or saga_id");
  }
  std::vector<v1::DeadLetter> targets;
  switch (request.target_case()) {
    case v1::ReplayDeadLettersRequest::kDeadLetterId: {
      ASSIGN_OR_RETURN(std::optional<v1::DeadLetter> found,
                       store_.GetDeadLetter(request.dead_letter_id()));
      if (!found) {
        return absl::NotFoundError(absl::StrCat("no dead letter ", request.dead_letter_id()));
      }
      if (found->has_replayed_at()) {
        return absl::FailedPreconditionError(absl::StrCat("dead letter ", found->dead_letter_id(),
                                                          " was already replayed by ",
                                                          found->replayed_by()));
      }
      if (!found->has_command()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "dead letter ", found->dead_letter_id(),
            " is not a BranchCommand, so there is nothing to replay (", found->error(), ")"));
      }
      targets.push_back(std::move(*found));
      break;
    }
    case v1::ReplayDeadLettersRequest::kSagaId:
    case v1::ReplayDeadLettersRequest::kAll: {
      const std::string saga_id = request.all() ? "" : request.saga_id();
      if (!request.all()) RETURN_IF_ERROR(ValidateSagaId(saga_id));
      for (int64_t after = 0;;) {
        ASSIGN_OR_RETURN(std::vector<v1::DeadLetter> page,
                         store_.ListDeadLetters(saga_id, /*include_replayed=*/false, after,
                                                limits::kListPageSizeMax));
        if (page.empty()) break;
        after = page.back().dead_letter_id();
        for (v1::DeadLetter& dead_letter : page) targets.push_back(std::move(dead_letter));
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "say which dead letters to replay: dead_letter_id, saga_id or all");
  }

  v1::ReplayDeadLettersResponse response;
  std::set<std::string> sagas;
  for (v1::DeadLetter& dead_letter : targets) {
    if (!dead_letter.has_command()) {
      response.add_skipped(absl::StrCat("dead letter ", dead_letter.dead_letter_id(),
                                        ": not a BranchCommand (", dead_letter.error(), ")"));
      continue;
    }
    // Replayed as a first attempt: the relay walks the tiers again from the start.
    v1::BranchCommand command = dead_letter.command();
    command.set_attempt(1);
    command.clear_not_before();
    command.clear_last_error();
    absl::Status replayed =
        store_.ReplayDeadLetter(dead_letter.dead_letter_id(), request.operator_(), request.reason(),
                                CommandMessage(command), clock_.Now());
    if (absl::IsFailedPrecondition(replayed)) {
      response.add_skipped(std::string(replayed.message()));
      continue;
    }
    RETURN_IF_ERROR(replayed);
    *dead_letter.mutable_replayed_at() = ToTimestamp(clock_.Now());
    dead_letter.set_replayed_by(request.operator_());
    LogInfo("dead letter replayed")
        .With("saga_id", command.branch().saga_id())
        .With("trace_id", command.branch().saga_id())
        .With("dead_letter_id", dead_letter.dead_letter_id())
        .With("operator", request.operator_());
    sagas.insert(command.branch().saga_id());
    *response.add_replayed() = std::move(dead_letter);
  }
  // The sagas no longer wait for an operator. Best effort: if another driver holds one, the
  // result of the replayed command clears its mark anyway.
  for (const std::string& saga_id : sagas) {
    absl::StatusOr<v1::Saga> cleared = WithSagaHeld(saga_id, [&]() -> absl::StatusOr<v1::Saga> {
      ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
      if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
      v1::Saga saga = std::move(*loaded);
      bool changed = false;
      for (v1::Branch& branch : *saga.mutable_branches()) {
        if (branch.dead_letter().empty()) continue;
        branch.clear_dead_letter();
        *branch.mutable_dispatched_at() = ToTimestamp(clock_.Now());
        *branch.mutable_expect_word_by() =
            ToTimestamp(ExpectAfterSend(clock_.Now(), TimingsOf(options_)));
        changed = true;
      }
      if (!changed) return saga;
      RETURN_IF_ERROR(Save(saga, saga.state(),
                           StepRecord{saga.state(), saga.state(),
                                      absl::StrCat("dead letters replayed by ", request.operator_(),
                                                   ": ", request.reason())}));
      return saga;
    });
    if (!cleared.ok() && !absl::IsAborted(cleared.status())) {
      LogWarning("cannot clear a saga's dead-letter mark")
          .With("saga_id", saga_id)
          .With("error", cleared.status());
    }
  }
  return response;
}

}  // namespace fxmesh::coordinator
