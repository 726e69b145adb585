// fxmesh-bench: every scenario of docs/benchmarks.md, measured by an asynchronous load generator
// (closed-loop sweep, then open loop at fractions of saturation). Each scenario runs in a child
// process of its own, so that its peak resident memory is its own. Writes the raw figures as JSON,
// the markdown section of docs/benchmarks.md and a gnuplot script; scripts/run-benchmarks.sh
// (`make bench`) wires them into the docs.
//
//   fxmesh-bench [--scenarios=a,b] [--postgres_url=postgresql://...] [--concurrency=1,4,16]
//                [--seconds_each=5] [--runs=3] [--out_json=F] [--out_markdown=F] [--out_gnuplot=F]
//
// Exits 1 when a scenario that was asked for and could run completed no exchange at some point.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "bench/report.h"
#include "bench/runner.h"
#include "common/log.h"

ABSL_FLAG(std::string, scenarios, "",
          "scenarios to run, comma-separated, in this order; empty: all, in the report's order");
ABSL_FLAG(std::string, concurrency, "1,4,16,64,256", "closed-loop concurrency sweep");
ABSL_FLAG(std::string, open_loop, "0.5,0.8", "open-loop rates, as fractions of saturation");
ABSL_FLAG(double, seconds_each, 5, "measured seconds per run");
ABSL_FLAG(double, warmup_seconds, 1, "warm-up seconds before each run (not counted)");
ABSL_FLAG(int, runs, 3, "runs per point; each figure is their median");
ABSL_FLAG(int, customers, 0, "funded customers (0: the largest concurrency)");
ABSL_FLAG(int64_t, customers_1k, 1'000, "customers of fxmesh-sqlite-1k-accounts");
ABSL_FLAG(int64_t, customers_1m, 1'000'000, "customers of fxmesh-sqlite-1m-accounts");
ABSL_FLAG(std::string, postgres_url, "",
          "a PostgreSQL server holding the scenarios' databases (scripts/run-benchmarks.sh "
          "creates them); empty: the PostgreSQL scenarios are skipped");
ABSL_FLAG(std::string, sqlite_dir, "", "folder for SQLite files (empty: a temporary one)");
ABSL_FLAG(std::string, out_json, "", "where to write the raw figures as JSON");
ABSL_FLAG(std::string, out_markdown, "", "where to write the section for docs/benchmarks.md");
ABSL_FLAG(std::string, out_gnuplot, "", "where to write the gnuplot script");
ABSL_FLAG(std::string, png, "throughput.png", "the PNG the gnuplot script writes");
ABSL_FLAG(std::string, latency_png, "latency.png", "the latency PNG the gnuplot script writes");
ABSL_FLAG(std::string, latency_png_link, "../bench/results/latency.png",
          "the latency PNG, as docs/ links it");
ABSL_FLAG(std::string, json_link, "../bench/results/latest.json", "the JSON, as docs/ links it");
ABSL_FLAG(std::string, png_link, "../bench/results/throughput.png", "the PNG, as docs/ links it");
ABSL_FLAG(std::string, commit, "", "the commit measured, for the report");
ABSL_FLAG(std::string, command, "make bench",
          "the command that reproduces the run, for the report");
ABSL_FLAG(std::string, child_scenario, "", "internal: measure this scenario and exit");
ABSL_FLAG(std::string, child_out, "", "internal: where the child writes its figures");

extern char** environ;

namespace fxmesh::bench {
namespace {

template <typename T>
std::vector<T> ParseList(const std::string& text) {
  std::vector<T> values;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    T value{};
    bool ok = false;
    if constexpr (std::is_same_v<T, int>) ok = absl::SimpleAtoi(item, &value);
    if constexpr (std::is_same_v<T, double>) ok = absl::SimpleAtod(item, &value);
    if (!ok || value <= 0) {
      std::fprintf(stderr, "not a positive number: %s\n", std::string(item).c_str());
      std::exit(2);
    }
    values.push_back(value);
  }
  return values;
}

RunSettings Settings() {
  RunSettings settings;
  settings.concurrency = ParseList<int>(absl::GetFlag(FLAGS_concurrency));
  settings.open_loop_fractions = ParseList<double>(absl::GetFlag(FLAGS_open_loop));
  settings.load.warmup = absl::Seconds(absl::GetFlag(FLAGS_warmup_seconds));
  settings.load.measure = absl::Seconds(absl::GetFlag(FLAGS_seconds_each));
  settings.runs = std::max(1, absl::GetFlag(FLAGS_runs));
  return settings;
}

int Customers(const RunSettings& settings) {
  if (absl::GetFlag(FLAGS_customers) > 0) return absl::GetFlag(FLAGS_customers);
  return *std::max_element(settings.concurrency.begin(), settings.concurrency.end());
}

// The child: measures one scenario into --child_out.
int RunChild() {
  const RunSettings settings = Settings();
  ScenarioOptions options;
  options.customers = Customers(settings);
  options.customers_1k = absl::GetFlag(FLAGS_customers_1k);
  options.customers_1m = absl::GetFlag(FLAGS_customers_1m);
  options.postgres_url = absl::GetFlag(FLAGS_postgres_url);
  options.run_id = absl::StrCat("b", absl::ToUnixMicros(absl::Now()), "-", getpid());
  options.sqlite_dir = absl::GetFlag(FLAGS_sqlite_dir);
  std::string temporary;
  if (options.sqlite_dir.empty()) {
    temporary = (std::filesystem::temp_directory_path() / "fxmesh-bench-XXXXXX").string();
    if (mkdtemp(temporary.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    options.sqlite_dir = temporary;
  }
  absl::Status status = MeasureScenario(absl::GetFlag(FLAGS_child_scenario), options, settings,
                                        absl::GetFlag(FLAGS_child_out));
  if (!temporary.empty()) std::filesystem::remove_all(temporary);
  if (!status.ok()) std::fprintf(stderr, "  %s\n", status.ToString().c_str());
  return status.ok() ? 0 : 1;
}

// Runs this binary as a child measuring `name`; its figures and peak RSS go into `scenario`.
void RunInChild(int argc, char** argv, const std::string& name, const std::string& figures_path,
                ScenarioReport& scenario) {
  std::vector<std::string> args(argv, argv + argc);
  args.push_back("--child_scenario=" + name);
  args.push_back("--child_out=" + figures_path);
  std::vector<char*> child_argv;
  for (std::string& arg : args) child_argv.push_back(arg.data());
  child_argv.push_back(nullptr);
  const absl::Time start = absl::Now();
  pid_t pid = 0;
  if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, child_argv.data(), environ) != 0) {
    scenario.error = "cannot start a child process";
    return;
  }
  int wait_status = 0;
  struct rusage usage {};
  wait4(pid, &wait_status, 0, &usage);
  scenario.elapsed_s = absl::ToDoubleSeconds(absl::Now() - start);
  scenario.peak_rss_kib = usage.ru_maxrss;
  absl::Status read = ReadScenarioFigures(figures_path, scenario);
  if (!read.ok() && scenario.error.empty()) scenario.error = read.ToString();
  if (scenario.error.empty() && !(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)) {
    scenario.error = absl::StrCat("the scenario's process ended with status ", wait_status);
  }
}

bool WriteFile(const std::string& path, const std::string& text) {
  if (path.empty()) return true;
  std::ofstream out(path);
  out << text;
  if (out.good()) return true;
  std::fprintf(stderr, "cannot write %s\n", path.c_str());
  return false;
}

int RunParent(int argc, char** argv) {
  const RunSettings settings = Settings();
  BenchReport report;
  report.date = absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone());
  report.commit = absl::GetFlag(FLAGS_commit);
  report.command = absl::GetFlag(FLAGS_command);
  report.machine = DescribeMachine();
  report.load_average_start = LoadAverage();
  report.seconds_each = absl::GetFlag(FLAGS_seconds_each);
  report.warmup_s = absl::GetFlag(FLAGS_warmup_seconds);
  report.runs = settings.runs;
  report.customers = Customers(settings);
  ScenarioOptions options;
  options.customers_1k = absl::GetFlag(FLAGS_customers_1k);
  options.customers_1m = absl::GetFlag(FLAGS_customers_1m);
  const std::string figures_dir =
      (std::filesystem::temp_directory_path() / "fxmesh-bench-figures-XXXXXX").string();
  std::string dir = figures_dir;
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  int failures = 0;
  std::vector<std::string> names =
      absl::StrSplit(absl::GetFlag(FLAGS_scenarios), ',', absl::SkipEmpty());
  if (names.empty()) names = ScenarioNames();
  for (const std::string& name : names) {
    ScenarioReport& scenario = report.scenarios.emplace_back();
    scenario.name = name;
    scenario.text = ScenarioText(name, options);
    if (NeedsPostgres(name) && absl::GetFlag(FLAGS_postgres_url).empty()) {
      scenario.error = "skipped: no PostgreSQL server given (--postgres_url).";
      std::fprintf(stderr, "%s: %s\n", name.c_str(), scenario.error.c_str());
      continue;
    }
    std::fprintf(stderr, "%s\n", name.c_str());
    RunInChild(argc, argv, name, absl::StrCat(dir, "/", name, ".txt"), scenario);
    bool all_completed = scenario.error.empty() && !scenario.points.empty();
    for (const Point& point : scenario.points) {
      if (point.median.completed == 0) all_completed = false;
    }
    if (!all_completed) {
      ++failures;
      std::fprintf(
          stderr, "%s: FAILED: %s\n", name.c_str(),
          scenario.error.empty() ? "a point completed no exchange" : scenario.error.c_str());
    }
  }
  std::filesystem::remove_all(dir);
  report.load_average_end = LoadAverage();
  bool written =
      WriteFile(absl::GetFlag(FLAGS_out_json), ToJson(report)) &&
      WriteFile(absl::GetFlag(FLAGS_out_markdown),
                ToMarkdown(report, absl::GetFlag(FLAGS_json_link), absl::GetFlag(FLAGS_png_link),
                           absl::GetFlag(FLAGS_latency_png_link))) &&
      WriteFile(absl::GetFlag(FLAGS_out_gnuplot),
                ToGnuplot(report, absl::GetFlag(FLAGS_png), absl::GetFlag(FLAGS_latency_png)));
  for (const ScenarioReport& scenario : report.scenarios) {
    std::fprintf(stderr, "%-18s saturation %8.1f /s at %3d, peak RSS %4ld MiB%s%s\n",
                 scenario.name.c_str(), scenario.saturation_per_s, scenario.saturation_concurrency,
                 static_cast<long>(scenario.peak_rss_kib / 1024),
                 scenario.error.empty() ? "" : "  ", scenario.error.c_str());
  }
  return failures == 0 && written ? 0 : 1;
}

}  // namespace
}  // namespace fxmesh::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  fxmesh::SetLogLevel(fxmesh::LogLevel::kError);
  if (!absl::GetFlag(FLAGS_child_scenario).empty()) return fxmesh::bench::RunChild();
  return fxmesh::bench::RunParent(argc, argv);
}
