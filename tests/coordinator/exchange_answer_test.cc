// Proves how a customer's Exchange call hears that its saga finished: the replica that writes the
// terminal state hands the saga, as written, to the call waiting on it, so the call answers without
// reading the row again; and what it answers is exactly what a later read of the row returns.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "coordinator/finish_signal.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

TEST_CASE("a finishing write hands its saga to the call watching it", "[unit]") {
  FinishSignal signal;
  v1::Saga saga;
  saga.set_saga_id("saga-1");
  saga.set_state(v1::SAGA_STATE_COMPLETED);
  saga.set_revision(4);

  // Not watched: not remembered, so a later watch does not see an old announcement.
  signal.Finished(saga);
  FinishSignal::Watch early(signal, "saga-1");
  CHECK_FALSE(early.Wait(absl::Milliseconds(10)).has_value());

  FinishSignal::Watch other(signal, "saga-2");
  std::thread writer([&] { signal.Finished(saga); });
  std::optional<v1::Saga> finished = early.Wait(absl::Seconds(10));
  writer.join();
  REQUIRE(finished.has_value());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*finished, saga));
  CHECK_FALSE(other.Wait(absl::Milliseconds(10)).has_value());
}

FXMESH_BACKEND_TEST("an exchange settled by its own replica is answered exactly as stored",
                    "[coordinator][db]") {
  CoordinatorHarness mesh(backend);
  const v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
  absl::StatusOr<v1::Exchange> answered = mesh.Exchange("as-stored", "alice", quote);
  REQUIRE(answered.ok());
  REQUIRE(answered->state() == v1::SAGA_STATE_COMPLETED);

  v1::GetExchangeRequest request;
  request.set_saga_id(answered->saga_id());
  absl::StatusOr<v1::Exchange> read = mesh.engine().intake().GetExchange(request);
  REQUIRE(read.ok());
  INFO("answered: " << answered->ShortDebugString() << "\nread: " << read->ShortDebugString());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(*answered, *read));
}

}  // namespace
}  // namespace fxmesh::coordinator
