#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/scenario.h"

namespace fxmesh::bench {

const std::vector<std::string>& ScenarioNames() {
  static const auto* names = new std::vector<std::string>{"fxmesh-sqlite",
                                                          "fxmesh-postgres",
                                                          "2pc-postgres",
                                                          "monolith-postgres",
                                                          "ceiling",
                                                          "fxmesh-sqlite-slow-ledger",
                                                          "fxmesh-sqlite-cancel",
                                                          "fxmesh-sqlite-1k-accounts",
                                                          "fxmesh-sqlite-1m-accounts"};
  return *names;
}

std::string GroupThousands(int64_t value) {
  const std::string digits = absl::StrCat(value);
  const size_t first = value < 0 ? 1 : 0;  // After a minus sign.
  std::string grouped = digits.substr(0, first);
  for (size_t i = first; i < digits.size(); ++i) {
    if (i > first && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return grouped;
}

std::string ScenarioText(const std::string& name, const ScenarioOptions& options) {
  if (name == "fxmesh-sqlite") {
    return "fxmesh on SQLite files (WAL, synchronous=FULL): two ledgers and the coordinator, "
           "settling every Confirm through its in-process relay";
  }
  if (name == "fxmesh-postgres") {
    return "fxmesh on PostgreSQL, one database per service, fsync and synchronous_commit on";
  }
  if (name == "2pc-postgres") {
    return "baseline: the exchange as one two-phase-commit transaction over two PostgreSQL "
           "databases (PREPARE TRANSACTION / COMMIT PREPARED), behind one gRPC call";
  }
  if (name == "monolith-postgres") {
    return "baseline: the exchange as one local transaction in one PostgreSQL database, behind "
           "one gRPC call";
  }
  if (name == "fxmesh-sqlite-slow-ledger") {
    return "fxmesh on SQLite as above, with the fx ledger answering every call 20 ms late";
  }
  if (name == "fxmesh-sqlite-cancel") {
    return "fxmesh on SQLite as above, the Cancel path: the customers' KRW accounts are empty, so "
           "every KRW Try is refused and the fx branch is cancelled through the relay";
  }
  if (name == "fxmesh-sqlite-1k-accounts" || name == "fxmesh-sqlite-1m-accounts") {
    return absl::StrCat(
        "fxmesh on SQLite as above, with ",
        GroupThousands(name == "fxmesh-sqlite-1k-accounts" ? options.customers_1k
                                                           : options.customers_1m),
        " funded customers (a KRW and a USD account each), seeded in bulk through the ledgers' "
        "engine before they serve; operation n acts for customer n % customers, so the exchanges "
        "spread over every account");
  }
  if (name == "ceiling") {
    return "ceiling: fxmesh's RPCs per exchange (GetQuote; Exchange with 2 parallel Trys, then 2 "
           "parallel Confirms) with handlers that store nothing";
  }
  return name;
}

bool NeedsPostgres(const std::string& name) { return absl::EndsWith(name, "-postgres"); }

absl::StatusOr<std::unique_ptr<Scenario>> StartScenario(const std::string& name,
                                                        const ScenarioOptions& options) {
  if (name == "fxmesh-sqlite") return StartMeshScenario({}, options);
  if (name == "fxmesh-postgres") return StartMeshScenario({.postgres = true}, options);
  if (name == "fxmesh-sqlite-slow-ledger") {
    return StartMeshScenario({.fx_ledger_delay_ms = 20}, options);
  }
  if (name == "fxmesh-sqlite-cancel") return StartMeshScenario({.cancel_path = true}, options);
  if (name == "fxmesh-sqlite-1k-accounts") {
    return StartMeshScenario({.seeded_customers = options.customers_1k}, options);
  }
  if (name == "fxmesh-sqlite-1m-accounts") {
    return StartMeshScenario({.seeded_customers = options.customers_1m}, options);
  }
  if (name == "2pc-postgres") return StartTwoPhaseCommitScenario(options);
  if (name == "monolith-postgres") return StartMonolithScenario(options);
  if (name == "ceiling") return StartCeilingScenario(options);
  return absl::InvalidArgumentError(absl::StrCat("no scenario named ", name));
}

std::string PostgresDatabaseUrl(const ScenarioOptions& options, const std::string& database) {
  const std::string& url = options.postgres_url;
  const size_t slash = url.rfind('/');
  const size_t query = url.find('?', slash);
  return url.substr(0, slash + 1) + database +
         (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace fxmesh::bench
