// `make bench`'s per-service memory measurement (docs/benchmarks.md, "Each service's memory"): the
// real krw ledger, fx ledger and coordinator processes on SQLite (no Kafka, so the coordinator
// settles through its in-process relay), driven by fxmesh-bench's load generator (bench/load.h)
// from this process in a closed loop of GetQuote + Exchange at each concurrency of
// $FXMESH_RSS_CONCURRENCY (default 64,256) for $FXMESH_RSS_SECONDS each (default 5, after 1 s of
// warm-up). It then reads each service's peak resident memory (VmHWM) and current one (VmRSS)
// from /proc/<pid>/status, checks that every point completed exchanges and that both ledgers
// balance with no hold left HELD, and writes the figures as JSON to $FXMESH_RSS_JSON (when set).
// The load generator runs here, so no service's figure includes it.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/load.h"
#include "bench/scenario.h"
#include "tests/binaries/mesh_processes.h"

namespace fxmesh::testing {
namespace {

constexpr int kCustomers = 256;
constexpr int64_t kCustomerKrwMinor = 1'000'000'000'000;
constexpr int64_t kTargetMib = 100;

// A figure of /proc/<pid>/status in KiB ("VmHWM:", "VmRSS:"); -1 when missing.
int64_t StatusKib(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int64_t kib = 0;
    if (line.rfind(field, 0) == 0 &&
        absl::SimpleAtoi(
            absl::StripSuffix(absl::StripAsciiWhitespace(line.substr(field.size())), " kB"),
            &kib)) {
      return kib;
    }
  }
  return -1;
}

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

struct Service {
  std::string name;
  ServiceProcess* process;
  int64_t idle_rss_kib = 0;
};

TEST_CASE("each service's peak resident memory at saturation, over the real processes",
          "[bench][rss]") {
  double seconds = 0;
  REQUIRE(absl::SimpleAtod(EnvOr("FXMESH_RSS_SECONDS", "5"), &seconds));
  REQUIRE(seconds > 0);
  std::vector<int> concurrency;
  for (absl::string_view item :
       absl::StrSplit(EnvOr("FXMESH_RSS_CONCURRENCY", "64,256"), ',', absl::SkipEmpty())) {
    int value = 0;
    INFO("FXMESH_RSS_CONCURRENCY holds " << item);
    REQUIRE((absl::SimpleAtoi(item, &value) && value > 0));
    concurrency.push_back(value);
  }
  REQUIRE(!concurrency.empty());

  MeshProcesses mesh(/*dev_faults=*/false);
  for (int c = 0; c < kCustomers; ++c) {
    mesh.Fund(mesh.krw(), absl::StrCat("c", c, "-krw"), "KRW", kCustomerKrwMinor);
    mesh.Fund(mesh.fx(), absl::StrCat("c", c, "-usd"), "USD", 0);
  }
  // Production's recovery pace; no daily or rate limit for these few busy customers.
  mesh.StartCoordinator({"--recovery_interval_ms=1000", "--daily_limit_krw=1000000000000000",
                         "--customer_rate_per_second=0"});
  std::vector<Service> services = {{"krw-ledger", &mesh.ledger_process("krw")},
                                   {"fx-ledger", &mesh.ledger_process("fx")},
                                   {"coordinator", &mesh.coordinator()}};
  for (Service& service : services)
    service.idle_rss_kib = StatusKib(service.process->pid(), "VmRSS:");

  bench::ScenarioOptions client;
  client.customers = kCustomers;
  client.run_id = absl::StrCat("rss", absl::ToUnixMicros(absl::Now()));
  const bench::Operation operation = [&](int64_t n, std::function<void(bench::OpResult)> done) {
    bench::QuoteThenExchange(mesh.exchange(), client, n, std::move(done));
  };
  bench::LoadOptions load;
  load.measure = absl::Seconds(seconds);
  std::vector<std::string> points;
  double best_per_s = 0;
  for (int c : concurrency) {
    const bench::LoadResult result = bench::RunClosedLoop(operation, c, load);
    load.first_n = result.next_n;
    std::printf("rss: closed loop %d: %s\n", c, bench::Describe(result).c_str());
    CHECK(result.completed > 0);
    best_per_s = std::max(best_per_s, result.throughput_per_s);
    points.push_back(absl::StrFormat(
        "{\"concurrency\": %d, \"seconds\": %.3f, \"completed\": %d, \"pending\": %d, "
        "\"failed\": %d, \"throughput_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f}",
        c, result.seconds, result.completed, result.pending,
        result.failed + result.dropped + result.unfinished, result.throughput_per_s, result.p50_ms,
        result.p99_ms));
  }

  std::vector<std::string> figures;
  for (const Service& service : services) {
    const int64_t peak_kib = StatusKib(service.process->pid(), "VmHWM:");
    const int64_t rss_kib = StatusKib(service.process->pid(), "VmRSS:");
    INFO(service.name << " is still running");
    REQUIRE(peak_kib > 0);
    figures.push_back(absl::StrFormat(
        "{\"service\": \"%s\", \"peak_rss_kib\": %d, \"rss_kib\": %d, \"idle_rss_kib\": %d, "
        "\"met\": %s}",
        service.name, peak_kib, rss_kib, service.idle_rss_kib,
        peak_kib <= kTargetMib * 1024 ? "true" : "false"));
  }
  mesh.CheckLedgers();

  const std::string json = absl::StrCat(
      "{\"seconds_each\": ", seconds, ", \"warmup_seconds\": ", absl::ToDoubleSeconds(load.warmup),
      ", \"customers\": ", kCustomers, ", \"target_mib\": ", kTargetMib,
      ", \"saturation_per_s\": ", absl::StrFormat("%.2f", best_per_s), ",\n \"points\": [",
      absl::StrJoin(points, ",\n  "), "],\n \"services\": [", absl::StrJoin(figures, ",\n  "),
      "]}");
  std::printf("rss: %s\n", json.c_str());
  if (const char* out = std::getenv("FXMESH_RSS_JSON")) std::ofstream(out) << json << "\n";
}

}  // namespace
}  // namespace fxmesh::testing
