#include "coordinator/relay_settlement.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_state_machine.h"

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

absl::Status CheckOp(const v1::BranchResult& result) {
  if (result.op() == v1::BRANCH_OP_CONFIRM || result.op() == v1::BRANCH_OP_CANCEL)
    return absl::OkStatus();
  return absl::InvalidArgumentError("a branch result's op must be Confirm or Cancel");
}

}  // namespace

absl::Status RelaySettlement::WithSaga(
    const std::string& saga_id, absl::FunctionRef<std::optional<absl::Status>(v1::Saga&)> apply) {
  if (std::optional<v1::Saga> kept = writer_.LastWritten(saga_id)) {
    const bool finished = IsTerminal(kept->state());
    const std::optional<absl::Status> written = apply(*kept);
    // Nothing to do in a finished saga is final: it never changes again. Otherwise the saga may
    // have moved on since this replica wrote it (nothing to do yet, or a write that failed its
    // revision fence): it is read.
    if (!written && finished) return absl::OkStatus();
    if (written && !IsStaleRead(*written)) return *written;
  }
  ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
  if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  return apply(*loaded).value_or(absl::OkStatus());
}

absl::Status RelaySettlement::WithOpenBranch(
    const v1::BranchRef& ref, v1::BranchOp op, absl::FunctionRef<bool(const v1::Branch&)> needed,
    absl::FunctionRef<absl::Status(v1::Saga&, v1::Branch&)> update) {
  const std::string& saga_id = ref.saga_id();
  return WithSaga(saga_id, [&](v1::Saga& saga) -> std::optional<absl::Status> {
    const int index = BranchIndex(saga, ref.branch());
    if (saga.state() != PhaseOf(op) || index < 0 ||
        IsBranchSettled(saga.branches(index), saga.state()) || !needed(saga.branches(index))) {
      return std::nullopt;  // Moved on, already settled, or nothing to change.
    }
    return leases_.WithSagaHeldUnleased(
        saga_id, [&] { return update(saga, *saga.mutable_branches(index)); });
  });
}

absl::Status RelaySettlement::ApplyBranchResult(const v1::BranchResult& result) {
  RETURN_IF_ERROR(ValidateSagaId(result.branch().saga_id()));
  RETURN_IF_ERROR(CheckOp(result));
  if (result.kind() == v1::RESULT_KIND_RETRYING) return ApplyRetryReport(result);
  return WithOpenBranch(
      result.branch(), result.op(), [](const v1::Branch&) { return true; },
      [&](v1::Saga& saga, v1::Branch& branch) -> absl::Status {
        const std::string answered = RecordResult(saga, branch, result);
        const v1::SagaState from = saga.state();
        return writer_.Write(saga, from, DecideAfterResult(saga, answered, clock_.Now()));
      });
}

absl::Status RelaySettlement::ApplyBranchResults(const std::vector<v1::BranchResult>& results) {
  if (results.empty()) return absl::OkStatus();
  if (results.size() == 1) return ApplyBranchResult(results.front());
  const std::string& saga_id = results.front().branch().saga_id();
  RETURN_IF_ERROR(ValidateSagaId(saga_id));
  for (const v1::BranchResult& result : results) {
    if (result.branch().saga_id() != saga_id)
      return absl::InvalidArgumentError("results applied together must be about one saga");
    RETURN_IF_ERROR(CheckOp(result));
    if (result.kind() == v1::RESULT_KIND_RETRYING)
      return absl::InvalidArgumentError("retry reports are applied one by one");
  }
  return WithSaga(saga_id, [&](v1::Saga& saga) -> std::optional<absl::Status> {
    std::vector<std::string> answered;
    for (const v1::BranchResult& result : results) {
      const int index = BranchIndex(saga, result.branch().branch());
      // Moved on, or already settled (a late or repeated copy): nothing to record.
      if (saga.state() != PhaseOf(result.op()) || index < 0 ||
          IsBranchSettled(saga.branches(index), saga.state())) {
        continue;
      }
      answered.push_back(RecordResult(saga, *saga.mutable_branches(index), result));
    }
    if (answered.empty()) return std::nullopt;
    return leases_.WithSagaHeldUnleased(saga_id, [&] {
      const v1::SagaState from = saga.state();
      return writer_.Write(saga, from,
                           DecideAfterResult(saga, absl::StrJoin(answered, "; "), clock_.Now()));
    });
  });
}

std::string RelaySettlement::RecordResult(v1::Saga& saga, v1::Branch& branch,
                                          const v1::BranchResult& result) {
  v1::BranchResponse answer;
  answer.set_outcome(result.outcome());
  answer.set_reason(result.reason());
  answer.set_detail(result.detail());
  writer_.RecordCall(
      branch, result.op() == v1::BRANCH_OP_CONFIRM ? BranchCall::kConfirm : BranchCall::kCancel,
      answer, ToTime(saga.try_deadline()));
  branch.clear_dead_letter();
  branch.clear_expect_word_by();
  return absl::StrCat(OpName(result.op()), " of ", branch.branch(),
                      " answered through the relay (attempt ", result.attempt(), ")");
}

absl::Status RelaySettlement::ApplyRetryReport(const v1::BranchResult& report) {
  if (!report.has_next_attempt_at())
    return absl::InvalidArgumentError("a retry report must say when the next attempt is due");
  const absl::Time due = ToTime(report.next_attempt_at());
  // Where the report moves the branch's expectation; nothing to write if it does not move it.
  auto expectation = [&](const v1::Branch& branch) -> std::optional<absl::Time> {
    if (!branch.has_dispatched_at()) return std::nullopt;  // Not the relay's to retry.
    const absl::Time expected = branch.has_expect_word_by() ? ToTime(branch.expect_word_by())
                                                            : ToTime(branch.dispatched_at());
    const absl::Time after = ExpectAfterReport(expected, due, timings_);
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
            ToTimestamp(NextRedispatch(saga, clock_.Now() + timings_.redispatch_after, timings_));
        *saga.mutable_updated_at() = ToTimestamp(clock_.Now());
        return writer_.Save(
            saga, saga.state(),
            StepRecord{
                saga.state(), saga.state(),
                absl::StrCat(OpName(report.op()), " of ", branch.branch(),
                             " is retried by the relay: attempt ", report.attempt(), " due at ",
                             absl::FormatTime(due), " (", report.detail(), ")")});
      });
}

absl::Status RelaySettlement::ApplyDeadLetter(const v1::DeadLetter& dead_letter) {
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
        return writer_.Save(saga, saga.state(),
                            StepRecord{saga.state(), saga.state(),
                                       absl::StrCat(OpName(command.op()), " of ", branch.branch(),
                                                    " dead-lettered after ", dead_letter.attempts(),
                                                    " attempts: ", dead_letter.error(),
                                                    "; waiting for an operator's replay")});
      });
  return absl::IsNotFound(marked) ? absl::OkStatus() : marked;
}
}  // namespace fxmesh::coordinator
