// Proves every service binary reads FXMESH_OTLP_ENDPOINT as its --otlp_endpoint, as the README
// promises for every flag: each of the four refuses to start (exit 2, saying why) when the
// variable holds an endpoint that is not http://host:port, and a command-line flag still wins over
// the environment.
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

constexpr char kBadEndpoint[] = "FXMESH_OTLP_ENDPOINT=collector.example:4318";
constexpr char kRefusal[] = "the OTLP endpoint must be http://host:port";

TEST_CASE("every service reads FXMESH_OTLP_ENDPOINT", "[binary]") {
  const std::string temp = MakeTempDir("fxmesh-env-flags");
  const std::string rates = absl::StrCat("--rates=", FXMESH_SOURCE_DIR, "/config/rates.txt");
  const std::vector<std::pair<std::string, std::vector<std::string>>> binaries = {
      {FXMESH_KRW_LEDGER_PATH, {"--db=sqlite:" + temp + "/krw.db"}},
      {FXMESH_FX_LEDGER_PATH, {"--db=sqlite:" + temp + "/fx.db"}},
      {FXMESH_COORDINATOR_PATH, {"--db=sqlite:" + temp + "/coordinator.db", rates}},
      // Nothing listens on port 9: the relay refuses its configuration before it needs Kafka.
      {FXMESH_RELAY_PATH, {"--kafka_brokers=127.0.0.1:9"}},
  };
  for (const auto& [path, flags] : binaries) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    const CommandResult refused = RunCommand(path, args, {kBadEndpoint}, 30);
    INFO(path << "\n" << refused.out << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find(kRefusal) != std::string::npos);
    CHECK(refused.err.find("collector.example:4318") != std::string::npos);
  }
  // The command line wins: an empty --otlp_endpoint exports nothing, and the ledger serves.
  ServiceProcess ledger(
      FXMESH_KRW_LEDGER_PATH,
      {"--listen=127.0.0.1:0", "--db=sqlite:" + temp + "/krw.db", "--otlp_endpoint="},
      {kBadEndpoint});
  CHECK(ledger.WaitForPort() > 0);
  CHECK(ledger.Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
