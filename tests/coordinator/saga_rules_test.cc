// Proves the saga's rules (saga_rules.h) without a clock, a socket or a database: each case builds
// a saga, asks Decide what comes next at a given time with given answers, and checks the decision.
// The last case walks many random sagas through the rules to the end and checks the promise of
// ARCHITECTURE.md §8 on every one.
#include "coordinator/saga_rules.h"

#include <catch2/catch.hpp>
#include <random>

#include "common/proto_time.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {
namespace {

using Kind = Decision::Kind;

const absl::Time kStart = absl::FromUnixSeconds(1'780'000'000);
const absl::Duration kQuoteTtl = absl::Seconds(30);

v1::Saga NewSaga() {
  v1::Saga saga;
  saga.set_saga_id("s-1");
  saga.set_state(v1::SAGA_STATE_CREATED);
  *saga.mutable_try_deadline() = ToTimestamp(kStart + kQuoteTtl);
  *saga.mutable_created_at() = ToTimestamp(kStart);
  for (const char* name : {"krw", "fx"}) {
    v1::Branch* branch = saga.add_branches();
    branch->set_branch(name);
    branch->set_participant(std::string(name) + "-ledger");
    branch->set_try_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_confirm_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_cancel_status(v1::CALL_STATUS_NOT_SENT);
  }
  return saga;
}

DriveInput At(absl::Time now, bool answered = false) {
  DriveInput input;
  input.now = now;
  input.answered = answered;
  return input;
}

v1::BranchResponse Outcome(v1::Outcome outcome, v1::RejectReason reason = {}) {
  v1::BranchResponse response;
  response.set_outcome(outcome);
  response.set_reason(reason);
  return response;
}

// Answers `call` on every branch of `decision` with `answer`.
void Answer(v1::Saga& saga, const Decision& decision, absl::Time now,
            const absl::StatusOr<v1::BranchResponse>& answer) {
  for (int index : decision.branches) {
    RecordAnswer(*saga.mutable_branches(index), decision.call, answer, now,
                 ToTime(saga.try_deadline()));
  }
}

// A saga in TRYING whose Trys were all sent once and answered with `answer`.
v1::Saga TriedWith(const absl::StatusOr<v1::BranchResponse>& answer, absl::Time at) {
  v1::Saga saga = NewSaga();
  REQUIRE(Decide(saga, At(kStart), RuleOptions{}).to == v1::SAGA_STATE_TRYING);
  const Decision trys = Decide(saga, At(kStart), RuleOptions{});
  REQUIRE(trys.kind == Kind::kCall);
  Answer(saga, trys, at, answer);
  return saga;
}

TEST_CASE("a new saga starts trying or cancels when its quote expired first", "[unit]") {
  v1::Saga fresh = NewSaga();
  const Decision start = Decide(fresh, At(kStart), RuleOptions{});
  CHECK(start.kind == Kind::kWrite);
  CHECK(start.to == v1::SAGA_STATE_TRYING);
  CHECK(start.drive_on);
  CHECK(fresh.state() == v1::SAGA_STATE_TRYING);

  v1::Saga expired = NewSaga();
  const Decision cancel = Decide(expired, At(kStart + kQuoteTtl), RuleOptions{});
  CHECK(cancel.to == v1::SAGA_STATE_CANCELLING);
  CHECK(expired.failure_reason() == "QUOTE_EXPIRED");
  CHECK_FALSE(cancel.drive_on);
  // The decision to cancel carries every Cancel to the relay, in the same write.
  CHECK(cancel.dispatch == std::vector<int>{0, 1});
  CHECK(cancel.detail == "quote expired before the Trys; every Cancel sent to the relay");
  for (const v1::Branch& branch : expired.branches()) CHECK(branch.has_dispatched_at());
}

TEST_CASE("the Trys go out together by the earliest of three deadlines", "[unit]") {
  v1::Saga saga = NewSaga();
  Decide(saga, At(kStart), RuleOptions{});
  DriveInput input = At(kStart);
  input.respond_by = kStart + absl::Milliseconds(500);
  const Decision trys = Decide(saga, input, RuleOptions{});
  CHECK(trys.kind == Kind::kCall);
  CHECK(trys.call == BranchCall::kTry);
  CHECK(trys.branches == std::vector<int>{0, 1});
  // The customer's deadline, less the margin to answer them, comes before the call timeout.
  CHECK(trys.deadline == kStart + absl::Milliseconds(500 - limits::kResponseMarginMs));

  input.respond_by = kStart + absl::Milliseconds(limits::kResponseMarginMs);
  const Decision handed = Decide(saga, input, RuleOptions{});
  CHECK(handed.kind == Kind::kWrite);
  CHECK(handed.detail == "handed to the background; next attempt in 0");
  CHECK(ToTime(saga.next_attempt_at()) == kStart);
}

TEST_CASE("one rejected Try cancels the saga with the ledger's reason", "[unit]") {
  v1::Saga saga = NewSaga();
  Decide(saga, At(kStart), RuleOptions{});
  const Decision trys = Decide(saga, At(kStart), RuleOptions{});
  RecordAnswer(*saga.mutable_branches(0), BranchCall::kTry, Outcome(v1::OUTCOME_APPLIED), kStart,
               ToTime(saga.try_deadline()));
  v1::BranchResponse rejected = Outcome(v1::OUTCOME_REJECTED, v1::REJECT_REASON_INSUFFICIENT_FUNDS);
  rejected.set_detail("balance 10 < 20");
  CHECK(RecordAnswer(*saga.mutable_branches(1), BranchCall::kTry, rejected, kStart,
                     ToTime(saga.try_deadline())) == "REJECTED");
  const Decision cancel = Decide(saga, At(kStart, /*answered=*/true), RuleOptions{});
  CHECK(cancel.to == v1::SAGA_STATE_CANCELLING);
  CHECK(saga.failure_reason() == "INSUFFICIENT_FUNDS");
  CHECK(saga.failure_detail() == "fx-ledger: INSUFFICIENT_FUNDS: balance 10 < 20");
  CHECK(cancel.dispatch == std::vector<int>{0, 1});
  CHECK_FALSE(cancel.drive_on);  // The relay settles; the driver has nothing left to do.
  CHECK(trys.branches.size() == 2);
}

TEST_CASE("every Try applied is the decision to confirm, written before any Confirm", "[unit]") {
  v1::Saga saga = TriedWith(Outcome(v1::OUTCOME_APPLIED), kStart);
  const Decision confirm = Decide(saga, At(kStart, true), RuleOptions{});
  CHECK(confirm.to == v1::SAGA_STATE_CONFIRMING);
  CHECK(confirm.detail == "every Try applied; decision: confirm; every Confirm sent to the relay");
  // The decision carries its Confirms, in the same write: no Confirm is ever a call of the driver.
  CHECK(confirm.dispatch == std::vector<int>{0, 1});
  CHECK_FALSE(confirm.drive_on);
  const v1::BranchCommand command = BranchCommandFor(saga, 1);
  CHECK(command.op() == v1::BRANCH_OP_CONFIRM);
  CHECK(command.participant() == "fx-ledger");
  // Until the relay's word is due, a drive (a resubmission, a recovery pass) writes nothing.
  CHECK(Decide(saga, At(kStart + absl::Seconds(1)), RuleOptions{}).kind == Kind::kWait);
  // The relay's answers finish the saga.
  saga.mutable_branches(0)->set_confirm_status(v1::CALL_STATUS_APPLIED);
  saga.mutable_branches(1)->set_confirm_status(v1::CALL_STATUS_APPLIED);
  const Decision done = DecideAfterResult(saga, "Confirm of fx answered", kStart);
  CHECK(done.to == v1::SAGA_STATE_COMPLETED);
  CHECK(Decide(saga, At(kStart), RuleOptions{}).kind == Kind::kWait);
}

TEST_CASE("an unanswered Try is sent again on its own schedule and only when due", "[unit]") {
  const absl::Time answered_at = kStart + absl::Milliseconds(50);
  v1::Saga saga = TriedWith(absl::UnavailableError("ledger down"), answered_at);
  const absl::Duration first = absl::Milliseconds(limits::kRetryDelayMsMin);
  CHECK(ToTime(saga.branches(0).next_try_at()) == answered_at + first);
  const Decision wait = Decide(saga, At(answered_at, true), RuleOptions{});
  CHECK(wait.kind == Kind::kWrite);
  CHECK_FALSE(wait.to.has_value());
  CHECK(ToTime(saga.next_attempt_at()) == answered_at + first);
  CHECK(wait.detail.find("next Try of krw after call 1 in 200ms, fx after call 1 in 200ms") !=
        std::string::npos);

  // A resubmission before the Trys are due sends nothing and writes nothing.
  CHECK(Decide(saga, At(answered_at + first / 2), RuleOptions{}).kind == Kind::kWait);

  // Only the due branch is called: the other one was answered meanwhile.
  RecordAnswer(*saga.mutable_branches(1), BranchCall::kTry, Outcome(v1::OUTCOME_APPLIED),
               answered_at, ToTime(saga.try_deadline()));
  const Decision again = Decide(saga, At(answered_at + first), RuleOptions{});
  CHECK(again.kind == Kind::kCall);
  CHECK(again.branches == std::vector<int>{0});
}

TEST_CASE("a Try backoff doubles per call and never passes the quote deadline", "[unit]") {
  v1::Branch branch;
  const absl::Time deadline = kStart + absl::Seconds(3);
  absl::Duration expected = absl::Milliseconds(limits::kRetryDelayMsMin);
  for (int call = 1; call <= 5; ++call) {
    RecordAnswer(branch, BranchCall::kTry, absl::DeadlineExceededError("slow"), kStart, deadline);
    CHECK(ToTime(branch.next_try_at()) == std::min(kStart + expected, deadline));
    expected *= 2;
  }
  CHECK(Backoff(100) == absl::Milliseconds(limits::kRetryDelayMsMax));
  // A refusal of the request itself is final for a Try, and clears its schedule.
  RecordAnswer(branch, BranchCall::kTry, absl::InvalidArgumentError("bad account"), kStart,
               deadline);
  CHECK(branch.try_status() == v1::CALL_STATUS_REJECTED);
  CHECK_FALSE(branch.has_next_try_at());
  CHECK(branch.last_error() == "INVALID_REQUEST: INVALID_ARGUMENT: bad account");
}

TEST_CASE("a rejected Try's reason is a field, not text read back out of its error", "[unit]") {
  v1::Branch branch;
  const absl::Time deadline = kStart + absl::Seconds(3);
  v1::BranchResponse rejected;
  rejected.set_outcome(v1::OUTCOME_REJECTED);
  rejected.set_reason(v1::REJECT_REASON_NOT_OWNER);
  rejected.set_detail("account alice-krw: not yours");
  RecordAnswer(branch, BranchCall::kTry, rejected, kStart, deadline);
  CHECK(branch.reject_reason() == v1::REJECT_REASON_NOT_OWNER);
  CHECK(branch.last_error() == "NOT_OWNER: account alice-krw: not yours");
  // Whatever the error text says, the reason comes from the field.
  branch.set_last_error("INSUFFICIENT_FUNDS: a misleading text");
  CHECK(RejectReasonOf(branch) == "NOT_OWNER");

  // A refusal of the request itself has a reason of its own.
  RecordAnswer(branch, BranchCall::kTry, absl::PermissionDeniedError("not the coordinator"), kStart,
               deadline);
  CHECK(branch.reject_reason() == v1::REJECT_REASON_INVALID_REQUEST);
  CHECK(RejectReasonOf(branch) == "INVALID_REQUEST");

  // An answer that is not a rejection clears it.
  v1::BranchResponse applied;
  applied.set_outcome(v1::OUTCOME_APPLIED);
  RecordAnswer(branch, BranchCall::kTry, applied, kStart, deadline);
  CHECK(branch.reject_reason() == v1::REJECT_REASON_UNSPECIFIED);

  // A row written before the field existed still gives its reason (a rolling upgrade).
  v1::Branch old_row;
  old_row.set_try_status(v1::CALL_STATUS_REJECTED);
  old_row.set_last_error("INSUFFICIENT_FUNDS: balance 10 < 20");
  CHECK(RejectReasonOf(old_row) == "INSUFFICIENT_FUNDS");
}

TEST_CASE("a Try still unanswered at the quote deadline cancels the saga without a call",
          "[unit]") {
  v1::Saga saga = TriedWith(absl::DeadlineExceededError("slow"), kStart);
  const Decision cancel = Decide(saga, At(kStart + kQuoteTtl), RuleOptions{});
  CHECK(cancel.to == v1::SAGA_STATE_CANCELLING);
  CHECK(saga.failure_reason() == "TIMEOUT");
  CHECK(cancel.detail ==
        "the Trys were not all answered before the quote expired; every Cancel sent to the relay");
}

TEST_CASE("a paused participant is waited for and cancelled at the quote deadline", "[unit]") {
  v1::Saga saga = NewSaga();
  Decide(saga, At(kStart), RuleOptions{});
  DriveInput paused = At(kStart);
  paused.paused.insert("fx-ledger");
  const Decision wait = Decide(saga, paused, RuleOptions{});
  CHECK(wait.kind == Kind::kWrite);
  CHECK(wait.detail == "waiting: participant fx-ledger is paused; next attempt in 1s");
  paused.now = kStart + kQuoteTtl;
  const Decision cancel = Decide(saga, paused, RuleOptions{});
  CHECK(cancel.to == v1::SAGA_STATE_CANCELLING);
  CHECK(saga.failure_detail() == "participant fx-ledger stayed paused past the quote's deadline");
}

TEST_CASE("a paused participant holds back the decision's commands until it resumes", "[unit]") {
  v1::Saga saga = TriedWith(Outcome(v1::OUTCOME_APPLIED), kStart);
  DriveInput paused = At(kStart, true);
  paused.paused.insert("fx-ledger");
  const Decision confirm = Decide(saga, paused, RuleOptions{});
  CHECK(confirm.to == v1::SAGA_STATE_CONFIRMING);
  CHECK(confirm.dispatch.empty());
  CHECK(confirm.detail ==
        "every Try applied; decision: confirm; every Confirm waits: participant fx-ledger is "
        "paused");
  CHECK(ToTime(saga.next_attempt_at()) == kStart + absl::Milliseconds(limits::kPausedRecheckMs));
  paused.answered = false;
  paused.now = kStart + absl::Seconds(1);
  const Decision still = Decide(saga, paused, RuleOptions{});
  CHECK(still.dispatch.empty());
  CHECK(still.detail == "waiting: participant fx-ledger is paused; next attempt in 1s");
  // Resumed: every Confirm goes out.
  const Decision resumed = Decide(saga, At(kStart + absl::Seconds(2)), RuleOptions{});
  CHECK(resumed.dispatch == std::vector<int>{0, 1});
  CHECK(resumed.detail == "Confirm of krw, fx sent to the relay");
}

TEST_CASE("a ledger that refuses a Confirm after the decision raises the alert", "[unit]") {
  v1::Saga saga = TriedWith(Outcome(v1::OUTCOME_APPLIED), kStart);
  Decide(saga, At(kStart, true), RuleOptions{});
  RecordAnswer(*saga.mutable_branches(0), BranchCall::kConfirm,
               Outcome(v1::OUTCOME_REJECTED, v1::REJECT_REASON_ACCOUNT_FROZEN), kStart, kStart);
  const Decision refused = DecideAfterResult(saga, "Confirm of krw answered", kStart);
  CHECK(refused.inconsistency);
  CHECK_FALSE(refused.to.has_value());
}

TEST_CASE("a command the relay went silent about is sent again unless the relay is behind",
          "[unit]") {
  RuleOptions relay;
  relay.relay = WordTimings{absl::Seconds(20), absl::Seconds(12), absl::Minutes(15)};
  v1::Saga saga = NewSaga();
  const Decision cancel = Decide(saga, At(kStart + kQuoteTtl), relay);
  REQUIRE(cancel.dispatch.size() == 2);
  const absl::Time silent_at = kStart + kQuoteTtl + absl::Seconds(20);
  CHECK(NextRedispatch(saga, absl::InfiniteFuture(), relay.relay) == silent_at);

  DriveInput behind = At(silent_at);
  behind.relay_behind = true;
  const Decision late = Decide(saga, behind, relay);
  CHECK(late.dispatch.empty());
  CHECK(ToTime(saga.branches(0).expect_word_by()) == silent_at + absl::Seconds(20));

  const Decision lost = Decide(saga, At(silent_at + absl::Seconds(20)), relay);
  CHECK(lost.dispatch == std::vector<int>{0, 1});
  CHECK(lost.silent == std::vector<std::string>{"krw", "fx"});
  // The second send waits twice as long for its first word.
  CHECK(ToTime(saga.branches(0).expect_word_by()) == silent_at + absl::Seconds(60));

  // A dead-lettered command waits for an operator, not for a silence.
  saga.mutable_branches(0)->set_dead_letter("poison");
  saga.mutable_branches(1)->set_cancel_status(v1::CALL_STATUS_NULL_COMPENSATION);
  CHECK(Decide(saga, At(silent_at + absl::Hours(1)), relay).dispatch.empty());
}

TEST_CASE("a relay's result finishes the saga or records what is still open", "[unit]") {
  v1::Saga saga = NewSaga();
  Decide(saga, At(kStart + kQuoteTtl), RuleOptions{});
  saga.mutable_branches(0)->set_cancel_status(v1::CALL_STATUS_APPLIED);
  const Decision open = DecideAfterResult(saga, "Cancel of krw answered", kStart + kQuoteTtl);
  CHECK_FALSE(open.to.has_value());
  CHECK(open.detail == "Cancel of krw answered; pending: fx ()");
  saga.mutable_branches(1)->set_cancel_status(v1::CALL_STATUS_NULL_COMPENSATION);
  const Decision done = DecideAfterResult(saga, "Cancel of fx answered", kStart + kQuoteTtl);
  CHECK(done.to == v1::SAGA_STATE_CANCELLED);
  CHECK(done.detail == "every branch cancelled; Cancel of fx answered");
}

// Participants that answer at random, a relay that loses commands, a clock that moves at random, a
// customer who may stop waiting: every saga must end, and end in a state its answers allow.
TEST_CASE("random answers drive every saga to an end its answers allow", "[unit]") {
  constexpr int kSagas = 20'000;
  int completed = 0;
  for (int seed = 1; seed <= kSagas; ++seed) {
    std::mt19937_64 random(seed);
    auto one_in = [&](int n) { return random() % n == 0; };
    RuleOptions options;
    v1::Saga saga = NewSaga();
    absl::Time now = kStart;
    bool answered = false;
    bool any_try_rejected = false;
    int decisions = 0;
    for (; !IsTerminal(saga.state()); ++decisions) {
      INFO("seed " << seed << ", decision " << decisions << ", state " << StateName(saga.state()));
      REQUIRE(decisions < 1'000);
      DriveInput input = At(now, answered);
      if (one_in(3)) input.respond_by = now + absl::Milliseconds(random() % 3'000);
      if (one_in(20)) input.paused.insert("fx-ledger");
      const v1::SagaState from = saga.state();
      const Decision decision = Decide(saga, input, options);
      answered = false;
      if (decision.to) {
        REQUIRE(IsAllowedTransition(from, *decision.to));
        // The decision to confirm needs every Try applied; no Try may be rejected.
        if (*decision.to == v1::SAGA_STATE_CONFIRMING) {
          for (const v1::Branch& branch : saga.branches())
            REQUIRE(branch.try_status() == v1::CALL_STATUS_APPLIED);
          REQUIRE_FALSE(any_try_rejected);
        }
      }
      if (decision.kind == Kind::kCall) {
        REQUIRE(decision.deadline > now);
        for (int index : decision.branches) {
          const int draw = static_cast<int>(random() % 10);
          absl::StatusOr<v1::BranchResponse> answer =
              draw < 6   ? absl::StatusOr<v1::BranchResponse>(Outcome(v1::OUTCOME_APPLIED))
              : draw < 8 ? absl::StatusOr<v1::BranchResponse>(absl::UnavailableError("down"))
              : draw < 9
                  ? absl::StatusOr<v1::BranchResponse>(
                        decision.call == BranchCall::kCancel
                            ? Outcome(v1::OUTCOME_NULL_COMPENSATION)
                            : Outcome(v1::OUTCOME_REJECTED, v1::REJECT_REASON_INSUFFICIENT_FUNDS))
                  : absl::StatusOr<v1::BranchResponse>(Outcome(v1::OUTCOME_DUPLICATE));
          if (decision.call == BranchCall::kTry && draw == 8) any_try_rejected = true;
          // After the decision a ledger accepts the Confirm of what it held: only a Try may be
          // refused.
          if (decision.call == BranchCall::kConfirm && draw == 8)
            answer = Outcome(v1::OUTCOME_APPLIED);
          RecordAnswer(*saga.mutable_branches(index), decision.call, answer, now,
                       ToTime(saga.try_deadline()));
        }
        answered = true;
        now += absl::Milliseconds(random() % 500);
      }
      // The relay executes what the write queued. A command may be lost (nothing is heard, and
      // the driver sends it again after the silence); a Cancel whose Try never held is a null
      // compensation.
      for (int index : decision.dispatch) {
        if (IsTerminal(saga.state()) || one_in(4)) continue;
        v1::Branch& branch = *saga.mutable_branches(index);
        const bool confirm = saga.state() == v1::SAGA_STATE_CONFIRMING;
        RecordAnswer(branch, confirm ? BranchCall::kConfirm : BranchCall::kCancel,
                     Outcome(!confirm && branch.try_status() != v1::CALL_STATUS_APPLIED
                                 ? v1::OUTCOME_NULL_COMPENSATION
                                 : v1::OUTCOME_APPLIED),
                     now, ToTime(saga.try_deadline()));
        branch.clear_expect_word_by();
        const v1::SagaState before = saga.state();
        const Decision after = DecideAfterResult(saga, "answered through the relay", now);
        if (after.to) REQUIRE(IsAllowedTransition(before, *after.to));
      }
      if (decision.kind == Kind::kWait || (decision.kind == Kind::kWrite && !decision.drive_on)) {
        // The background comes back when the saga is due (or a little later).
        now = std::max(now, ToTime(saga.next_attempt_at())) + absl::Milliseconds(random() % 300);
      }
    }
    INFO("seed " << seed);
    if (saga.state() == v1::SAGA_STATE_COMPLETED) {
      ++completed;
      for (const v1::Branch& branch : saga.branches()) {
        CHECK(branch.try_status() == v1::CALL_STATUS_APPLIED);
        CHECK(branch.confirm_status() == v1::CALL_STATUS_APPLIED);
      }
    } else {
      for (const v1::Branch& branch : saga.branches())
        CHECK(IsBranchSettled(branch, v1::SAGA_STATE_CANCELLING));
    }
  }
  // Both ends are reached often: the walk is not stuck on one path.
  CHECK(completed > kSagas / 10);
  CHECK(completed < kSagas * 9 / 10);
}

}  // namespace
}  // namespace fxmesh::coordinator
