#include "coordinator/saga_rules.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/check.h"
#include "common/proto_time.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {
namespace {

// Codes that say the participant refused the request itself, as opposed to "no answer".
bool IsDefiniteRefusal(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return true;
    default:
      return false;
  }
}

// The reject reason without its enum prefix: "INSUFFICIENT_FUNDS".
std::string ReasonName(v1::RejectReason reason) {
  std::string name = v1::RejectReason_Name(reason);
  constexpr absl::string_view kPrefix = "REJECT_REASON_";
  if (absl::StartsWith(name, kPrefix)) name = name.substr(kPrefix.size());
  return name;
}

// The first paused participant among `indexes`' branches, or "".
std::string PausedAmong(const v1::Saga& saga, const std::vector<int>& indexes,
                        const DriveInput& input) {
  for (int index : indexes) {
    const std::string& participant = saga.branches(index).participant();
    if (input.paused.count(participant) > 0) return participant;
  }
  return "";
}

// Marks `indexes`' branches as handed to the relay at `now`: each send after a silence waits
// longer for its first word (relay_expectation.h).
void MarkDispatched(v1::Saga& saga, const std::vector<int>& indexes, absl::Time now,
                    const WordTimings& timings) {
  for (int index : indexes) {
    v1::Branch& branch = *saga.mutable_branches(index);
    *branch.mutable_dispatched_at() = ToTimestamp(now);
    *branch.mutable_expect_word_by() =
        ToTimestamp(ExpectAfterSend(now, timings, branch.dispatches()));
    branch.set_dispatches(branch.dispatches() + 1);
  }
}

// A write that moves the saga to `to`. The decision to confirm or to cancel carries its commands
// to the relay (one transaction, none forgotten), unless a participant is paused: then they wait
// for it. Either way the relay settles, and the driver has nothing more to do (drive_on false).
Decision Move(v1::Saga& saga, v1::SagaState to, std::string detail, bool drive_on,
              const DriveInput& input, const RuleOptions& options) {
  EnterState(saga, to, input.now);
  Decision decision;
  decision.kind = Decision::Kind::kWrite;
  decision.to = to;
  decision.drive_on = drive_on;
  if (to == v1::SAGA_STATE_CONFIRMING || to == v1::SAGA_STATE_CANCELLING) {
    std::vector<int> every;
    for (int i = 0; i < saga.branches_size(); ++i) every.push_back(i);
    const absl::string_view call = to == v1::SAGA_STATE_CONFIRMING ? "Confirm" : "Cancel";
    if (std::string paused = PausedAmong(saga, every, input); !paused.empty()) {
      *saga.mutable_next_attempt_at() =
          ToTimestamp(input.now + absl::Milliseconds(limits::kPausedRecheckMs));
      absl::StrAppend(&detail, "; every ", call, " waits: participant ", paused, " is paused");
    } else {
      decision.dispatch = std::move(every);
      MarkDispatched(saga, decision.dispatch, input.now, options.relay);
      *saga.mutable_next_attempt_at() = ToTimestamp(
          NextRedispatch(saga, input.now + options.relay.redispatch_after, options.relay));
      absl::StrAppend(&detail, "; every ", call, " sent to the relay");
    }
  }
  decision.detail = std::move(detail);
  return decision;
}

// A write that keeps the saga in its state, due again after `delay`.
Decision Stay(v1::Saga& saga, absl::string_view detail, absl::Duration delay,
              const DriveInput& input) {
  *saga.mutable_next_attempt_at() = ToTimestamp(input.now + delay);
  *saga.mutable_updated_at() = ToTimestamp(input.now);
  Decision decision;
  decision.kind = Decision::Kind::kWrite;
  decision.detail = absl::StrCat(detail, "; next attempt in ", absl::FormatDuration(delay));
  return decision;
}

Decision Call(BranchCall call, std::vector<int> branches, absl::Time deadline) {
  Decision decision;
  decision.kind = Decision::Kind::kCall;
  decision.call = call;
  decision.branches = std::move(branches);
  decision.deadline = deadline;
  return decision;
}

// The latest a call may end: its timeout, and a margin before the customer's deadline.
absl::Time CallDeadline(const DriveInput& input, const RuleOptions& options) {
  return std::min(input.now + options.ledger_call_timeout,
                  input.respond_by - absl::Milliseconds(limits::kResponseMarginMs));
}

Decision DecideCreated(v1::Saga& saga, const DriveInput& input, const RuleOptions& options) {
  if (input.now >= ToTime(saga.try_deadline())) {
    saga.set_failure_reason("QUOTE_EXPIRED");
    saga.set_failure_detail("the quote expired before any Try was sent");
    return Move(saga, v1::SAGA_STATE_CANCELLING, "quote expired before the Trys", false, input,
                options);
  }
  return Move(saga, v1::SAGA_STATE_TRYING, "sending the Trys", true, input, options);
}

Decision DecideTrying(v1::Saga& saga, const DriveInput& input, const RuleOptions& options) {
  const absl::Time now = input.now;
  const absl::Time try_deadline = ToTime(saga.try_deadline());
  auto cancel_for_timeout = [&](std::string detail) {
    saga.set_failure_reason("TIMEOUT");
    saga.set_failure_detail(detail);
    return Move(saga, v1::SAGA_STATE_CANCELLING, std::move(detail), false, input, options);
  };

  if (!input.answered) {
    // Each unanswered Try has its own retry time; a drive that comes earlier (a resubmission, a
    // recovery pass) sends only the Trys that are due.
    std::vector<int> due;
    absl::Time next_try = absl::InfiniteFuture();
    for (int i = 0; i < saga.branches_size(); ++i) {
      const v1::Branch& branch = saga.branches(i);
      if (branch.try_status() != v1::CALL_STATUS_NOT_SENT &&
          branch.try_status() != v1::CALL_STATUS_UNKNOWN) {
        continue;
      }
      const absl::Time at = branch.has_next_try_at() ? ToTime(branch.next_try_at()) : now;
      if (at <= now || now >= try_deadline) {
        due.push_back(i);
      } else {
        next_try = std::min(next_try, at);
      }
    }
    if (std::string paused = PausedAmong(saga, due, input); !paused.empty()) {
      if (now >= try_deadline) {
        return cancel_for_timeout(
            absl::StrCat("participant ", paused, " stayed paused past the quote's deadline"));
      }
      return Stay(saga, absl::StrCat("waiting: participant ", paused, " is paused"),
                  absl::Milliseconds(limits::kPausedRecheckMs), input);
    }
    // Nothing is due yet: the saga keeps its schedule, and nothing is written.
    if (due.empty() && next_try != absl::InfiniteFuture()) return Decision{};
    if (!due.empty()) {
      const absl::Time deadline = std::min(CallDeadline(input, options), try_deadline);
      if (deadline > now) return Call(BranchCall::kTry, std::move(due), deadline);
      if (now >= try_deadline)
        return cancel_for_timeout("the Trys were not all answered before the quote expired");
      // The customer's deadline is up: the background takes over at once.
      return Stay(saga, "handed to the background", absl::ZeroDuration(), input);
    }
    // Every Try was answered before this drive (its write was lost): decide on the answers.
  }

  for (const v1::Branch& branch : saga.branches()) {
    if (branch.try_status() != v1::CALL_STATUS_REJECTED) continue;
    saga.set_failure_reason(RejectReasonOf(branch));
    saga.set_failure_detail(absl::StrCat(branch.participant(), ": ", branch.last_error()));
    return Move(saga, v1::SAGA_STATE_CANCELLING,
                absl::StrCat("Try of ", branch.branch(), " rejected: ", branch.last_error(),
                             "; decision: cancel"),
                false, input, options);
  }
  std::vector<std::string> unknown;
  std::vector<std::string> schedule;
  absl::Time next_try = absl::InfiniteFuture();
  for (const v1::Branch& branch : saga.branches()) {
    if (branch.try_status() == v1::CALL_STATUS_APPLIED) continue;
    unknown.push_back(absl::StrCat(branch.branch(), " (", branch.last_error(), ")"));
    if (!branch.has_next_try_at()) continue;
    const absl::Time at = ToTime(branch.next_try_at());
    next_try = std::min(next_try, at);
    schedule.push_back(
        absl::StrCat(branch.branch(), " after call ", branch.calls(), " in ",
                     absl::FormatDuration(std::max(absl::ZeroDuration(), at - now))));
  }
  if (unknown.empty()) {
    return Move(saga, v1::SAGA_STATE_CONFIRMING, "every Try applied; decision: confirm", false,
                input, options);
  }
  if (now >= try_deadline) {
    return cancel_for_timeout(absl::StrCat("no answer to the Try of ", absl::StrJoin(unknown, ", "),
                                           " before the quote expired"));
  }
  return Stay(saga,
              absl::StrCat("Try outcome unknown: ", absl::StrJoin(unknown, ", "), "; next Try of ",
                           schedule.empty() ? "none" : absl::StrJoin(schedule, ", ")),
              std::max(absl::ZeroDuration(), std::min(next_try, try_deadline) - now), input);
}

// Queues the commands of unsettled branches not sent yet, and of those the relay went silent about
// past the time their next word was due (unless dead-lettered: those wait for an operator). When
// there is nothing to send and nothing to reschedule, there is nothing to write either.
Decision DispatchSettling(v1::Saga& saga, const DriveInput& input, const RuleOptions& options) {
  const absl::Time now = input.now;
  Decision decision;
  decision.kind = Decision::Kind::kWrite;
  bool expectation_moved = false;
  for (int index = 0; index < saga.branches_size(); ++index) {
    v1::Branch& branch = *saga.mutable_branches(index);
    if (IsBranchSettled(branch, saga.state())) continue;
    if (!branch.has_dispatched_at()) {
      decision.dispatch.push_back(index);
    } else if (branch.dead_letter().empty() && RedispatchAt(branch, options.relay) <= now) {
      // A relay with unread commands is behind, not deaf: silence then means "late", and sending
      // again would only lengthen its queue. Lost commands are the ones nobody will ever read.
      const bool outer_bound_passed =
          ToTime(branch.dispatched_at()) + options.relay.redispatch_after <= now;
      if (input.relay_behind && !outer_bound_passed) {
        *branch.mutable_expect_word_by() = ToTimestamp(now + options.relay.first_word_after);
        expectation_moved = true;
        continue;
      }
      decision.dispatch.push_back(index);
      decision.silent.push_back(branch.branch());
    }
  }
  std::vector<std::string> names;
  for (int index : decision.dispatch) names.push_back(saga.branches(index).branch());
  MarkDispatched(saga, decision.dispatch, now, options.relay);
  const absl::Time next = NextRedispatch(saga, now + options.relay.redispatch_after, options.relay);
  if (decision.dispatch.empty() && !expectation_moved && saga.has_next_attempt_at() &&
      ToTime(saga.next_attempt_at()) == next) {
    return Decision{};
  }
  *saga.mutable_next_attempt_at() = ToTimestamp(next);
  *saga.mutable_updated_at() = ToTimestamp(now);
  if (!decision.dispatch.empty()) {
    decision.detail = absl::StrCat(saga.state() == v1::SAGA_STATE_CONFIRMING ? "Confirm" : "Cancel",
                                   " of ", absl::StrJoin(names, ", "), " sent to the relay",
                                   decision.silent.empty()
                                       ? ""
                                       : absl::StrCat(" (again: nothing heard in time about ",
                                                      absl::StrJoin(decision.silent, ", "), ")"));
  }
  return decision;
}

// CONFIRMING and CANCELLING: the relay settles every branch the same way; the driver finishes the
// saga once it has, and otherwise sends what was never sent or went unheard of. CANCELLING cancels
// every branch, tried or not: a Cancel without its Try is a null compensation whose barrier also
// refuses a Try still travelling towards the ledger.
Decision DecideSettling(v1::Saga& saga, const DriveInput& input, const RuleOptions& options) {
  const bool confirming = saga.state() == v1::SAGA_STATE_CONFIRMING;
  const Settlement settlement = SettlementOf(saga);
  if (settlement.settled) {
    return Move(saga, confirming ? v1::SAGA_STATE_COMPLETED : v1::SAGA_STATE_CANCELLED,
                confirming ? "every branch confirmed" : "every branch cancelled", true, input,
                options);
  }
  std::vector<int> open;
  for (int i = 0; i < saga.branches_size(); ++i) {
    if (!IsBranchSettled(saga.branches(i), saga.state())) open.push_back(i);
  }
  if (std::string paused = PausedAmong(saga, open, input); !paused.empty()) {
    return Stay(saga, absl::StrCat("waiting: participant ", paused, " is paused"),
                absl::Milliseconds(limits::kPausedRecheckMs), input);
  }
  return DispatchSettling(saga, input, options);
}

}  // namespace

Decision Decide(v1::Saga& saga, const DriveInput& input, const RuleOptions& options) {
  switch (saga.state()) {
    case v1::SAGA_STATE_CREATED:
      return DecideCreated(saga, input, options);
    case v1::SAGA_STATE_TRYING:
      return DecideTrying(saga, input, options);
    case v1::SAGA_STATE_CONFIRMING:
    case v1::SAGA_STATE_CANCELLING:
      return DecideSettling(saga, input, options);
    default:
      return Decision{};  // Finished: nothing more will happen.
  }
}

Decision DecideAfterResult(v1::Saga& saga, absl::string_view answered, absl::Time now) {
  const bool confirming = saga.state() == v1::SAGA_STATE_CONFIRMING;
  const Settlement settlement = SettlementOf(saga);
  DriveInput input;
  input.now = now;
  if (settlement.settled) {
    return Move(saga, confirming ? v1::SAGA_STATE_COMPLETED : v1::SAGA_STATE_CANCELLED,
                absl::StrCat(confirming ? "every branch confirmed; " : "every branch cancelled; ",
                             answered),
                false, input, RuleOptions{});
  }
  *saga.mutable_updated_at() = ToTimestamp(now);
  Decision decision;
  decision.kind = Decision::Kind::kWrite;
  decision.detail = absl::StrCat(answered, "; pending: ", absl::StrJoin(settlement.open, ", "));
  decision.inconsistency = settlement.refused;
  return decision;
}

void EnterState(v1::Saga& saga, v1::SagaState to, absl::Time now) {
  FXMESH_CHECK(IsAllowedTransition(saga.state(), to),
               "a saga transition outside the state machine");
  saga.set_state(to);
  *saga.mutable_next_attempt_at() = ToTimestamp(now);
  *saga.mutable_updated_at() = ToTimestamp(now);
}

std::string RecordAnswer(v1::Branch& branch, BranchCall call,
                         const absl::StatusOr<v1::BranchResponse>& answer, absl::Time now,
                         absl::Time try_deadline) {
  branch.set_calls(branch.calls() + 1);
  branch.clear_reject_reason();
  v1::CallStatus status;
  if (!answer.ok()) {
    // No business answer. A refusal of the request itself is final for a Try (cancel); for a
    // Confirm or Cancel nothing but success is acceptable, so it stays open and is retried.
    status = IsDefiniteRefusal(answer.status()) && call == BranchCall::kTry
                 ? v1::CALL_STATUS_REJECTED
                 : v1::CALL_STATUS_UNKNOWN;
    if (status == v1::CALL_STATUS_REJECTED) {
      branch.set_reject_reason(v1::REJECT_REASON_INVALID_REQUEST);
    }
    branch.set_last_error(absl::StrCat(
        status == v1::CALL_STATUS_REJECTED ? ReasonName(v1::REJECT_REASON_INVALID_REQUEST) + ": "
                                           : "",
        absl::StatusCodeToString(answer.status().code()), ": ", answer.status().message()));
  } else {
    switch (answer->outcome()) {
      case v1::OUTCOME_APPLIED:
      case v1::OUTCOME_DUPLICATE:
        status = v1::CALL_STATUS_APPLIED;
        branch.clear_last_error();
        break;
      case v1::OUTCOME_NULL_COMPENSATION:
        status = call == BranchCall::kCancel ? v1::CALL_STATUS_NULL_COMPENSATION
                                             : v1::CALL_STATUS_UNKNOWN;
        branch.clear_last_error();
        break;
      case v1::OUTCOME_REJECTED:
        status = v1::CALL_STATUS_REJECTED;
        branch.set_reject_reason(answer->reason());
        branch.set_last_error(absl::StrCat(ReasonName(answer->reason()), ": ", answer->detail()));
        break;
      default:
        status = v1::CALL_STATUS_UNKNOWN;
        branch.set_last_error("the participant answered without an outcome");
    }
  }
  switch (call) {
    case BranchCall::kTry:
      branch.set_try_status(status);
      // An unanswered Try is sent again after its own backoff, never later than the quote's
      // deadline (where the saga cancels instead).
      if (status == v1::CALL_STATUS_UNKNOWN) {
        *branch.mutable_next_try_at() =
            ToTimestamp(std::min(now + Backoff(branch.calls()), try_deadline));
      } else {
        branch.clear_next_try_at();
      }
      break;
    case BranchCall::kConfirm:
      branch.set_confirm_status(status);
      break;
    case BranchCall::kCancel:
      branch.set_cancel_status(status);
      break;
  }
  std::string name = v1::CallStatus_Name(status);
  name.erase(0, std::string("CALL_STATUS_").size());
  return name;
}

absl::Duration Backoff(int attempt) {
  absl::Duration delay = absl::Milliseconds(limits::kRetryDelayMsMin);
  for (int i = 1; i < attempt && delay < absl::Milliseconds(limits::kRetryDelayMsMax); ++i)
    delay *= 2;
  return std::min(delay, absl::Milliseconds(limits::kRetryDelayMsMax));
}

Settlement SettlementOf(const v1::Saga& saga) {
  const bool confirming = saga.state() == v1::SAGA_STATE_CONFIRMING;
  Settlement settlement;
  for (const v1::Branch& branch : saga.branches()) {
    if (IsBranchSettled(branch, saga.state())) continue;
    settlement.open.push_back(absl::StrCat(branch.branch(), " (", branch.last_error(), ")"));
    const v1::CallStatus status = confirming ? branch.confirm_status() : branch.cancel_status();
    if (status == v1::CALL_STATUS_REJECTED) settlement.refused = true;
  }
  settlement.settled = settlement.open.empty();
  return settlement;
}

v1::BranchCommand BranchCommandFor(const v1::Saga& saga, int index) {
  const v1::Branch& branch = saga.branches(index);
  v1::BranchCommand command;
  command.mutable_branch()->set_saga_id(saga.saga_id());
  command.mutable_branch()->set_branch(branch.branch());
  command.set_participant(branch.participant());
  command.set_op(saga.state() == v1::SAGA_STATE_CONFIRMING ? v1::BRANCH_OP_CONFIRM
                                                           : v1::BRANCH_OP_CANCEL);
  command.set_attempt(1);
  return command;
}

absl::Time NextRedispatch(const v1::Saga& saga, absl::Time otherwise, const WordTimings& timings) {
  absl::Time next = otherwise;
  for (const v1::Branch& branch : saga.branches()) {
    if (IsBranchSettled(branch, saga.state()) || !branch.has_dispatched_at() ||
        !branch.dead_letter().empty()) {
      continue;
    }
    next = std::min(next, RedispatchAt(branch, timings));
  }
  return next;
}

std::string RejectReasonOf(const v1::Branch& branch) {
  if (branch.reject_reason() != v1::REJECT_REASON_UNSPECIFIED) {
    return ReasonName(branch.reject_reason());
  }
  // A row written before reject_reason existed (a rolling upgrade): the reason leads last_error.
  return branch.last_error().substr(0, branch.last_error().find(':'));
}

}  // namespace fxmesh::coordinator
