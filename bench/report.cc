#include "bench/report.h"

#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/log.h"

namespace fxmesh::bench {
namespace {

std::string JsonResult(const LoadResult& r) {
  return absl::StrFormat(
      "{\"seconds\": %.3f, \"completed\": %d, \"pending\": %d, \"failed\": %d, \"dropped\": %d, "
      "\"unfinished\": %d, \"throughput_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
      "\"p999_ms\": %.3f}",
      r.seconds, r.completed, r.pending, r.failed, r.dropped, r.unfinished, r.throughput_per_s,
      r.p50_ms, r.p99_ms, r.p999_ms);
}

template <typename T>
T Median(std::vector<T> values) {
  if (values.empty()) return T{};
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

const ScenarioReport* Find(const BenchReport& report, const std::string& name) {
  for (const ScenarioReport& scenario : report.scenarios) {
    if (scenario.name == name && scenario.error.empty()) return &scenario;
  }
  return nullptr;
}

std::string ReadFirstLine(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, prefix)) return line;
  }
  return "";
}

}  // namespace

LoadResult MedianOf(const std::vector<LoadResult>& runs) {
  LoadResult median;
  auto field = [&](auto member) {
    std::vector<std::decay_t<decltype(runs[0].*member)>> values;
    for (const LoadResult& run : runs) values.push_back(run.*member);
    return Median(values);
  };
  median.seconds = field(&LoadResult::seconds);
  median.completed = field(&LoadResult::completed);
  median.pending = field(&LoadResult::pending);
  median.failed = field(&LoadResult::failed);
  median.dropped = field(&LoadResult::dropped);
  median.unfinished = field(&LoadResult::unfinished);
  median.throughput_per_s = field(&LoadResult::throughput_per_s);
  median.p50_ms = field(&LoadResult::p50_ms);
  median.p99_ms = field(&LoadResult::p99_ms);
  median.p999_ms = field(&LoadResult::p999_ms);
  return median;
}

std::string ToJson(const BenchReport& report) {
  std::string out = "{\n";
  absl::StrAppend(&out, "  \"date\": ", JsonQuote(report.date), ",\n");
  absl::StrAppend(&out, "  \"commit\": ", JsonQuote(report.commit), ",\n");
  absl::StrAppend(&out, "  \"command\": ", JsonQuote(report.command), ",\n");
  absl::StrAppend(&out, "  \"machine\": ", JsonQuote(report.machine), ",\n");
  absl::StrAppend(&out, "  \"load_average_start\": ", JsonQuote(report.load_average_start),
                  ",\n  \"load_average_end\": ", JsonQuote(report.load_average_end), ",\n");
  absl::StrAppendFormat(&out,
                        "  \"seconds_each\": %g,\n  \"warmup_seconds\": %g,\n  \"runs\": %d,\n"
                        "  \"customers\": %d,\n  \"scenarios\": [\n",
                        report.seconds_each, report.warmup_s, report.runs, report.customers);
  for (size_t s = 0; s < report.scenarios.size(); ++s) {
    const ScenarioReport& scenario = report.scenarios[s];
    absl::StrAppend(
        &out, "    {\"name\": ", JsonQuote(scenario.name), ", \"text\": ", JsonQuote(scenario.text),
        ", \"operation\": ", JsonQuote(scenario.operation),
        ", \"setup\": ", JsonQuote(scenario.setup), ", \"error\": ", JsonQuote(scenario.error));
    absl::StrAppendFormat(&out,
                          ", \"saturation_per_s\": %.2f, \"saturation_concurrency\": %d, "
                          "\"peak_rss_kib\": %d, \"elapsed_seconds\": %.1f,\n     \"points\": [",
                          scenario.saturation_per_s, scenario.saturation_concurrency,
                          scenario.peak_rss_kib, scenario.elapsed_s);
    for (size_t p = 0; p < scenario.points.size(); ++p) {
      const Point& point = scenario.points[p];
      absl::StrAppend(&out, p == 0 ? "\n" : ",\n",
                      "      {\"loop\": ", point.open_loop ? "\"open\"" : "\"closed\"");
      if (point.open_loop) {
        absl::StrAppendFormat(&out, ", \"fraction_of_saturation\": %g, \"rate_per_s\": %.2f",
                              point.fraction, point.rate_per_s);
      } else {
        absl::StrAppendFormat(&out, ", \"concurrency\": %d", point.concurrency);
      }
      absl::StrAppend(&out, ",\n       \"median\": ", JsonResult(point.median),
                      ",\n       \"runs\": [");
      for (size_t r = 0; r < point.runs.size(); ++r) {
        absl::StrAppend(&out, r == 0 ? "" : ",\n                ", JsonResult(point.runs[r]));
      }
      absl::StrAppend(&out, "]}");
    }
    absl::StrAppend(&out, "]}", s + 1 == report.scenarios.size() ? "\n" : ",\n");
  }
  absl::StrAppend(&out, "  ]\n}\n");
  return out;
}

std::string ToMarkdown(const BenchReport& report, const std::string& json_link,
                       const std::string& png_link, const std::string& latency_png_link) {
  std::string out;
  absl::StrAppend(&out, "## Results\n\n", report.date, ", commit `", report.commit, "`, ",
                  report.machine, ". Reproduce with `", report.command, "`.\n\n");
  absl::StrAppendFormat(
      &out,
      "Each figure is the median of %d run(s) of %g s, after %g s of warm-up that is not counted; "
      "%d customers. Throughput counts completed exchanges only. Open-loop latency counts from "
      "each exchange's scheduled start. The machine's load average (1, 5, 15 min) was %s at the "
      "start and %s at the end; everything else it ran shares the cores with the bench. Raw "
      "figures of every run: [%s](%s).\n\n",
      report.runs, report.seconds_each, report.warmup_s, report.customers,
      report.load_average_start, report.load_average_end,
      json_link.substr(json_link.rfind('/') + 1), json_link);
  absl::StrAppend(&out, "![Completed exchanges per second against concurrency](", png_link,
                  ")\n\n![Latency percentiles at the open-loop rates](", latency_png_link, ")\n\n");

  // The ratios issue 15 sets targets for.
  struct Ratio {
    std::string over, under, target;
    double target_value;
  };
  const std::vector<Ratio> ratios = {
      {"fxmesh-sqlite", "ceiling", "at least 60 %", 0.6},
      {"fxmesh-postgres", "2pc-postgres", "at least 300 %", 3.0},
      {"fxmesh-postgres", "monolith-postgres", "at least 50 %", 0.5},
      {"fxmesh-sqlite-1m-accounts", "fxmesh-sqlite-1k-accounts", "at least 90 % (within 10 %)",
       0.9},
  };
  absl::StrAppend(&out, "| saturation ratio | value | target | met |\n|---|---|---|---|\n");
  for (const Ratio& ratio : ratios) {
    const ScenarioReport* over = Find(report, ratio.over);
    const ScenarioReport* under = Find(report, ratio.under);
    if (over == nullptr || under == nullptr || under->saturation_per_s <= 0) {
      absl::StrAppend(&out, "| ", ratio.over, " / ", ratio.under, " | not measured | ",
                      ratio.target, " | |\n");
      continue;
    }
    const double value = over->saturation_per_s / under->saturation_per_s;
    absl::StrAppendFormat(&out, "| %s / %s | %.1f %% (%.0f / %.0f per s) | %s | %s |\n", ratio.over,
                          ratio.under, 100 * value, over->saturation_per_s, under->saturation_per_s,
                          ratio.target, value >= ratio.target_value ? "yes" : "no");
  }
  absl::StrAppend(&out, "\n");

  for (const ScenarioReport& scenario : report.scenarios) {
    absl::StrAppend(&out, "### ", scenario.name, "\n\n", scenario.text,
                    ". One exchange: ", scenario.operation.empty() ? "-" : scenario.operation,
                    ".\n\n");
    if (!scenario.setup.empty()) absl::StrAppend(&out, "Set-up: ", scenario.setup, ".\n\n");
    if (!scenario.error.empty()) {
      absl::StrAppend(&out, "Not measured: ", scenario.error, "\n\n");
      continue;
    }
    absl::StrAppendFormat(&out,
                          "Saturation %.0f exchanges/s at concurrency %d. Peak resident memory of "
                          "the scenario's process (its services and the load generator; they run "
                          "in one process, so not per service): %d MiB.\n\n",
                          scenario.saturation_per_s, scenario.saturation_concurrency,
                          scenario.peak_rss_kib / 1024);
    absl::StrAppend(&out,
                    "| load | completed /s | p50 ms | p99 ms | p99.9 ms | pending | failed |\n"
                    "|---|---|---|---|---|---|---|\n");
    for (const Point& point : scenario.points) {
      const LoadResult& m = point.median;
      const std::string load = point.open_loop
                                   ? absl::StrFormat("open loop, %.0f %% (%.0f/s)",
                                                     100 * point.fraction, point.rate_per_s)
                                   : absl::StrFormat("closed loop, %d", point.concurrency);
      absl::StrAppendFormat(&out, "| %s | %.0f | %.2f | %.2f | %.2f | %d | %d |\n", load,
                            m.throughput_per_s, m.p50_ms, m.p99_ms, m.p999_ms, m.pending,
                            m.failed + m.dropped + m.unfinished);
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

std::string ToGnuplot(const BenchReport& report, const std::string& png_path,
                      const std::string& latency_png_path) {
  std::string out;
  std::vector<std::string> plots;
  for (const ScenarioReport& scenario : report.scenarios) {
    if (!scenario.error.empty()) continue;
    const std::string block =
        absl::StrCat("$data_", absl::StrReplaceAll(scenario.name, {{"-", "_"}}));
    absl::StrAppend(&out, block, " << EOD\n");
    for (const Point& point : scenario.points) {
      if (point.open_loop) continue;
      absl::StrAppendFormat(&out, "%d %.2f\n", point.concurrency, point.median.throughput_per_s);
    }
    absl::StrAppend(&out, "EOD\n");
    plots.push_back(
        absl::StrCat(block, " using 1:2 with linespoints lw 2 title '", scenario.name, "'"));
  }
  absl::StrAppend(&out, "set terminal pngcairo size 900,560 font ',10'\n", "set output '", png_path,
                  "'\n", "set title 'fxmesh-bench: completed exchanges per second (closed loop), ",
                  report.commit, "'\n",
                  "set xlabel 'concurrency (operations outstanding)'\n"
                  "set ylabel 'completed exchanges / s'\n"
                  "set logscale x 2\nset logscale y 10\nset grid\nset key outside right\n");
  if (plots.empty()) {
    absl::StrAppend(&out,
                    "set label 'no scenario measured' at graph 0.4, 0.5\nset xrange [1:2]\nset "
                    "yrange [1:10]\nplot 1 notitle lc rgb 'white'\n");
  } else {
    absl::StrAppend(&out, "plot ", absl::StrJoin(plots, ", \\\n     "), "\n");
  }

  // Latency at the open-loop rates: one cluster of p50, p99 and p99.9 per scenario and rate.
  absl::StrAppend(&out, "$latency << EOD\n");
  int rows = 0;
  for (const ScenarioReport& scenario : report.scenarios) {
    if (!scenario.error.empty()) continue;
    for (const Point& point : scenario.points) {
      if (!point.open_loop || point.median.completed == 0) continue;
      absl::StrAppendFormat(&out, "\"%s %.0f%%\" %.3f %.3f %.3f\n", scenario.name,
                            100 * point.fraction, point.median.p50_ms, point.median.p99_ms,
                            point.median.p999_ms);
      ++rows;
    }
  }
  absl::StrAppend(&out, "EOD\n", "reset\nset terminal pngcairo size 900,560 font ',10'\n",
                  "set output '", latency_png_path, "'\n",
                  "set title 'fxmesh-bench: latency at the open-loop rates (% of saturation), ",
                  report.commit, "'\n",
                  "set ylabel 'ms, from the scheduled start'\nset logscale y 10\nset grid ytics\n"
                  "set style data histograms\nset style histogram clustered gap 1\n"
                  "set style fill solid 0.8 border -1\nset xtics rotate by -30\n"
                  "set key outside right\n");
  if (rows == 0) {
    absl::StrAppend(&out,
                    "set label 'no open-loop run' at graph 0.4, 0.5\nset xrange [1:2]\nset yrange "
                    "[1:10]\nplot 1 notitle lc rgb 'white'\n");
  } else {
    absl::StrAppend(&out,
                    "plot $latency using 2:xtic(1) title 'p50', '' using 3 title 'p99', "
                    "'' using 4 title 'p99.9'\n");
  }
  return out;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return in ? absl::StrCat(one, " ", five, " ", fifteen) : "unknown";
}

std::string DescribeMachine() {
  std::string memory = ReadFirstLine("/proc/meminfo", "MemTotal:");
  int64_t memory_kib = 0;
  std::sscanf(memory.c_str(), "MemTotal: %ld", &memory_kib);
  std::string cpu = ReadFirstLine("/proc/cpuinfo", "model name");
  cpu = cpu.empty() ? "unknown CPU"
                    : std::string(absl::StripAsciiWhitespace(cpu.substr(cpu.find(':') + 1)));
  struct utsname name;
  std::string kernel = uname(&name) == 0 ? absl::StrCat(name.sysname, " ", name.release) : "?";
  return absl::StrFormat("%d cores (%s), %.1f GiB memory, %s", std::thread::hardware_concurrency(),
                         cpu, memory_kib / 1048576.0, kernel);
}

}  // namespace fxmesh::bench
