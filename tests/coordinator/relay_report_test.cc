// Proves how the relay's answers are applied (both backends): a report that a command moved to a
// retry tier is written only when it moves the coordinator's expectation of the command, so a
// backlog of reports drains at the cost of reads; an answer that changes something costs one read
// and one write, takes no lease and leaves none, and is never written under another driver's live
// lease; and a write made from a read that another writer overtook is refused, so none is lost.
// An answer about a saga this replica wrote last starts from the saga as written, with no read;
// when another writer (another replica, an operator's retry now) moved it on since, the answer is
// applied to the saga as stored.
#include <catch2/catch.hpp>

#include "common/proto_time.h"
#include "coordinator/relay_expectation.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

// What the relay says about the fx branch's Confirm: by default, that it was applied.
v1::BranchResult FxConfirmResult(const std::string& saga_id) {
  v1::BranchResult result;
  result.mutable_branch()->set_saga_id(saga_id);
  result.mutable_branch()->set_branch("fx");
  result.set_participant("fx-ledger");
  result.set_op(v1::BRANCH_OP_CONFIRM);
  result.set_kind(v1::RESULT_KIND_ANSWERED);
  result.set_outcome(v1::OUTCOME_APPLIED);
  result.set_attempt(1);
  return result;
}

v1::BranchResult RetryReport(const std::string& saga_id, absl::Time due) {
  v1::BranchResult report = FxConfirmResult(saga_id);
  report.clear_outcome();
  report.set_kind(v1::RESULT_KIND_RETRYING);
  report.set_attempt(2);
  report.set_detail("injected: ledger down");
  *report.mutable_next_attempt_at() = ToTimestamp(due);
  return report;
}

const v1::Branch& Fx(const v1::Saga& saga) {
  return saga.branches(0).branch() == "fx" ? saga.branches(0) : saga.branches(1);
}

size_t StepCount(CoordinatorHarness& harness, const std::string& saga_id) {
  absl::StatusOr<std::vector<v1::Step>> steps = harness.store().ListSteps(saga_id);
  REQUIRE(steps.ok());
  return steps->size();
}

FXMESH_BACKEND_TEST("a retry report that does not move the expectation writes nothing",
                    "[coordinator][relay]") {
  HarnessOptions options;
  options.external_relay = true;  // No relay runs: the Confirms stay in the outbox.
  CoordinatorHarness harness(backend, options);
  absl::StatusOr<v1::Exchange> exchange = harness.Exchange(
      "report-1", "alice", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(1));
  REQUIRE(exchange.ok());
  const std::string& saga_id = exchange->saga_id();
  const v1::Saga sent = harness.Saga(saga_id);
  REQUIRE(sent.state() == v1::SAGA_STATE_CONFIRMING);
  REQUIRE(Fx(sent).has_expect_word_by());
  const absl::Time expected = ToTime(Fx(sent).expect_word_by());
  const size_t steps = StepCount(harness, saga_id);

  // An attempt due so early that the expectation already covers it: a late report of an older
  // attempt, or a first tier shorter than the first expectation.
  const WordTimings timings{options.relay_first_word_after, options.relay_word_after_due};
  REQUIRE(harness.engine()
              .settlement()
              .ApplyBranchResult(RetryReport(saga_id, expected - timings.after_due))
              .ok());
  CHECK(StepCount(harness, saga_id) == steps);
  CHECK(ToTime(Fx(harness.Saga(saga_id)).expect_word_by()) == expected);

  // A later attempt moves it, once.
  const absl::Time later = expected + absl::Seconds(30);
  REQUIRE(harness.engine().settlement().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  CHECK(StepCount(harness, saga_id) == steps + 1);
  CHECK(ToTime(Fx(harness.Saga(saga_id)).expect_word_by()) == later + timings.after_due);
  REQUIRE(harness.engine().settlement().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  CHECK(StepCount(harness, saga_id) == steps + 1);
}

// Settling through the relay, which does not run: the commands stay in the outbox.
HarnessOptions OutboxOnly() {
  HarnessOptions options;
  options.external_relay = true;
  return options;
}

// A saga CONFIRMING whose Confirms are with the relay (which does not run).
std::string ConfirmWithTheRelay(CoordinatorHarness& harness, const std::string& key) {
  absl::StatusOr<v1::Exchange> exchange =
      harness.Exchange(key, "alice", harness.Quote("KRW", "USD", 137'025, 0), absl::Seconds(1));
  REQUIRE(exchange.ok());
  REQUIRE(harness.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_CONFIRMING);
  return exchange->saga_id();
}

FXMESH_BACKEND_TEST("an answer from the relay is one write, under no lease and never another's",
                    "[coordinator][relay]") {
  CoordinatorHarness harness(backend, OutboxOnly());
  const std::string saga_id = ConfirmWithTheRelay(harness, "report-lease");
  const v1::Saga before = harness.Saga(saga_id);
  const v1::BranchResult report =
      RetryReport(saga_id, ToTime(Fx(before).expect_word_by()) + absl::Minutes(1));

  // Another replica drives the saga right now: the report waits (the consumer tries it again).
  const absl::Time now = absl::Now();
  REQUIRE(*harness.store().ClaimSaga(saga_id, "other-replica", now, now + absl::Seconds(30)));
  CHECK(absl::IsAborted(harness.engine().settlement().ApplyBranchResult(report)));
  CHECK(harness.Saga(saga_id).revision() == before.revision());
  CHECK(Fx(harness.Saga(saga_id)).expect_word_by() == Fx(before).expect_word_by());

  // Once it lets go, the report is written once, and the saga stays free for any driver.
  REQUIRE(harness.store().ReleaseSaga(saga_id, "other-replica").ok());
  REQUIRE(harness.engine().settlement().ApplyBranchResult(report).ok());
  const v1::Saga after = harness.Saga(saga_id);
  CHECK(after.revision() == before.revision() + 1);
  CHECK(Fx(after).expect_word_by() != Fx(before).expect_word_by());
  CHECK(*harness.store().ClaimSaga(saga_id, "other-replica", absl::Now(),
                                   absl::Now() + absl::Seconds(30)));
}

FXMESH_BACKEND_TEST("a saga written from a read that another writer overtook is refused",
                    "[coordinator][relay]") {
  CoordinatorHarness harness(backend, OutboxOnly());
  const std::string saga_id = ConfirmWithTheRelay(harness, "report-stale");
  // A driver reads the saga; then the relay's report is applied, in the same state.
  v1::Saga stale = harness.Saga(saga_id);
  REQUIRE(harness.engine()
              .settlement()
              .ApplyBranchResult(
                  RetryReport(saga_id, ToTime(Fx(stale).expect_word_by()) + absl::Minutes(1)))
              .ok());
  const v1::Saga reported = harness.Saga(saga_id);
  REQUIRE(reported.revision() == stale.revision() + 1);

  // The driver's write, from what it read, would undo the report: it is refused.
  stale.set_attempt(stale.attempt() + 1);
  const absl::Time now = absl::Now();
  absl::Status written = harness.store().SaveSaga(
      stale, v1::SAGA_STATE_CONFIRMING, "driver", now + absl::Seconds(30),
      StepRecord{v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_CONFIRMING, "stale"}, {}, now);
  CHECK(absl::IsAborted(written));
  const v1::Saga kept = harness.Saga(saga_id);
  CHECK(kept.revision() == reported.revision());
  CHECK(Fx(kept).expect_word_by() == Fx(reported).expect_word_by());
  CHECK(kept.attempt() == reported.attempt());
}

FXMESH_BACKEND_TEST("an answer about a saga this replica wrote last is applied without a read",
                    "[coordinator][relay]") {
  CoordinatorHarness harness(backend, OutboxOnly());
  const std::string saga_id = ConfirmWithTheRelay(harness, "answer-unread");
  const v1::Saga before = harness.Saga(saga_id);
  const absl::Time later = ToTime(Fx(before).expect_word_by()) + absl::Minutes(1);
  const int64_t reads = harness.coordinator_database().reads();
  REQUIRE(harness.engine().settlement().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  CHECK(harness.coordinator_database().reads() == reads);
  const v1::Saga after = harness.Saga(saga_id);
  CHECK(after.revision() == before.revision() + 1);
  CHECK(Fx(after).expect_word_by() != Fx(before).expect_word_by());
}

FXMESH_BACKEND_TEST("an answer about a saga another writer moved on is applied to it as stored",
                    "[coordinator][relay]") {
  CoordinatorHarness harness(backend, OutboxOnly());
  const std::string saga_id = ConfirmWithTheRelay(harness, "answer-overtaken");
  // Another replica writes the saga after this one did: this one's copy is now stale.
  v1::Saga other = harness.Saga(saga_id);
  other.set_attempt(other.attempt() + 7);
  const absl::Time now = absl::Now();
  REQUIRE(harness.store()
              .SaveSaga(other, v1::SAGA_STATE_CONFIRMING, "other-replica", now,
                        StepRecord{v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_CONFIRMING, "other"},
                        {}, now)
              .ok());
  const int64_t reads = harness.coordinator_database().reads();
  const absl::Time later = ToTime(Fx(other).expect_word_by()) + absl::Minutes(1);
  REQUIRE(harness.engine().settlement().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  // The stale copy's write was refused; the saga was read and the answer applied to it, keeping
  // the other writer's change.
  CHECK(harness.coordinator_database().reads() == reads + 1);
  const v1::Saga after = harness.Saga(saga_id);
  CHECK(after.revision() == other.revision() + 2);
  CHECK(after.attempt() == other.attempt());
  CHECK(Fx(after).expect_word_by() != Fx(other).expect_word_by());
}

FXMESH_BACKEND_TEST("an answer does not undo an operator's retry now made after this replica wrote",
                    "[coordinator][relay]") {
  CoordinatorHarness harness(backend, OutboxOnly());
  const std::string saga_id = ConfirmWithTheRelay(harness, "answer-after-retry-now");
  // The operator's "retry now" lands after the replica's last write of the saga.
  REQUIRE(*harness.store().ScheduleSaga(saga_id, absl::Now()));
  const v1::Saga scheduled = harness.Saga(saga_id);
  // The fx Confirm is answered; the krw one is still open, so the saga stays CONFIRMING and the
  // answer's write leaves the next attempt where it found it.
  REQUIRE(harness.engine().settlement().ApplyBranchResult(FxConfirmResult(saga_id)).ok());
  const v1::Saga after = harness.Saga(saga_id);
  REQUIRE(after.state() == v1::SAGA_STATE_CONFIRMING);
  CHECK(after.revision() == scheduled.revision() + 1);
  CHECK(ToTime(after.next_attempt_at()) == ToTime(scheduled.next_attempt_at()));
}

}  // namespace
}  // namespace fxmesh::coordinator
