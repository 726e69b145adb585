// Proves the gRPC limits of limits.h are in force, over real sockets: a fxmesh server answers a
// request larger than kGrpcRequestBytesMax with RESOURCE_EXHAUSTED (and one just under it as
// usual) and keeps serving on the same connection; it lets one connection run at most
// kGrpcConcurrentStreamsMax streams at once (the next waits, as gRPC clients do, while another
// connection is served at once, and starts when a stream ends); and a fxmesh client channel takes
// answers far larger than gRPC's 4 MiB default, but none larger than kGrpcResponseBytesMax.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <future>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_server.h"
#include "common/limits.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace fxmesh {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::chrono::system_clock::time_point In(std::chrono::milliseconds duration) {
  return std::chrono::system_clock::now() + duration;
}

grpc::Status Check(Health::Stub& health, const std::string& service) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  return health.Check(&context, request, &response);
}

TEST_CASE("a request over the size limit is refused and the server keeps serving",
          "[grpc][integration]") {
  auto server = *GrpcServer::Start("127.0.0.1:0", {});
  auto health = Health::NewStub(
      NewChannel(absl::StrCat("127.0.0.1:", server->port()), grpc::InsecureChannelCredentials()));
  // Just under the limit the call reaches the health service, which refuses a name that long.
  CHECK(Check(*health, std::string(limits::kGrpcRequestBytesMax - 64, 'x')).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status refused = Check(*health, std::string(limits::kGrpcRequestBytesMax + 1, 'x'));
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(Check(*health, "").ok());
}

// A Health.Watch stream that has received its first answer, so it is open on the server.
struct OpenWatch {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<HealthCheckResponse>> reader;
};

// Starts a Watch on `health`; true when its first answer arrives within `wait`.
bool StartWatch(Health::Stub& health, OpenWatch& watch, std::chrono::milliseconds wait) {
  watch.context.set_deadline(In(wait));
  watch.reader = health.Watch(&watch.context, HealthCheckRequest());
  HealthCheckResponse response;
  return watch.reader->Read(&response);
}

TEST_CASE("one connection runs at most the stream cap at once", "[grpc][integration]") {
  auto server = *GrpcServer::Start("127.0.0.1:0", {});
  const std::string address = absl::StrCat("127.0.0.1:", server->port());
  auto health = Health::NewStub(NewChannel(address, grpc::InsecureChannelCredentials()));
  std::vector<std::unique_ptr<OpenWatch>> watches;
  for (int i = 0; i < limits::kGrpcConcurrentStreamsMax; ++i) {
    watches.push_back(std::make_unique<OpenWatch>());
    REQUIRE(StartWatch(*health, *watches.back(), std::chrono::seconds(60)));
  }
  // One more on the same connection waits for a free stream: no answer within a second.
  OpenWatch waiting;
  CHECK_FALSE(StartWatch(*health, waiting, std::chrono::seconds(1)));
  CHECK(waiting.reader->Finish().error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  // Another connection (its own subchannel) is served at once: the cap is per connection.
  grpc::ChannelArguments own_connection;
  own_connection.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto other =
      Health::NewStub(NewChannel(address, grpc::InsecureChannelCredentials(), own_connection));
  OpenWatch elsewhere;
  CHECK(StartWatch(*other, elsewhere, std::chrono::seconds(10)));
  // When one stream ends, the next one on the first connection starts.
  watches.front()->context.TryCancel();
  (void)watches.front()->reader->Finish();
  OpenWatch next;
  CHECK(StartWatch(*health, next, std::chrono::seconds(10)));
  next.context.TryCancel();
  (void)next.reader->Finish();
  elsewhere.context.TryCancel();
  (void)elsewhere.reader->Finish();
  for (size_t i = 1; i < watches.size(); ++i) {
    watches[i]->context.TryCancel();
    (void)watches[i]->reader->Finish();
  }
}

// Answers each call with as many bytes as its request names (a decimal number).
class SizedAnswers final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      Reactor() { StartRead(&request_); }
      void OnReadDone(bool ok) override {
        std::vector<grpc::Slice> slices;
        size_t size = 0;
        if (!ok || !request_.Dump(&slices).ok() || slices.size() != 1 ||
            !absl::SimpleAtoi(
                std::string(reinterpret_cast<const char*>(slices[0].begin()), slices[0].size()),
                &size)) {
          Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected a size"));
          return;
        }
        grpc::Slice answer(std::string(size, 'a'));
        response_ = grpc::ByteBuffer(&answer, 1);
        StartWrite(&response_);
      }
      void OnWriteDone(bool) override { Finish(grpc::Status::OK); }
      void OnDone() override { delete this; }

     private:
      grpc::ByteBuffer request_, response_;
    };
    return new Reactor();
  }
};

// Asks `stub` for an answer of `size` bytes.
grpc::Status Ask(grpc::GenericStub& stub, size_t size) {
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(60)));
  grpc::Slice slice(absl::StrCat(size));
  grpc::ByteBuffer request(&slice, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/fxmesh.test.Sized/Answer", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && response.Length() != size) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "short answer");
  }
  return status;
}

TEST_CASE("a client channel takes answers up to the response limit", "[grpc][integration]") {
  SizedAnswers service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(port != 0);
  grpc::GenericStub stub(
      NewChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  // Twice gRPC's default limit of 4 MiB: a full page of dead letters can be that long.
  CHECK(Ask(stub, 8 * 1024 * 1024).ok());
  const grpc::Status refused = Ask(stub, static_cast<size_t>(limits::kGrpcResponseBytesMax) + 1);
  INFO(refused.error_message());
  CHECK(refused.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK(Ask(stub, 1).ok());
  server->Shutdown(In(std::chrono::seconds(1)));
}

}  // namespace
}  // namespace fxmesh
