#include "relay/command_policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "kafka/topics.h"

namespace fxmesh::relay {

std::vector<RelayTier> DefaultTiers() {
  std::vector<RelayTier> tiers;
  for (const kafka::RetryTier& tier : kafka::kRetryTiers) {
    tiers.push_back({std::string(tier.topic), absl::Milliseconds(tier.delay_ms)});
  }
  return tiers;
}

LogLine& DescribeCommand(LogLine&& line, const v1::BranchCommand& command) {
  return line.With("saga_id", command.branch().saga_id())
      .With("trace_id", command.branch().saga_id())
      .With("branch", command.branch().branch())
      .With("op", v1::BranchOp_Name(command.op()))
      .With("attempt", std::max(command.attempt(), 1));
}

bool IsRefusal(const absl::Status& status) {
  return absl::IsInvalidArgument(status) || absl::IsFailedPrecondition(status);
}

std::optional<CommandFault> CheckCommand(const v1::BranchCommand& command, bool participant_known) {
  if (command.op() != v1::BRANCH_OP_CONFIRM && command.op() != v1::BRANCH_OP_CANCEL)
    return CommandFault{"bad_op", "op must be BRANCH_OP_CONFIRM or BRANCH_OP_CANCEL"};
  if (!participant_known) {
    return CommandFault{"unknown_participant",
                        absl::StrCat("unknown participant '", command.participant(), "'")};
  }
  return std::nullopt;
}

Verdict Judge(const v1::BranchCommand& command, const absl::StatusOr<v1::BranchResponse>& response,
              absl::Span<const RelayTier> tiers, absl::Time now) {
  Verdict verdict;
  verdict.attempt = std::max(command.attempt(), 1);
  v1::BranchResult& result = verdict.result;
  *result.mutable_branch() = command.branch();
  result.set_participant(command.participant());
  result.set_op(command.op());
  if (response.ok()) {
    verdict.kind = Verdict::Kind::kAnswered;
    result.set_attempt(verdict.attempt);
    result.set_outcome(response->outcome());
    result.set_reason(response->reason());
    result.set_detail(response->detail());
    *result.mutable_executed_at() = ToTimestamp(now);
    verdict.label = v1::Outcome_Name(response->outcome());
    if (absl::StartsWith(verdict.label, "OUTCOME_")) verdict.label.erase(0, 8);
    return verdict;
  }
  verdict.error = response.status().ToString();
  const std::string& error = verdict.error;
  verdict.label = "dead_letter";
  verdict.kind = Verdict::Kind::kDeadLetter;
  if (IsRefusal(response.status())) {
    verdict.fault = {"refused",
                     absl::StrCat("the ledger refused attempt ", verdict.attempt, ": ", error)};
    return verdict;
  }
  // No answer: attempt n waits in tier n; after the last tier there is no one left to ask.
  if (verdict.attempt > static_cast<int>(tiers.size())) {
    verdict.fault = {"exhausted",
                     absl::StrCat("gave up after ", verdict.attempt, " attempts: ", error)};
    return verdict;
  }
  verdict.kind = Verdict::Kind::kRetry;
  verdict.label = "retry";
  verdict.tier = verdict.attempt - 1;
  verdict.due = now + tiers[verdict.tier].delay;
  verdict.next = command;
  verdict.next.set_attempt(verdict.attempt + 1);
  verdict.next.set_last_error(error);
  *verdict.next.mutable_not_before() = ToTimestamp(verdict.due);
  // The report that tells the coordinator when to expect the next word on this command.
  result.set_kind(v1::RESULT_KIND_RETRYING);
  result.set_attempt(verdict.attempt + 1);
  result.set_detail(error);
  *result.mutable_next_attempt_at() = ToTimestamp(verdict.due);
  return verdict;
}

}  // namespace fxmesh::relay
