// Proves the shipped ledger binaries behave as an operator meets them: started as real processes on
// a free port, they answer the standard health check; server reflection lists and describes every
// service they serve, grpc.health.v1.Health included (what grpcurl and buf curl rely on); FXMESH_*
// environment variables configure them; bad flags exit 2 with a clear message; SIGTERM stops them
// gracefully with exit code 0. The dev fault service is served only with the --dev_faults flag,
// with a warning, and never because of the environment.
//
// This binary deliberately does not link grpc++_reflection (the server-side library), so it can
// carry its own reflection client stubs.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "tests/binaries/mesh_processes.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

namespace reflection = grpc::reflection::v1alpha;

std::vector<std::string> ListServices(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = reflection::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  request.set_list_services("*");
  REQUIRE(stream->Write(request));
  reflection::ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  stream->WritesDone();
  REQUIRE(stream->Finish().ok());
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service())
    names.push_back(service.name());
  return names;
}

// The descriptor files reflection returns for `symbol`; empty when it cannot describe it.
std::vector<std::string> DescribeSymbol(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& symbol) {
  auto stub = reflection::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  request.set_file_containing_symbol(symbol);
  REQUIRE(stream->Write(request));
  reflection::ServerReflectionResponse response;
  REQUIRE(stream->Read(&response));
  stream->WritesDone();
  REQUIRE(stream->Finish().ok());
  std::vector<std::string> files;
  for (const std::string& file : response.file_descriptor_response().file_descriptor_proto()) {
    files.push_back(file);
  }
  return files;
}

TEST_CASE("the ledger binaries serve health and reflection and stop on SIGTERM",
          "[binary][integration]") {
  const std::string data = MakeTempDir("fxmesh-binary");
  struct Binary {
    const char* path;
    const char* service_hint;
  };
  for (const Binary& binary :
       {Binary{FXMESH_KRW_LEDGER_PATH, "krw-ledger"}, Binary{FXMESH_FX_LEDGER_PATH, "fx-ledger"}}) {
    INFO(binary.service_hint);
    ServiceProcess ledger(binary.path,
                          {"--listen=127.0.0.1:0",
                           absl::StrCat("--db=sqlite:", data, "/", binary.service_hint, ".db")},
                          {});
    const int port = ledger.WaitForPort();
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());

    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckResponse serving;
    REQUIRE(health->Check(&context, grpc::health::v1::HealthCheckRequest(), &serving).ok());
    CHECK(serving.status() == grpc::health::v1::HealthCheckResponse::SERVING);

    std::vector<std::string> services = ListServices(channel);
    CHECK_THAT(services, Catch::VectorContains(std::string("fxmesh.v1.LedgerService")));
    CHECK_THAT(services, Catch::VectorContains(std::string("grpc.health.v1.Health")));
    CHECK_THAT(services,
               Catch::VectorContains(std::string("grpc.reflection.v1alpha.ServerReflection")));
    CHECK_FALSE(DescribeSymbol(channel, "grpc.health.v1.Health").empty());
    CHECK_FALSE(DescribeSymbol(channel, "fxmesh.v1.LedgerService").empty());
    CHECK_FALSE(DescribeSymbol(channel, "fxmesh.v1.TryRequest").empty());

    CHECK(ledger.Terminate() == 0);
    CHECK_THAT(ledger.Output(), Catch::Contains("\"msg\":\"stopped\""));
  }
}

TEST_CASE("ledger flags come from the environment and bad ones are refused clearly",
          "[binary][integration]") {
  const std::string data = MakeTempDir("fxmesh-binary");
  SECTION("FXMESH_CURRENCIES configures a new currency") {
    ServiceProcess ledger(
        FXMESH_FX_LEDGER_PATH, {"--listen=127.0.0.1:0"},
        {absl::StrCat("FXMESH_DB=sqlite:", data, "/fx.db"), "FXMESH_CURRENCIES=USD,XAU:3"});
    ledger.WaitForPort();
    CHECK_THAT(ledger.Output(), Catch::Contains("\"currencies\":\"USD,XAU\""));
    CHECK(ledger.Terminate() == 0);
  }
  SECTION("a malformed currency list") {
    ServiceProcess ledger(FXMESH_FX_LEDGER_PATH, {"--listen=127.0.0.1:0", "--currencies=US"},
                          {absl::StrCat("FXMESH_DB=sqlite:", data, "/fx.db")});
    CHECK(ledger.WaitForExit() == 2);
    CHECK_THAT(ledger.Output(), Catch::Contains("is not an ISO 4217 code"));
  }
  SECTION("an unreachable database") {
    ServiceProcess ledger(FXMESH_KRW_LEDGER_PATH,
                          {"--listen=127.0.0.1:0", "--db=postgresql://nobody@127.0.0.1:1/none"},
                          {});
    CHECK(ledger.WaitForExit() == 1);
    CHECK_THAT(ledger.Output(), Catch::Contains("cannot start"));
  }
}

TEST_CASE("a ledger binary serves its dev fault switch only when the flag asks for it",
          "[binary][integration]") {
  const std::string data = MakeTempDir("fxmesh-binary");
  const std::string fault_service = "fxmesh.v1.LedgerFaultService";
  auto services_of = [](ServiceProcess& ledger) {
    return ListServices(grpc::CreateChannel(absl::StrCat("127.0.0.1:", ledger.WaitForPort()),
                                            grpc::InsecureChannelCredentials()));
  };
  SECTION("--dev_faults serves it, with a warning at start-up") {
    ServiceProcess ledger(
        FXMESH_FX_LEDGER_PATH,
        {"--listen=127.0.0.1:0", absl::StrCat("--db=sqlite:", data, "/fx.db"), "--dev_faults"}, {});
    CHECK_THAT(services_of(ledger), Catch::VectorContains(fault_service));
    CHECK_THAT(ledger.Output(), Catch::Contains("\"level\":\"warning\""));
    CHECK_THAT(ledger.Output(), Catch::Contains("never use --dev_faults in production"));
    CHECK_THAT(ledger.Output(), Catch::Contains("\"dev_faults\":\"on\""));
    CHECK(ledger.Terminate() == 0);
  }
  SECTION("without the flag it is absent, whatever the environment says") {
    ServiceProcess ledger(FXMESH_FX_LEDGER_PATH,
                          {"--listen=127.0.0.1:0", absl::StrCat("--db=sqlite:", data, "/fx.db")},
                          {"FXMESH_DEV_FAULTS=true"});
    const std::vector<std::string> services = services_of(ledger);
    CHECK_THAT(services, Catch::VectorContains(std::string("fxmesh.v1.LedgerService")));
    CHECK_THAT(services, !Catch::VectorContains(fault_service));
    CHECK_THAT(ledger.Output(), Catch::Contains("\"dev_faults\":\"off\""));
    CHECK(ledger.Terminate() == 0);
  }
}

TEST_CASE("the coordinator binary serves quotes, exchanges, watches, health and reflection",
          "[binary][integration]") {
  MeshProcesses mesh;
  mesh.Fund(mesh.krw(), "bob-krw", "KRW", 0);
  mesh.Fund(mesh.fx(), "bob-usd", "USD", 50'000);
  mesh.StartCoordinator();
  const int port = mesh.coordinator().WaitForPort();
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
  std::vector<std::string> services = ListServices(channel);
  CHECK_THAT(services, Catch::VectorContains(std::string("fxmesh.v1.ExchangeService")));
  CHECK_THAT(services, Catch::VectorContains(std::string("fxmesh.v1.OpsService")));
  CHECK_THAT(services, Catch::VectorContains(std::string("grpc.health.v1.Health")));
  CHECK_FALSE(DescribeSymbol(channel, "fxmesh.v1.OpsService").empty());

  v1::GetQuoteRequest quote_request;
  quote_request.set_sell_currency("USD");
  quote_request.set_buy_currency("KRW");
  quote_request.set_sell_amount_minor(20'000);
  v1::Quote quote;
  REQUIRE(mesh.exchange().GetQuote(MeshProcesses::Context().get(), quote_request, &quote).ok());
  v1::ExchangeRequest request;
  request.set_idempotency_key("watch-1");
  request.set_customer_id("bob");
  request.set_source_account_id("bob-usd");
  request.set_target_account_id("bob-krw");
  request.set_quote_id(quote.quote_id());
  v1::ExchangeResponse response;
  REQUIRE(mesh.exchange().Exchange(MeshProcesses::Context().get(), request, &response).ok());
  CHECK(response.exchange().status() == v1::EXCHANGE_STATUS_COMPLETED);

  // A watch of a final exchange sends it once and ends.
  v1::WatchExchangeRequest watch;
  watch.set_saga_id(response.exchange().saga_id());
  auto context = MeshProcesses::Context();
  auto stream = mesh.exchange().WatchExchange(context.get(), watch);
  v1::Exchange seen;
  int updates = 0;
  while (stream->Read(&seen)) ++updates;
  CHECK(stream->Finish().ok());
  CHECK(updates == 1);
  CHECK(seen.state() == v1::SAGA_STATE_COMPLETED);
  CHECK(mesh.Available(mesh.krw(), "bob-krw") == quote.buy().amount_minor());

  // Bad input is refused with a clear message, over the wire.
  request.set_quote_id("q-does-not-exist");
  request.set_idempotency_key("watch-2");
  grpc::Status missing =
      mesh.exchange().Exchange(MeshProcesses::Context().get(), request, &response);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(missing.error_message(), Catch::Contains("no quote q-does-not-exist"));
  CHECK(mesh.coordinator().Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
