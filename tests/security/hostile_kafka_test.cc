// Proves that the embedded Kafka's KafkaControlService (development and tests only) answers
// hostile input on every RPC with INVALID_ARGUMENT, NOT_FOUND for a broker it does not have, or
// DEADLINE_EXCEEDED, with a clear message, and changes nothing its Describe shows. A real mock
// cluster and control service over real gRPC.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "embedded_kafka/embedded_kafka.h"
#include "embedded_kafka/kafka_control_service.h"
#include "fxmesh/v1/kafka_control.grpc.pb.h"
#include "tests/security/hostile_input.h"

namespace fxmesh::testing {
namespace {

using grpc::StatusCode;
using v1::KafkaControlService;

TEST_CASE("hostile input to every KafkaControlService RPC is refused and changes nothing",
          "[security][integration][kafka]") {
  SetLogLevel(LogLevel::kError);
  absl::StatusOr<std::unique_ptr<kafka::EmbeddedKafka>> cluster =
      kafka::EmbeddedKafka::Start(2, 1, {"fxmesh.test"});
  REQUIRE(cluster.ok());
  kafka::KafkaControlService control(**cluster);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start("127.0.0.1:0", {&control});
  REQUIRE(server.ok());
  std::unique_ptr<KafkaControlService::Stub> stub =
      KafkaControlService::NewStub(grpc::CreateChannel(
          absl::StrCat("127.0.0.1:", (*server)->port()), grpc::InsecureChannelCredentials()));
  HostileTables tables([&] { return (*cluster)->Describe().ShortDebugString(); });
  const std::string service = KafkaControlService::service_full_name();
  const StatusCode invalid = StatusCode::INVALID_ARGUMENT;

  tables.Run(service + "/Describe", v1::DescribeKafkaRequest(),
             DeadlineRows<v1::DescribeKafkaRequest>(Expect{StatusCode::OK, "fxmesh.test"}),
             FXMESH_CALL(stub, Describe, v1::DescribeKafkaRequest, v1::KafkaCluster));

  // Broker ids: 1 and 2 exist.
  auto broker_rows = []<typename Request>() {
    std::vector<Row<Request>> rows;
    for (int32_t id : {0, -1, 3, INT32_MIN, INT32_MAX}) {
      rows.push_back(
          {absl::StrCat("broker ", id),
           [id](Request& r) { r.set_broker_id(id); },
           {StatusCode::NOT_FOUND, absl::StrCat("no broker ", id, "; brokers are 1..2")}});
    }
    return rows;
  };
  // Setting a broker up that is up, or its latency to what it is, changes nothing.
  v1::SetBrokerUpRequest up;
  up.set_broker_id(1);
  up.set_up(true);
  std::vector<Row<v1::SetBrokerUpRequest>> up_rows =
      broker_rows.operator()<v1::SetBrokerUpRequest>();
  Add(up_rows, DeadlineRows<v1::SetBrokerUpRequest>(Expect{StatusCode::OK, "up: true"}));
  tables.Run(service + "/SetBrokerUp", up, up_rows,
             FXMESH_CALL(stub, SetBrokerUp, v1::SetBrokerUpRequest, v1::KafkaCluster));
  v1::SetBrokerLatencyRequest latency;
  latency.set_broker_id(1);
  std::vector<Row<v1::SetBrokerLatencyRequest>> latency_rows =
      broker_rows.operator()<v1::SetBrokerLatencyRequest>();
  Add(latency_rows, DeadlineRows<v1::SetBrokerLatencyRequest>(Expect{StatusCode::OK, "broker_id"}));
  Add(latency_rows,
      {
          {"latency -1 ms", [](auto& r) { r.set_latency_ms(-1); }, {invalid, "latency_ms must be"}},
          {"latency INT32_MIN ms",
           [](auto& r) { r.set_latency_ms(INT32_MIN); },
           {invalid, "latency_ms must be"}},
          {"latency INT32_MAX ms",
           [](auto& r) { r.set_latency_ms(INT32_MAX); },
           {invalid, "latency_ms must be"}},
      });
  tables.Run(service + "/SetBrokerLatency", latency, latency_rows,
             FXMESH_CALL(stub, SetBrokerLatency, v1::SetBrokerLatencyRequest, v1::KafkaCluster));

  // FailRequests: every valid call queues errors, so the valid request here asks for none.
  v1::FailRequestsRequest fail;
  fail.set_api_key(0);
  fail.set_error_code(7);
  fail.set_count(0);
  auto with = [](std::function<void(v1::FailRequestsRequest&)> change) { return change; };
  std::vector<Row<v1::FailRequestsRequest>> fail_rows =
      DeadlineRows<v1::FailRequestsRequest>(Expect{invalid, "count 1..10000"});
  Add(fail_rows,
      {
          {"count 0", with([](auto&) {}), {invalid, "count 1..10000"}},
          {"count -1", with([](auto& r) { r.set_count(-1); }), {invalid, "count 1..10000"}},
          {"count INT32_MAX",
           with([](auto& r) { r.set_count(INT32_MAX); }),
           {invalid, "count 1..10000"}},
          {"api_key -1",
           with([](auto& r) {
             r.set_count(1);
             r.set_api_key(-1);
           }),
           {invalid, "api_key must be"}},
          {"api_key past a Kafka API key's 16 bits",
           with([](auto& r) {
             r.set_count(1);
             r.set_api_key(INT32_MAX);
           }),
           {invalid, "api_key must be"}},
          {"error_code past a Kafka error's 16 bits",
           with([](auto& r) {
             r.set_count(1);
             r.set_error_code(65'543);
           }),
           {invalid, "error_code must be"}},
          {"error_code INT32_MIN",
           with([](auto& r) {
             r.set_count(1);
             r.set_error_code(INT32_MIN);
           }),
           {invalid, "error_code must be"}},
      });
  tables.Run(service + "/FailRequests", fail, fail_rows,
             FXMESH_CALL(stub, FailRequests, v1::FailRequestsRequest, v1::KafkaCluster));

  tables.CheckCovers(service);
  (*server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh::testing
