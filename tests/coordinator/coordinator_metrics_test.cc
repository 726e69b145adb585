// Proves that a dashboard can tell zero from missing: a freshly started coordinator's metrics
// endpoint, scraped over a real socket, already has a sample for every saga state and every alert,
// each 0.
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator_server.h"
#include "coordinator/saga_state_machine.h"
#include "tests/coordinator/coordinator_harness.h"
#include "tests/coordinator/unreachable_ledger.h"
#include "tests/support/http_client.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator {
namespace {

TEST_CASE("every saga state and alert has a sample before anything happened",
          "[coordinator][integration][sqlite]") {
  testing::TestDatabase database(testing::Backend::kSqlite);
  UnreachableLedger krw, fx;
  CoordinatorServerOptions options;
  options.database.url = database.url();
  options.rates_text = kTestRates;
  options.spread_bps = 50;
  options.participant_clients = {{std::string(kKrwParticipant), &krw},
                                 {std::string(kFxParticipant), &fx}};
  options.metrics_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
      CoordinatorServer::Start(options, SystemClock::Get());
  REQUIRE(server.ok());
  const testing::HttpResponse scraped = testing::HttpGet((*server)->metrics_port(), "/metrics");
  for (v1::SagaState state :
       {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CONFIRMING,
        v1::SAGA_STATE_COMPLETED, v1::SAGA_STATE_CANCELLING, v1::SAGA_STATE_CANCELLED}) {
    const std::string sample = absl::StrCat("fxmesh_sagas{state=\"", StateName(state), "\"} 0\n");
    INFO(sample);
    CHECK(scraped.body.find(sample) != std::string::npos);
  }
  for (const char* alert : {"stuck", "inconsistency", "unreadable_saga"}) {
    const std::string sample = absl::StrCat("fxmesh_alerts_total{alert=\"", alert, "\"} 0\n");
    INFO(sample);
    CHECK(scraped.body.find(sample) != std::string::npos);
  }
  (*server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh::coordinator
