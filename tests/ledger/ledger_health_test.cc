// Proves a ledger's health service tells the truth about its database: on a PostgreSQL server of
// its own, the ledger reports SERVING; when the server goes down it reports NOT_SERVING (so
// Kubernetes stops routing to it) and its calls fail with UNAVAILABLE, never a wrong answer; when
// the server is back it reconnects and reports SERVING again, with its data intact. Throughout,
// the liveness service stays SERVING, so Kubernetes never restarts it for a database outage. The
// metrics port's /readyz (what the probes ask under mutual TLS) follows: 200, 503 with the reason,
// 200 again, while /healthz stays 200.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "ledger/ledger_server.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::ledger {
namespace {

void Postgres(const std::string& action, const std::string& dir) {
  const std::string command = absl::StrCat(FXMESH_SOURCE_DIR, "/scripts/test-postgres.sh ", action,
                                           " ", dir, " >/dev/null");
  REQUIRE(std::system(command.c_str()) == 0);
}

// The health status of `service` ("" is the server as a whole, which readiness probes check).
grpc::health::v1::HealthCheckResponse::ServingStatus Health(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service = "") {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      grpc::health::v1::Health::NewStub(channel)->Check(&context, request, &response);
  return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

// Waits up to 15 s for the health service to report `expected`.
bool AwaitHealth(const std::shared_ptr<grpc::Channel>& channel,
                 grpc::health::v1::HealthCheckResponse::ServingStatus expected) {
  for (int i = 0; i < 150; ++i) {
    if (Health(channel) == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST_CASE("a ledger reports NOT_SERVING while its database is down and SERVING once it is back",
          "[ledger][integration][health]") {
  SetLogLevel(LogLevel::kError);
  const std::string dir = testing::MakeTempDir("fxmesh-health-pg");
  std::filesystem::permissions(dir, std::filesystem::perms::all);  // The postgres user needs in.
  Postgres("start", dir + "/pg");
  std::string url;
  std::getline(*std::make_unique<std::ifstream>(dir + "/pg/url"), url);

  LedgerServerOptions options;
  options.database.url = url;
  options.database.pool_size = 2;
  options.currencies = *ParseCurrencyList("KRW");
  options.metrics_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<LedgerServer>> ledger =
      LedgerServer::Start(options, SystemClock::Get());
  REQUIRE(ledger.ok());
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", (*ledger)->port()),
                                     grpc::InsecureChannelCredentials());
  CHECK(AwaitHealth(channel, grpc::health::v1::HealthCheckResponse::SERVING));
  const int metrics_port = (*ledger)->metrics_port();
  CHECK(testing::HttpGet(metrics_port, "/readyz").status_line == "HTTP/1.1 200 OK");
  v1::OpenAccountRequest open;
  open.set_account_id("alice");
  open.set_currency("KRW");
  v1::AccountResponse opened;
  REQUIRE((*ledger)->engine().OpenAccount(open, &opened).ok());

  Postgres("stop-server", dir + "/pg");
  CHECK(AwaitHealth(channel, grpc::health::v1::HealthCheckResponse::NOT_SERVING));
  // Not ready, but alive: liveness probes must not restart it for a database outage. The metrics
  // port, which the probes ask under mutual TLS, says the same as gRPC health, and why.
  CHECK(Health(channel, kLivenessService) == grpc::health::v1::HealthCheckResponse::SERVING);
  const testing::HttpResponse unready = testing::HttpGet(metrics_port, "/readyz");
  CHECK(unready.status_line == "HTTP/1.1 503 Service Unavailable");
  CHECK_THAT(unready.body, Catch::StartsWith("NOT_SERVING: health probe failed: UNAVAILABLE"));
  CHECK(testing::HttpGet(metrics_port, "/healthz").status_line == "HTTP/1.1 200 OK");
  v1::GetAccountRequest get;
  get.set_account_id("alice");
  v1::Account account;
  CHECK(absl::IsUnavailable((*ledger)->engine().GetAccount(get, &account)));

  Postgres("start-server", dir + "/pg");
  CHECK(AwaitHealth(channel, grpc::health::v1::HealthCheckResponse::SERVING));
  CHECK(testing::HttpGet(metrics_port, "/readyz").body == "SERVING\n");
  absl::Status after = absl::UnknownError("not tried");
  for (int i = 0; i < 10 && !after.ok(); ++i) {
    after = (*ledger)->engine().GetAccount(get, &account);  // Each pooled session reconnects once.
  }
  CHECK(after.ok());
  CHECK(account.account_id() == "alice");

  (*ledger)->Shutdown(absl::ZeroDuration());
  Postgres("stop", dir + "/pg");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fxmesh::ledger
