// Proves the report's counts read as a person writes them (GroupThousands), and that the accounts
// pair's description names the customer counts the run used, not the defaults.
#include <catch2/catch.hpp>

#include "bench/scenario.h"

namespace fxmesh::bench {
namespace {

TEST_CASE("counts are grouped by thousands", "[unit]") {
  CHECK(GroupThousands(0) == "0");
  CHECK(GroupThousands(999) == "999");
  CHECK(GroupThousands(1'000) == "1,000");
  CHECK(GroupThousands(2'000'000) == "2,000,000");
  CHECK(GroupThousands(1'234'567) == "1,234,567");
  CHECK(GroupThousands(-12'345) == "-12,345");
}

TEST_CASE("the accounts pair names the customer counts of the run", "[unit]") {
  ScenarioOptions options;
  CHECK_THAT(ScenarioText("fxmesh-sqlite-1m-accounts", options),
             Catch::Contains("with 1,000,000 funded customers"));
  options.customers_1k = 300;
  options.customers_1m = 3'000;
  CHECK_THAT(ScenarioText("fxmesh-sqlite-1k-accounts", options),
             Catch::Contains("with 300 funded customers"));
  CHECK_THAT(ScenarioText("fxmesh-sqlite-1m-accounts", options),
             Catch::Contains("with 3,000 funded customers"));
}

}  // namespace
}  // namespace fxmesh::bench
