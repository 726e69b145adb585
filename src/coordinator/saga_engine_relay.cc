// SagaEngine's side of the Kafka relay (ARCHITECTURE.md §5): handing Confirms and Cancels to the
// relay through the outbox, applying the relay's results and dead letters, and the operator's
// dead-letter list and replay.

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/participant_client.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/tracing.h"
#include "coordinator/relay_expectation.h"
#include "coordinator/saga_engine.h"
#include "coordinator/saga_state_machine.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {
namespace {

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

}  // namespace

OutboxMessage SagaEngine::ToOutbox(const v1::BranchCommand& command) {
  std::string payload = ProtoToJson(command);
  const std::string& saga_id = command.branch().saga_id();
  return OutboxMessage{0, std::string(kafka::kBranchCommandsTopic), saga_id, std::move(payload),
                       TraceparentFor(saga_id)};
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
        RecordCall(
            branch,
            result.op() == v1::BRANCH_OP_CONFIRM ? BranchCall::kConfirm : BranchCall::kCancel,
            answer, ToTime(saga.try_deadline()));
        branch.clear_dead_letter();
        branch.clear_expect_word_by();
        const v1::SagaState from = saga.state();
        const Decision decision = DecideAfterResult(
            saga,
            absl::StrCat(OpName(result.op()), " of ", branch.branch(),
                         " answered through the relay (attempt ", result.attempt(), ")"),
            clock_.Now());
        return Write(saga, from, decision);
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
    const absl::Time after = ExpectAfterReport(expected, due, rule_options_.relay);
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
        *saga.mutable_next_attempt_at() = ToTimestamp(
            NextRedispatch(saga, clock_.Now() + options_.redispatch_after, rule_options_.relay));
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
                                ToOutbox(command), clock_.Now());
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
            ToTimestamp(ExpectAfterSend(clock_.Now(), rule_options_.relay));
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
