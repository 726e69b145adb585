// A scenario of fxmesh-bench: a system that performs the same exchange (a customer sells KRW and
// buys USD, every exchange moving the bank's position accounts position:KRW and position:USD),
// started inside this process and driven over real gRPC on loopback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/load.h"
#include "fxmesh/v1/exchange.grpc.pb.h"

namespace fxmesh::bench {

struct ScenarioOptions {
  // Customers, each with a funded KRW and USD account; operation n acts for customer n % customers.
  int customers = 256;
  // A folder for SQLite files (fxmesh-sqlite).
  std::string sqlite_dir;
  // A PostgreSQL url whose server holds the databases the PostgreSQL scenarios use (created by
  // scripts/run-benchmarks.sh): bench_krw, bench_fx, bench_coordinator, bench_2pc_krw,
  // bench_2pc_usd, bench_monolith. Only its host, port and user are used.
  std::string postgres_url;
  // Distinguishes this process's idempotency keys and transaction ids from an earlier run's.
  std::string run_id;
  // Customers of the -1k-accounts and -1m-accounts scenarios (a test runs them with fewer).
  int64_t customers_1k = 1'000;
  int64_t customers_1m = 1'000'000;
};

// Thread-safe once started.
class Scenario {
 public:
  virtual ~Scenario() = default;
  // Starts one exchange (load.h's Operation contract).
  virtual void Exchange(int64_t n, std::function<void(OpResult)> done) = 0;
  // What one operation is, for the report.
  virtual std::string OperationText() const = 0;
  // What starting the scenario took, when worth reporting (bulk seeding); empty otherwise.
  virtual std::string SetupText() const { return ""; }
};

// The scenarios, in the order the report lists them.
const std::vector<std::string>& ScenarioNames();
// A sentence saying what a scenario measures (with `options`' customer counts where they matter).
std::string ScenarioText(const std::string& name, const ScenarioOptions& options = {});
// `value` with a comma between each group of three digits: "1,000,000".
std::string GroupThousands(int64_t value);
// Whether a scenario needs PostgreSQL.
bool NeedsPostgres(const std::string& name);

// Starts scenario `name` and funds its customers. INVALID_ARGUMENT for an unknown name.
absl::StatusOr<std::unique_ptr<Scenario>> StartScenario(const std::string& name,
                                                        const ScenarioOptions& options);

// How an fxmesh scenario differs from the plain one on SQLite.
struct MeshVariant {
  bool postgres = false;
  // The fx ledger answers every Try, Confirm and Cancel this much later (0: not slowed).
  int fx_ledger_delay_ms = 0;
  // The customers' KRW accounts are left empty, so every KRW Try is refused and every exchange
  // ends FAILED through the Cancel path (the fx branch's Try is cancelled through the relay).
  bool cancel_path = false;
  // Customers to fund instead of ScenarioOptions::customers (0: those), seeded in bulk through
  // the ledgers' engine before they serve (bench/seed.h) instead of over gRPC.
  int64_t seeded_customers = 0;
};

// Each kind of scenario (scenarios_*.cc).
absl::StatusOr<std::unique_ptr<Scenario>> StartMeshScenario(const MeshVariant& variant,
                                                            const ScenarioOptions& options);
absl::StatusOr<std::unique_ptr<Scenario>> StartTwoPhaseCommitScenario(
    const ScenarioOptions& options);
absl::StatusOr<std::unique_ptr<Scenario>> StartMonolithScenario(const ScenarioOptions& options);
absl::StatusOr<std::unique_ptr<Scenario>> StartCeilingScenario(const ScenarioOptions& options);

// The amounts every scenario moves for operation n: the USD bought (cents) and the KRW sold.
int64_t UsdMinorFor(int64_t n);
int64_t KrwMinorFor(int64_t n);

// The client side of an fxmesh exchange, for operation n: GetQuote (buying UsdMinorFor(n) with
// KRW), then Exchange with that quote for customer n % customers, each call asynchronous with a
// 10 s deadline. `done` gets kCompleted when the answer is `expected` (COMPLETED, or FAILED for
// the Cancel path), kPending for PENDING, kFailed otherwise.
void QuoteThenExchange(v1::ExchangeService::Stub& stub, const ScenarioOptions& options, int64_t n,
                       std::function<void(OpResult)> done,
                       v1::ExchangeStatus expected = v1::EXCHANGE_STATUS_COMPLETED);

// A PostgreSQL url naming database `database` on options.postgres_url's server.
std::string PostgresDatabaseUrl(const ScenarioOptions& options, const std::string& database);

}  // namespace fxmesh::bench
