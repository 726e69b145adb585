// What fxmesh-bench reports: the raw figures of every run as JSON, a markdown section for
// docs/benchmarks.md, and a gnuplot script that draws throughput against concurrency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/load.h"

namespace fxmesh::bench {

// One load point: a closed loop at `concurrency`, or an open loop at `rate_per_s` (the fraction
// `fraction` of the scenario's saturation). `median` holds each figure's median over `runs`.
struct Point {
  bool open_loop = false;
  int concurrency = 0;
  double fraction = 0;
  double rate_per_s = 0;
  std::vector<LoadResult> runs;
  LoadResult median;
};

struct ScenarioReport {
  std::string name;
  std::string text;       // What the scenario is.
  std::string operation;  // What one operation is.
  std::string setup;      // What starting it took, when reported (bulk seeding); not measured.
  std::string error;      // Set when the scenario could not run (or was skipped: why).
  std::vector<Point> points;
  double saturation_per_s = 0;  // The best closed-loop median throughput.
  int saturation_concurrency = 0;
  int64_t peak_rss_kib = 0;  // Of the scenario's process (servers and load generator together).
  double elapsed_s = 0;
};

struct BenchReport {
  std::string date;                // UTC, ISO 8601.
  std::string commit;              // git rev-parse --short HEAD, as given.
  std::string command;             // How to reproduce, as given.
  std::string machine;             // Cores, memory, kernel, CPU.
  std::string load_average_start;  // /proc/loadavg's 1, 5 and 15-minute figures.
  std::string load_average_end;
  double seconds_each = 0;
  double warmup_s = 0;
  int runs = 0;
  int customers = 0;
  std::vector<ScenarioReport> scenarios;
};

// Each field the median over `runs` (counts and percentiles independently).
LoadResult MedianOf(const std::vector<LoadResult>& runs);

std::string ToJson(const BenchReport& report);
// The section of docs/benchmarks.md between its "bench:begin" and "bench:end" markers; links are
// relative to docs/.
std::string ToMarkdown(const BenchReport& report, const std::string& json_link,
                       const std::string& png_link, const std::string& latency_png_link);
// A gnuplot script (data inline) writing a PNG of throughput against concurrency to `png_path`
// and one of the open-loop latency percentiles to `latency_png_path`.
std::string ToGnuplot(const BenchReport& report, const std::string& png_path,
                      const std::string& latency_png_path);

// The machine: cores, memory, kernel and CPU model, read from the system.
std::string DescribeMachine();
// The system's load averages over 1, 5 and 15 minutes, e.g. "0.52 0.61 0.70".
std::string LoadAverage();

}  // namespace fxmesh::bench
