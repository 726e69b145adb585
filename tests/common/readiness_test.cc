// Proves the metrics port's /readyz tells what the gRPC health service tells, over real sockets: a
// GrpcServer and a MetricsHttpServer wired as every service wires them answer 503 "starting"
// before the first SetServing, 200 SERVING (gRPC: SERVING) once serving, 503 with the reason
// (gRPC: NOT_SERVING) when a probe fails, and 503 "shutting down" after Shutdown; /healthz stays
// 200 throughout, and an endpoint without a readiness check has no /readyz.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/metrics_http_server.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/http_client.h"

namespace fxmesh {
namespace {

using testing::HttpGet;
using testing::HttpResponse;
using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

ServingStatus GrpcHealth(int port) {
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = grpc::health::v1::Health::NewStub(channel)->Check(
      &context, grpc::health::v1::HealthCheckRequest(), &response);
  return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
}

TEST_CASE("/readyz mirrors the gRPC health service's overall status", "[integration]") {
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<GrpcServer>> grpc_server = GrpcServer::Start("127.0.0.1:0", {});
  REQUIRE(grpc_server.ok());
  GrpcServer& server = **grpc_server;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
      MetricsHttpServer::Start("127.0.0.1:0", registry, [&server] { return server.readiness(); });
  REQUIRE(http.ok());
  const int port = (*http)->port();

  HttpResponse starting = HttpGet(port, "/readyz");
  CHECK(starting.status_line == "HTTP/1.1 503 Service Unavailable");
  CHECK(starting.body == "NOT_SERVING: starting\n");

  server.SetServing(true);
  HttpResponse ready = HttpGet(port, "/readyz");
  CHECK(ready.status_line == "HTTP/1.1 200 OK");
  CHECK(ready.body == "SERVING\n");
  CHECK(GrpcHealth(server.port()) == grpc::health::v1::HealthCheckResponse::SERVING);

  server.SetServing(false, "health probe failed: UNAVAILABLE: database error");
  HttpResponse down = HttpGet(port, "/readyz");
  CHECK(down.status_line == "HTTP/1.1 503 Service Unavailable");
  CHECK(down.body == "NOT_SERVING: health probe failed: UNAVAILABLE: database error\n");
  CHECK(GrpcHealth(server.port()) == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // Liveness is another question: the process still serves.
  CHECK(HttpGet(port, "/healthz").status_line == "HTTP/1.1 200 OK");

  server.SetServing(true);
  CHECK(HttpGet(port, "/readyz").status_line == "HTTP/1.1 200 OK");
  server.Shutdown(absl::ZeroDuration());
  server.SetServing(true);  // A late probe result after shutdown changes nothing.
  HttpResponse stopping = HttpGet(port, "/readyz");
  CHECK(stopping.status_line == "HTTP/1.1 503 Service Unavailable");
  CHECK(stopping.body == "NOT_SERVING: shutting down\n");
}

TEST_CASE("an endpoint without a readiness check has no /readyz", "[integration]") {
  MetricsRegistry registry;
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
      MetricsHttpServer::Start("127.0.0.1:0", registry);
  REQUIRE(http.ok());
  CHECK(HttpGet((*http)->port(), "/readyz").status_line == "HTTP/1.1 404 Not Found");
}

}  // namespace
}  // namespace fxmesh
