// Proves the fxmesh-kafka binary as a developer meets it: started as a real process it logs its
// bootstrap address (and writes it to --bootstrap_file), serves health and reflection, and its
// control service takes brokers down and up over gRPC; kcat can list its topics.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <regex>

#include "absl/strings/str_cat.h"
#include "fxmesh/v1/kafka_control.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

TEST_CASE("fxmesh-kafka serves a Kafka cluster with a control service",
          "[binary][kafka][integration]") {
  const std::string dir = MakeTempDir("fxmesh-kafka");
  ServiceProcess kafka(FXMESH_KAFKA_PATH,
                       {"--listen=127.0.0.1:0", "--brokers=3", "--partitions=2",
                        absl::StrCat("--bootstrap_file=", dir, "/bootstrap")},
                       {});
  const int port = kafka.WaitForPort();
  std::ifstream file(dir + "/bootstrap");
  std::string bootstrap;
  std::getline(file, bootstrap);
  CHECK_THAT(bootstrap, Catch::Matches("127\\.0\\.0\\.1:[0-9]+(,127\\.0\\.0\\.1:[0-9]+){2}"));

  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  auto control = v1::KafkaControlService::NewStub(channel);
  auto context = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  };
  grpc::health::v1::HealthCheckResponse health;
  REQUIRE(grpc::health::v1::Health::NewStub(channel)
              ->Check(context().get(), grpc::health::v1::HealthCheckRequest(), &health)
              .ok());
  CHECK(health.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  v1::KafkaCluster cluster;
  REQUIRE(control->Describe(context().get(), v1::DescribeKafkaRequest(), &cluster).ok());
  CHECK(cluster.bootstrap_servers() == bootstrap);
  CHECK_THAT(std::vector<std::string>(cluster.topics().begin(), cluster.topics().end()),
             Catch::VectorContains(std::string("fxmesh.branch.commands")));
  v1::SetBrokerUpRequest down;
  down.set_broker_id(3);
  down.set_up(false);
  REQUIRE(control->SetBrokerUp(context().get(), down, &cluster).ok());
  CHECK_FALSE(cluster.brokers(2).up());
  down.set_broker_id(9);
  grpc::Status missing = control->SetBrokerUp(context().get(), down, &cluster);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(missing.error_message(), Catch::Contains("brokers are 1..3"));

  // kcat, the tool the docs show operators, sees the topics over the Kafka protocol.
  const std::string command = absl::StrCat("kcat -b ", bootstrap, " -L -m 10 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string listing;
  char buffer[4096];
  while (size_t read = fread(buffer, 1, sizeof(buffer), pipe)) listing.append(buffer, read);
  pclose(pipe);
  CHECK_THAT(listing, Catch::Contains("topic \"fxmesh.saga.events\" with 2 partitions"));

  CHECK(kafka.Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
