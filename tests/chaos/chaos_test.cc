// The bank test's own parts, and short bank-test runs: three seeds of faults against the whole
// mesh as real processes on SQLite, one over mutual TLS and one on PostgreSQL with replicas, each
// checked for conserved money and truthful answers. make chaos runs long ones; these keep every
// change honest in make test.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/chaos/chaos_run.h"
#include "tests/chaos/fault_plan.h"

namespace fxmesh::chaos {
namespace {

// Short enough that three runs fit in make test, long enough for a dozen overlapping faults.
constexpr absl::Duration kShortRun = absl::Seconds(40);
// The PostgreSQL run: about a minute, so its plan holds every fault kind of that backend.
constexpr absl::Duration kShortPostgresRun = absl::Seconds(60);
// Its seed: its one-minute plan kills, pauses and blackholes PostgreSQL, kills a coordinator
// replica and skews a ledger replica's clock (checked below, so a plan change cannot hide it).
constexpr uint64_t kPostgresSeed = 6;
// The short run over mutual TLS: a SQLite seed other than the plaintext ones, whose 30 s plan
// quiets quickly, so the whole run takes under 90 s on a busy 2-core machine.
constexpr uint64_t kTlsSeed = 8;
constexpr absl::Duration kShortTlsRun = absl::Seconds(30);

TEST_CASE("a seed always draws the same fault plan", "[unit]") {
  const FaultPlan first = MakeFaultPlan(42, absl::Seconds(120), {2, 3});
  const FaultPlan again = MakeFaultPlan(42, absl::Seconds(120), {2, 3});
  const FaultPlan other = MakeFaultPlan(43, absl::Seconds(120), {2, 3});
  CHECK(first.Describe() == again.Describe());
  CHECK(first.Digest() == again.Digest());
  CHECK(first.Digest() != other.Digest());
  // About one fault every 2.3 s over two minutes.
  CHECK(first.faults.size() > 20);
}

TEST_CASE("a SQLite seed draws the plan it drew before the PostgreSQL faults existed", "[unit]") {
  // Digests printed by the runs of docs/chaos.md and by make test before PostgreSQL plans.
  CHECK(MakeFaultPlan(106, absl::Seconds(120), {2, 3}).Digest() == "a34fca6350befae1");
  CHECK(MakeFaultPlan(1, absl::Seconds(40), {2, 3}).Digest() == "5ff771dcf32ec035");
  CHECK(MakeFaultPlan(3, absl::Seconds(40), {2, 3}).Digest() == "0db2901be91ccf51");
}

TEST_CASE("a PostgreSQL plan aims at the database and the replicas, never SQLite's names",
          "[unit]") {
  const MeshShape shape{2, 3, Backend::kPostgres};
  const FaultPlan plan = MakeFaultPlan(kPostgresSeed, kShortPostgresRun, shape);
  INFO(plan.Describe());
  std::set<std::string> seen;
  for (const Fault& fault : plan.faults) {
    seen.insert(absl::StrCat(FaultKindName(fault.kind), " ", fault.target));
    CHECK(fault.target != "coordinator");
    if (fault.kind == FaultKind::kKill || fault.kind == FaultKind::kPause) {
      CHECK(fault.target != "krw");
      CHECK(fault.target != "fx");
    }
    if (fault.kind == FaultKind::kClockSkew) CHECK(std::abs(fault.value) >= 2'000);
  }
  CHECK(seen.count("pg-kill postgres") == 1);
  CHECK(seen.count("pg-pause postgres") == 1);
  CHECK(seen.count("proxy-blackhole postgres") == 1);
  CHECK((seen.count("kill coordinator0") + seen.count("kill coordinator1")) > 0);
  bool skewed = false;
  for (const std::string& fault : seen) skewed = skewed || fault.rfind("clock-skew ", 0) == 0;
  CHECK(skewed);
  // Both coordinator replicas are never down at once.
  absl::Duration coordinator_busy_until;
  for (const Fault& fault : plan.faults) {
    if (fault.target.rfind("coordinator", 0) != 0 || fault.duration == absl::ZeroDuration())
      continue;
    CHECK(coordinator_busy_until <= fault.at);
    coordinator_busy_until = fault.at + fault.duration;
  }
}

TEST_CASE("a fault plan uses every kind and never doubles a fault on one target", "[unit]") {
  std::set<FaultKind> kinds;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const absl::Duration run = absl::Seconds(60);
    const MeshShape shape{2, 3, seed % 2 == 0 ? Backend::kPostgres : Backend::kSqlite};
    const FaultPlan plan = MakeFaultPlan(seed, run, shape);
    std::map<std::string, absl::Duration> busy_until;
    for (const Fault& fault : plan.faults) {
      INFO(plan.Describe());
      kinds.insert(fault.kind);
      CHECK(fault.at + fault.duration < run);
      CHECK(!(fault.kind == FaultKind::kKill && fault.target == "kafka"));
      if (fault.duration == absl::ZeroDuration()) continue;
      const bool process_fault =
          fault.kind == FaultKind::kKill || fault.kind == FaultKind::kPause ||
          fault.kind == FaultKind::kClockSkew || fault.kind == FaultKind::kPostgresKill ||
          fault.kind == FaultKind::kPostgresPause;
      const std::string process = process_fault ? "process" : FaultKindName(fault.kind);
      // "all" brokers collide with every single broker; the simple check is enough here.
      const std::string resource = absl::StrCat(process, ":", fault.target);
      CHECK(busy_until[resource] <= fault.at);
      busy_until[resource] = fault.at + fault.duration;
    }
  }
  CHECK(kinds.size() == AllFaultKinds().size());
}

// A bank-test run of the binaries this build made.
RunOptions ShortRun(uint64_t seed, absl::Duration duration) {
  RunOptions options;
  options.seed = seed;
  options.duration = duration;
  options.bin_dir = FXMESH_BIN_DIR;
  options.rates_path = FXMESH_SOURCE_DIR "/config/rates.txt";
  options.replay_prefix = FXMESH_CHAOS_PATH;
  options.postgres_script = FXMESH_SOURCE_DIR "/scripts/test-postgres.sh";
  return options;
}

// Runs `options` and checks that the run passed and did something.
void CheckPasses(const RunOptions& options) {
  absl::StatusOr<RunReport> report = RunChaos(options);
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  INFO(report->plan.Describe());
  INFO(report->Format());
  CHECK(report->passed());
  // The run did something: money moved, faults happened, and some exchanges were cancelled.
  CHECK(report->findings.completed > 0);
  CHECK(!report->faults.empty());
}

void RunSeed(uint64_t seed, Backend backend = Backend::kSqlite,
             absl::Duration duration = kShortRun) {
  RunOptions options = ShortRun(seed, duration);
  options.backend = backend;
  CheckPasses(options);
}

TEST_CASE("the bank test notices money moved behind its back and an untrue answer", "[chaos]") {
  RunOptions options = ShortRun(7, absl::Seconds(8));
  options.before_check = [](ChaosMesh& mesh, History& history) {
    // One won appears in a customer's account without an exchange.
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id("chaos-test-behind-its-back");
    deposit.set_account_id("chaos-c0-KRW");
    deposit.mutable_amount()->set_amount_minor(1);
    deposit.mutable_amount()->set_currency("KRW");
    v1::ExternalTransferResponse deposited;
    REQUIRE(mesh.ledger("krw")
                .Deposit(ContextWithin(absl::Seconds(5)).get(), deposit, &deposited)
                .ok());
    // And the client's record of one finished exchange says the opposite of what happened.
    for (ExchangeCall& call : history.exchanges) {
      if (call.code != grpc::StatusCode::OK) continue;
      const v1::ExchangeStatus told = call.answer.status();
      if (told == v1::EXCHANGE_STATUS_PENDING) continue;
      call.answer.set_status(told == v1::EXCHANGE_STATUS_COMPLETED ? v1::EXCHANGE_STATUS_FAILED
                                                                   : v1::EXCHANGE_STATUS_COMPLETED);
      break;
    }
  };
  absl::StatusOr<RunReport> report = RunChaos(options);
  REQUIRE(report.ok());
  INFO(report->Format());
  std::set<std::string> broken;
  for (const Violation& violation : report->AllViolations()) broken.insert(violation.invariant);
  CHECK(broken.count("replay at quoted rates") == 1);
  CHECK(broken.count("1. ledger balances") == 0);
  CHECK(broken.count("7. answers agree with final states") == 1);
  // Failing was the point of this run: its folder is not evidence to keep.
  std::filesystem::remove_all(report->run_dir);
}

TEST_CASE("bank test seed 1 conserves money under faults", "[chaos]") { RunSeed(1); }
TEST_CASE("bank test seed 2 conserves money under faults", "[chaos]") { RunSeed(2); }
TEST_CASE("bank test seed 3 conserves money under faults", "[chaos]") { RunSeed(3); }
TEST_CASE("bank test seed 8 over mutual TLS conserves money under faults", "[chaos]") {
  // After the run, before the checker: proves the mesh really was over mutual TLS with the access
  // table on, so that a harness quietly falling back to plaintext cannot pass this test.
  RunOptions options = ShortRun(kTlsSeed, kShortTlsRun);
  options.tls = true;
  bool checked = false;
  options.before_check = [&](ChaosMesh& mesh, History&) {
    const std::string coordinator = absl::StrCat("127.0.0.1:", mesh.service("coordinator").port());
    auto plaintext = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(coordinator, grpc::InsecureChannelCredentials()));
    grpc::health::v1::HealthCheckResponse health;
    CHECK(!plaintext
               ->Check(ContextWithin(absl::Seconds(5)).get(),
                       grpc::health::v1::HealthCheckRequest(), &health)
               .ok());
    // The workload's gateway certificate may exchange, but not call OpsService.
    auto as_gateway =
        v1::OpsService::NewStub(grpc::CreateChannel(coordinator, mesh.tls().credentials().gateway));
    v1::ListSagasRequest request;
    v1::ListSagasResponse sagas;
    CHECK(as_gateway->ListSagas(ContextWithin(absl::Seconds(5)).get(), request, &sagas)
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);
    checked = true;
  };
  CheckPasses(options);
  CHECK(checked);
}
TEST_CASE("bank test on PostgreSQL with replicas conserves money under faults", "[chaos]") {
  RunSeed(kPostgresSeed, Backend::kPostgres, kShortPostgresRun);
}

}  // namespace
}  // namespace fxmesh::chaos
