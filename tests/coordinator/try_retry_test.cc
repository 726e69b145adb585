// Proves that an unanswered Try follows one retry schedule per branch (both backends): however
// often the customer resubmits the request and the recovery loop passes, the Try is sent no more
// often than its backoff says; and the schedule never reaches past the quote's deadline, so a saga
// whose Try stays unanswered cancels when its quote expires, not a backoff later.
#include <catch2/catch.hpp>
#include <thread>

#include "common/proto_time.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

// When the saga's step log first records `state`.
absl::Time EnteredAt(SagaStore& store, const std::string& saga_id, v1::SagaState state) {
  absl::StatusOr<std::vector<v1::Step>> steps = store.ListSteps(saga_id);
  REQUIRE(steps.ok());
  for (const v1::Step& step : *steps) {
    if (step.to_state() == state && step.from_state() != state) return ToTime(step.at());
  }
  FAIL("the saga never entered " << v1::SagaState_Name(state));
  return absl::InfinitePast();
}

FXMESH_BACKEND_TEST("resubmissions and recovery passes do not send a Try before its time",
                    "[coordinator][integration]") {
  CoordinatorHarness mesh(backend);
  mesh.fx().FailNext(CallKind::kTry, 1'000);  // The FX ledger never answers a Try.
  const v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
  absl::StatusOr<v1::Exchange> first = mesh.Exchange("impatient", "alice", quote);
  REQUIRE(first.ok());
  REQUIRE(first->state() == v1::SAGA_STATE_TRYING);
  const absl::Time started = absl::Now();
  // The customer resubmits every 20 ms, with recovery passes in between.
  for (int resubmission = 0; resubmission < 30; ++resubmission) {
    REQUIRE(mesh.Exchange("impatient", "alice", quote, absl::Milliseconds(50)).ok());
    (void)mesh.Settle(absl::ZeroDuration());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const absl::Duration elapsed = absl::Now() - started;
  // Its schedule allows sends at 0, +200 ms, +600 ms, +1.4 s, +3 s, ... after the first call;
  // one more for the time the first call itself took.
  int allowed = 1;
  for (absl::Duration at : {absl::Milliseconds(200), absl::Milliseconds(600),
                            absl::Milliseconds(1'400), absl::Seconds(3), absl::Seconds(6)}) {
    if (at <= elapsed) ++allowed;
  }
  INFO("elapsed " << absl::FormatDuration(elapsed));
  CHECK(mesh.fx().attempts(CallKind::kTry) <= allowed + 1);
  CHECK(mesh.fx().attempts(CallKind::kTry) < 30);
  CHECK(mesh.fx().attempts(CallKind::kTry) >= 2);
  // The step log says when the next Try goes.
  absl::StatusOr<std::vector<v1::Step>> steps = mesh.store().ListSteps(first->saga_id());
  REQUIRE(steps.ok());
  CHECK(steps->back().detail().find("next Try of fx after call") != std::string::npos);
}

FXMESH_BACKEND_TEST("a Try left unanswered cancels the saga when its quote expires",
                    "[coordinator][integration]") {
  HarnessOptions options;
  options.quote_ttl = absl::Milliseconds(6'500);
  CoordinatorHarness mesh(backend, options);
  mesh.fx().FailNext(CallKind::kTry, 1'000);
  absl::StatusOr<v1::Exchange> exchange =
      mesh.Exchange("expires", "alice", mesh.Quote("KRW", "USD", 0, 1'000));
  REQUIRE(exchange.ok());
  // Backing off from 200 ms, the sends fall at 0, 0.2, 0.6, 1.4, 3.0 and 6.2 s; the next would be
  // 12.6 s, far past the quote's 6.5 s: the schedule stops at the deadline instead.
  CHECK(mesh.Settle(absl::Seconds(20)) == 0);
  const v1::Saga saga = mesh.Saga(exchange->saga_id());
  CHECK(saga.state() == v1::SAGA_STATE_CANCELLED);
  CHECK(saga.failure_reason() == "TIMEOUT");
  const absl::Duration late = EnteredAt(mesh.store(), saga.saga_id(), v1::SAGA_STATE_CANCELLING) -
                              ToTime(saga.try_deadline());
  CHECK(late >= absl::ZeroDuration());
  CHECK(late < absl::Seconds(1));
  mesh.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
