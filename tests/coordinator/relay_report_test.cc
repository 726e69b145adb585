// Proves that a relay's report that a command moved to a retry tier is written only when it moves
// the coordinator's expectation of the command: a report that changes nothing takes no lease and
// writes no row, so a backlog of reports drains at the cost of reads (both backends).
#include <catch2/catch.hpp>

#include "common/proto_time.h"
#include "coordinator/relay_expectation.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

v1::BranchResult RetryReport(const std::string& saga_id, absl::Time due) {
  v1::BranchResult report;
  report.mutable_branch()->set_saga_id(saga_id);
  report.mutable_branch()->set_branch("fx");
  report.set_participant("fx-ledger");
  report.set_op(v1::BRANCH_OP_CONFIRM);
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
  options.settle_through_kafka = true;  // No relay runs: the commands stay in the outbox.
  CoordinatorHarness harness(backend, options);
  // The inline Confirm finds the FX ledger down: its Confirm goes to the relay.
  harness.fx().FailNext(CallKind::kConfirm, 1, absl::UnavailableError("injected: ledger down"));
  absl::StatusOr<v1::Exchange> exchange =
      harness.Exchange("report-1", "alice", harness.Quote("KRW", "USD", 137'025, 0));
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
  REQUIRE(
      harness.engine().ApplyBranchResult(RetryReport(saga_id, expected - timings.after_due)).ok());
  CHECK(StepCount(harness, saga_id) == steps);
  CHECK(ToTime(Fx(harness.Saga(saga_id)).expect_word_by()) == expected);

  // A later attempt moves it, once.
  const absl::Time later = expected + absl::Seconds(30);
  REQUIRE(harness.engine().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  CHECK(StepCount(harness, saga_id) == steps + 1);
  CHECK(ToTime(Fx(harness.Saga(saga_id)).expect_word_by()) == later + timings.after_due);
  REQUIRE(harness.engine().ApplyBranchResult(RetryReport(saga_id, later)).ok());
  CHECK(StepCount(harness, saga_id) == steps + 1);
}

}  // namespace
}  // namespace fxmesh::coordinator
