// The coordinator's parts wired as in the service, run with no socket, database or sleep
// (in_process_mesh.h). The same behaviour over real gRPC ledgers and a real database is proven by
// saga_engine_test.cc and relay_settle_test.cc.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "tests/coordinator/in_process_mesh.h"

namespace fxmesh::coordinator {
namespace {

using simulation::HoldState;

TEST_CASE("in process: the driver decides an exchange and the relay completes it",
          "[coordinator][unit]") {
  InProcessMesh mesh;
  const v1::Quote quote = mesh.Quote(10'000);
  const v1::Exchange pending = mesh.Exchange("ex-1", quote);
  CHECK(pending.status() == v1::EXCHANGE_STATUS_PENDING);
  CHECK(pending.state() == v1::SAGA_STATE_TRYING);

  const v1::Saga decided = mesh.Drive(pending.saga_id());
  CHECK(decided.state() == v1::SAGA_STATE_CONFIRMING);
  // Both holds are made, and the decision's two Confirms wait in the outbox, not sent inline.
  CHECK(mesh.krw().HoldOf(decided.saga_id(), "krw") == HoldState::kHeld);
  CHECK(mesh.fx().HoldOf(decided.saga_id(), "fx") == HoldState::kHeld);
  CHECK(mesh.Unsent() >= 2);

  CHECK(mesh.Settle() == 2);
  CHECK(mesh.Saga(decided.saga_id()).state() == v1::SAGA_STATE_COMPLETED);
  CHECK(mesh.krw().HoldOf(decided.saga_id(), "krw") == HoldState::kConfirmed);
  CHECK(mesh.fx().HoldOf(decided.saga_id(), "fx") == HoldState::kConfirmed);
  v1::GetExchangeRequest get;
  get.set_saga_id(decided.saga_id());
  get.set_customer_id("alice");
  absl::StatusOr<v1::Exchange> seen = mesh.engine().intake().GetExchange(get);
  REQUIRE(seen.ok());
  CHECK(seen->status() == v1::EXCHANGE_STATUS_COMPLETED);
  // Asked again with the same key, the customer gets the same exchange, and nothing moves twice.
  const v1::Exchange again = mesh.Exchange("ex-1", quote);
  CHECK(again.saga_id() == decided.saga_id());
  CHECK(again.status() == v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(mesh.Settle() == 0);
  mesh.CheckLedgers();
}

TEST_CASE("in process: a customer who waits hears COMPLETED when the relay finishes",
          "[coordinator][unit]") {
  InProcessMesh mesh;
  const v1::Quote quote = mesh.Quote(10'000);
  // The customer's call waits for the finish; its deadline is 10 s of the fake clock away.
  v1::Exchange answered;
  std::atomic<bool> finished{false};
  std::thread customer([&] {
    answered = mesh.Call("ex-1", quote, mesh.clock().Now() + absl::Seconds(10));
    finished = true;
  });
  // The relay runs when the engine says commands were queued. An answer that came while the
  // customer's drive still held the saga is set aside and applied again once its short pause has
  // passed, so time moves by that pause between passes.
  while (!finished) {
    mesh.Settle();
    if (finished) break;
    mesh.clock().Advance(absl::Milliseconds(limits::kLocalRelayBusyRetryMsMin));
    mesh.AwaitQueued(absl::Milliseconds(10));
  }
  customer.join();
  CHECK(answered.status() == v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(answered.state() == v1::SAGA_STATE_COMPLETED);
  mesh.CheckLedgers();
}

TEST_CASE("in process: a refused Try cancels the saga and the relay releases the other hold",
          "[coordinator][unit]") {
  InProcessMesh mesh;
  // 10,000 USD costs far more than alice's 1,000,000 KRW.
  const v1::Exchange pending = mesh.Exchange("ex-1", mesh.Quote(1'000'000));
  const v1::Saga decided = mesh.Drive(pending.saga_id());
  CHECK(decided.state() == v1::SAGA_STATE_CANCELLING);
  CHECK(decided.failure_reason() == "INSUFFICIENT_FUNDS");
  CHECK(mesh.fx().HoldOf(decided.saga_id(), "fx") == HoldState::kHeld);

  mesh.Settle();
  const v1::Saga saga = mesh.Saga(decided.saga_id());
  CHECK(saga.state() == v1::SAGA_STATE_CANCELLED);
  CHECK(mesh.fx().HoldOf(decided.saga_id(), "fx") == HoldState::kCancelled);
  CHECK(mesh.krw().HoldOf(decided.saga_id(), "krw") != HoldState::kHeld);
  mesh.CheckLedgers();
}

TEST_CASE("in process: a Try the ledger never heard is sent again once time has moved",
          "[coordinator][unit]") {
  InProcessMesh mesh;
  mesh.fx().SetDown(true);
  const v1::Exchange pending = mesh.Exchange("ex-1", mesh.Quote(10'000));
  const v1::Saga tried = mesh.Drive(pending.saga_id());
  CHECK(tried.state() == v1::SAGA_STATE_TRYING);
  CHECK(mesh.krw().HoldOf(pending.saga_id(), "krw") == HoldState::kHeld);
  CHECK(mesh.fx().HoldOf(pending.saga_id(), "fx") == std::nullopt);
  CHECK(mesh.Settle() == 0);  // Nothing decided, nothing to settle.

  // Too soon, the Try is not due again: a drive sends nothing.
  mesh.fx().SetDown(false);
  const int calls = mesh.fx().calls();
  CHECK(mesh.Drive(pending.saga_id()).state() == v1::SAGA_STATE_TRYING);
  CHECK(mesh.fx().calls() == calls);

  // Once its retry is due, the next drive sends the Try again and decides.
  const absl::Time due = ToTime(mesh.Saga(pending.saga_id()).next_attempt_at());
  REQUIRE(due > mesh.clock().Now());
  mesh.clock().Advance(due - mesh.clock().Now());
  CHECK(mesh.Drive(pending.saga_id()).state() == v1::SAGA_STATE_CONFIRMING);
  mesh.Settle();
  CHECK(mesh.Saga(pending.saga_id()).state() == v1::SAGA_STATE_COMPLETED);
  mesh.CheckLedgers();
}

TEST_CASE("in process: a decided command that went missing is sent again after its silence",
          "[coordinator][unit]") {
  InProcessMesh mesh;
  const v1::Saga decided = mesh.Drive(mesh.Exchange("ex-1", mesh.Quote(10'000)).saga_id());
  REQUIRE(decided.state() == v1::SAGA_STATE_CONFIRMING);
  // The commands leave the outbox and are lost on the way (a relay that died holding them).
  absl::StatusOr<std::vector<OutboxMessage>> rows = mesh.store().ListUnsentOutbox(0, 100);
  REQUIRE(rows.ok());
  std::vector<int64_t> ids;
  for (const OutboxMessage& row : *rows) ids.push_back(row.outbox_id);
  REQUIRE(mesh.store().MarkOutboxSent(ids, mesh.clock().Now()).ok());
  CHECK(mesh.Settle() == 0);

  // Past the time its first word was due, the saga is due again and its drive queues the
  // commands once more; the relay then completes it.
  mesh.clock().Advance(absl::Milliseconds(limits::kRelayFirstWordAfterMs) + absl::Seconds(1));
  mesh.Drive(decided.saga_id());
  CHECK(mesh.Settle() == 2);
  CHECK(mesh.Saga(decided.saga_id()).state() == v1::SAGA_STATE_COMPLETED);
  CHECK(mesh.fx().HoldOf(decided.saga_id(), "fx") == HoldState::kConfirmed);
  mesh.CheckLedgers();
}

}  // namespace
}  // namespace fxmesh::coordinator
