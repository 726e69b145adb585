// Proves that a saga's lease is held exactly while a driver acts on it, with two replicas on one
// database (both backends): a replica whose workers are all busy claims no due saga, so the other
// replica drives them at once; and approving a resolution while another thread of the same replica
// is driving the saga is refused, instead of releasing the lease that drive is working under. A
// lease is never left to expire when its holder can give it back: a replica that starts again
// frees what it held when it crashed, and a release that failed is made on the next pass.
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/executor.h"
#include "coordinator/recovery.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

FXMESH_BACKEND_TEST("a replica with no free worker claims nothing and another replica recovers",
                    "[coordinator][concurrency]") {
  CoordinatorHarness mesh(backend);
  std::unique_ptr<SagaEngine> busy_replica = mesh.NewReplica("busy-replica");
  std::unique_ptr<SagaEngine> free_replica = mesh.NewReplica("free-replica");
  constexpr int kSagas = 5;
  for (int i = 0; i < kSagas; ++i) mesh.UndrivenSaga(absl::StrCat("due-", i));

  // Every worker of the busy replica is taken by work that does not end yet.
  Executor workers("busy", 2, 64);
  absl::Notification release;
  for (int i = 0; i < 2; ++i) REQUIRE(workers.Submit([&] { release.WaitForNotification(); }));
  for (int wait = 0; wait < 200 && workers.IdleWorkers() > 0; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(workers.IdleWorkers() == 0);

  absl::StatusOr<int> started =
      RecoverDueSagas(busy_replica->leases(), busy_replica->driver(), workers);
  REQUIRE(started.ok());
  CHECK(*started == 0);
  // Nothing was leased to the busy replica, so the other one takes every due saga now.
  absl::StatusOr<std::vector<std::string>> claimed = free_replica->leases().ClaimDue(64);
  REQUIRE(claimed.ok());
  CHECK(claimed->size() == kSagas);
  for (const std::string& saga_id : *claimed) {
    absl::StatusOr<v1::Saga> driven = free_replica->driver().Drive(saga_id);
    REQUIRE(driven.ok());
    // Decided; the relay completes it.
    CHECK(driven->state() == v1::SAGA_STATE_CONFIRMING);
  }
  CHECK(mesh.Settle() == 0);
  release.Notify();

  // With free workers, a pass starts as many drives as there are workers and due sagas.
  mesh.UndrivenSaga("due-later");
  for (int wait = 0; wait < 200 && workers.IdleWorkers() < 2; ++wait)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  started = RecoverDueSagas(busy_replica->leases(), busy_replica->driver(), workers);
  REQUIRE(started.ok());
  CHECK(*started == 1);
  CHECK(mesh.Settle() == 0);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("an exchange's drive needs no claim and no release of its own",
                    "[coordinator][concurrency]") {
  HarnessOptions options;
  options.external_relay = true;  // No relay runs: the Confirms stay in the outbox, unsettled.
  CoordinatorHarness mesh(backend, options);
  const v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
  const int64_t before = mesh.coordinator_database().commit_counts().transactions;
  absl::StatusOr<v1::Exchange> exchange =
      mesh.Exchange("one-lease", "alice", quote, absl::Milliseconds(600));
  REQUIRE(exchange.ok());
  REQUIRE(exchange->state() == v1::SAGA_STATE_CONFIRMING);
  // The saga is created leased to its driver, and the decision's write gives the lease back: the
  // create, TRYING and CONFIRMING, and no claim or release in between.
  CHECK(mesh.coordinator_database().commit_counts().transactions - before == 3);
  // Given back, not left to expire: another replica takes the saga at once.
  absl::StatusOr<bool> claimed = mesh.store().ClaimSaga(
      exchange->saga_id(), "other-replica", absl::Now(), absl::Now() + absl::Seconds(30));
  REQUIRE(claimed.ok());
  CHECK(*claimed);
  CHECK(mesh.store().ReleaseSaga(exchange->saga_id(), "other-replica").ok());
}

FXMESH_BACKEND_TEST("a recovery pass that was full asks for the next as its drives end",
                    "[coordinator][concurrency]") {
  CoordinatorHarness mesh(backend);
  for (int i = 0; i < 3; ++i) mesh.UndrivenSaga(absl::StrCat("backlog-", i));
  std::atomic<int> asked{0};
  {
    // Room for two of the three: the pass is full, so each drive asks for another pass.
    Executor workers("recovery", 2, 2);
    absl::StatusOr<int> started = RecoverDueSagas(mesh.engine().leases(), mesh.engine().driver(),
                                                  workers, [&asked] { ++asked; });
    REQUIRE(started.ok());
    CHECK(*started == 2);
  }  // The workers' destruction waits for both drives.
  CHECK(asked == 2);
  {
    // The one left fits with room to spare: nothing more is due, nobody asks.
    Executor workers("recovery", 2, 2);
    absl::StatusOr<int> started = RecoverDueSagas(mesh.engine().leases(), mesh.engine().driver(),
                                                  workers, [&asked] { ++asked; });
    REQUIRE(started.ok());
    CHECK(*started == 1);
  }
  CHECK(asked == 2);
  CHECK(mesh.Settle() == 0);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("approving while the same replica drives the saga keeps the drive's lease",
                    "[coordinator][concurrency]") {
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("approve-mid-drive");
  // A drive of this replica is in flight: its Try to the KRW ledger has not returned yet.
  absl::Notification reached, release;
  mesh.krw().HoldNext(CallKind::kTry, &reached, &release);
  absl::StatusOr<v1::Saga> driven;
  std::thread driver([&] { driven = mesh.engine().driver().Drive(saga_id); });
  reached.WaitForNotification();

  v1::ProposeResolutionRequest propose;
  propose.set_saga_id(saga_id);
  propose.set_operator_("alice-ops");
  propose.set_action(v1::RESOLUTION_ACTION_CANCEL);
  propose.set_reason_code("CUSTOMER_REQUEST");
  absl::StatusOr<v1::Resolution> proposed = mesh.engine().operators().ProposeResolution(propose);
  REQUIRE(proposed.ok());
  v1::ApproveResolutionRequest approve;
  approve.set_resolution_id(proposed->resolution_id());
  approve.set_operator_("bob-ops");
  absl::StatusOr<v1::Resolution> approved = mesh.engine().operators().ApproveResolution(approve);
  CHECK(absl::IsUnavailable(approved.status()));

  // The drive still holds the lease: another replica cannot take the saga from under it.
  const absl::Time now = absl::Now();
  absl::StatusOr<bool> taken =
      mesh.store().ClaimSaga(saga_id, "another-replica", now, now + absl::Seconds(30));
  REQUIRE(taken.ok());
  CHECK_FALSE(*taken);

  release.Notify();
  driver.join();
  REQUIRE(driven.ok());
  CHECK(driven->state() == v1::SAGA_STATE_CONFIRMING);
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.krw().overlapping_calls() == 0);
  CHECK(mesh.fx().overlapping_calls() == 0);
  mesh.CheckInvariants();
}

// `replica` claims `saga_id` as the one due saga, and drives it to the decision to confirm; the
// relay completes it.
void TakesOverAndCompletes(CoordinatorHarness& mesh, SagaEngine& replica,
                           const std::string& saga_id) {
  absl::StatusOr<std::vector<std::string>> claimed = replica.leases().ClaimDue(64);
  REQUIRE(claimed.ok());
  REQUIRE(*claimed == std::vector<std::string>{saga_id});
  absl::StatusOr<v1::Saga> driven = replica.driver().Drive(saga_id);
  REQUIRE(driven.ok());
  CHECK(driven->state() == v1::SAGA_STATE_CONFIRMING);
  CHECK(mesh.Settle() == 0);
}

FXMESH_BACKEND_TEST("a replica that starts again frees the leases it held when it crashed",
                    "[coordinator][concurrency]") {
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("held-by-a-crashed-replica");
  // A replica leased the saga, then died before releasing it.
  const absl::Time now = absl::Now();
  absl::StatusOr<bool> leased =
      mesh.store().ClaimSaga(saga_id, "crashed-replica", now, now + absl::Seconds(30));
  REQUIRE(leased.ok());
  REQUIRE(*leased);
  std::unique_ptr<SagaEngine> other = mesh.NewReplica("other-replica");
  absl::StatusOr<std::vector<std::string>> claimed = other->leases().ClaimDue(64);
  REQUIRE(claimed.ok());
  CHECK(claimed->empty());

  std::unique_ptr<SagaEngine> restarted = mesh.NewReplica("crashed-replica");
  absl::StatusOr<int> released = restarted->leases().ReleaseOwnLeases();
  REQUIRE(released.ok());
  CHECK(*released == 1);
  // The other replica need not wait 30 s for the lease to expire.
  TakesOverAndCompletes(mesh, *other, saga_id);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("a lease whose release failed is released on the next recovery pass",
                    "[coordinator][concurrency]") {
  CoordinatorHarness mesh(backend);
  const std::string saga_id = mesh.UndrivenSaga("release-fails");
  std::unique_ptr<SagaEngine> replica = mesh.NewReplica("replica-a");
  std::unique_ptr<SagaEngine> other = mesh.NewReplica("replica-b");
  absl::StatusOr<std::vector<std::string>> claimed = replica->leases().ClaimDue(64);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 1);
  // The database refuses the release, as it would while it is away.
  testing::SetUpdatesFailing(mesh.coordinator_database(), backend, "sagas", true);
  replica->leases().Release(saga_id);
  testing::SetUpdatesFailing(mesh.coordinator_database(), backend, "sagas", false);
  claimed = other->leases().ClaimDue(64);
  REQUIRE(claimed.ok());
  CHECK(claimed->empty());

  replica->leases().RetryFailedReleases();
  TakesOverAndCompletes(mesh, *other, saga_id);
  // Nothing is left to release: a second pass changes nothing.
  replica->leases().RetryFailedReleases();
  mesh.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
