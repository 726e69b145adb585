// Proves the chaos proxy's faults look to a real gRPC client the way a network's would: with a
// gRPC server (its standard health service) behind the proxy, a call fails with UNAVAILABLE while
// connections are refused or replies are lost, and calls succeed again once the proxy heals.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/chaos/tcp_proxy.h"

namespace fxmesh::chaos {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// A health service that is always SERVING and counts the checks it answers, so a test can tell
// that a call reached the server even when its reply did not reach the client.
class CountingHealthService final : public Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* /*request*/,
                                  HealthCheckResponse* response) override {
    ++checks_;
    response->set_status(HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  int checks() const { return checks_.load(); }

 private:
  std::atomic<int> checks_{0};
};

// One health check through `channel`, with a deadline far longer than a failure takes, so that a
// fault shows as UNAVAILABLE, never as DEADLINE_EXCEEDED.
grpc::StatusCode Check(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  HealthCheckResponse response;
  return Health::NewStub(channel)->Check(&context, HealthCheckRequest(), &response).error_code();
}

// Retries for up to 10 s, since the channel reconnects with a backoff after a failure.
bool EventuallyOk(const std::shared_ptr<grpc::Channel>& channel) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (Check(channel) == grpc::StatusCode::OK) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST_CASE("a gRPC call through the proxy fails with UNAVAILABLE under faults and works after heal",
          "[chaos][proxy][grpc]") {
  CountingHealthService health;
  int server_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &server_port);
  builder.RegisterService(&health);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);

  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start(0, "127.0.0.1", server_port);
  REQUIRE(proxy.ok());
  // Reconnects soon after a failure, so that healing shows within the test's patience.
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  // The server acknowledges the client's bandwidth probes (HTTP/2 PINGs) as soon as a request
  // arrives, before its handler runs; with drop-replies on, that acknowledgement would reset the
  // connection first. Without probes, the first bytes back are the answer itself.
  arguments.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", (*proxy)->port()), grpc::InsecureChannelCredentials(), arguments);
  REQUIRE(Check(channel) == grpc::StatusCode::OK);

  SECTION("refused connections") {
    (*proxy)->SetRefuse(true);
    (*proxy)->ResetAll();  // Refusing touches only new connections; this breaks the open one.
    CHECK(Check(channel) == grpc::StatusCode::UNAVAILABLE);
    CHECK(Check(channel) == grpc::StatusCode::UNAVAILABLE);
  }
  SECTION("replies lost after the server answered") {
    const int checks_before = health.checks();
    (*proxy)->SetDropReplies(true);
    CHECK(Check(channel) == grpc::StatusCode::UNAVAILABLE);
    CHECK(health.checks() > checks_before);  // The server did act on the call.
    CHECK((*proxy)->stats().replies_dropped >= 1);
  }
  (*proxy)->HealAll();
  CHECK(EventuallyOk(channel));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace fxmesh::chaos
