#include "bench/runner.h"

#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fxmesh::bench {
namespace {

std::string ResultFields(const LoadResult& r) {
  return absl::StrFormat("%.4f %d %d %d %d %d %.4f %.4f %.4f %.4f", r.seconds, r.completed,
                         r.pending, r.failed, r.dropped, r.unfinished, r.throughput_per_s, r.p50_ms,
                         r.p99_ms, r.p999_ms);
}

bool ParseResult(const std::vector<std::string>& fields, size_t first, LoadResult& r) {
  if (fields.size() != first + 10) return false;
  return absl::SimpleAtod(fields[first], &r.seconds) &&
         absl::SimpleAtoi(fields[first + 1], &r.completed) &&
         absl::SimpleAtoi(fields[first + 2], &r.pending) &&
         absl::SimpleAtoi(fields[first + 3], &r.failed) &&
         absl::SimpleAtoi(fields[first + 4], &r.dropped) &&
         absl::SimpleAtoi(fields[first + 5], &r.unfinished) &&
         absl::SimpleAtod(fields[first + 6], &r.throughput_per_s) &&
         absl::SimpleAtod(fields[first + 7], &r.p50_ms) &&
         absl::SimpleAtod(fields[first + 8], &r.p99_ms) &&
         absl::SimpleAtod(fields[first + 9], &r.p999_ms);
}

}  // namespace

absl::Status MeasureScenario(const std::string& name, const ScenarioOptions& options,
                             const RunSettings& settings, const std::string& out_path) {
  std::ofstream out(out_path);
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", out_path));
  auto scenario = StartScenario(name, options);
  if (!scenario.ok()) {
    out << "error " << scenario.status().ToString() << "\n";
    return scenario.status();
  }
  out << "operation " << (*scenario)->OperationText() << "\n";
  if (!(*scenario)->SetupText().empty()) out << "setup " << (*scenario)->SetupText() << "\n";
  const Operation operation = [&](int64_t n, std::function<void(OpResult)> done) {
    (*scenario)->Exchange(n, std::move(done));
  };
  LoadOptions load = settings.load;
  double saturation = 0;
  for (int concurrency : settings.concurrency) {
    std::vector<LoadResult> runs;
    for (int run = 0; run < settings.runs; ++run) {
      LoadResult result = RunClosedLoop(operation, concurrency, load);
      load.first_n = result.next_n;
      std::fprintf(stderr, "  %-18s closed %4d  run %d: %s\n", name.c_str(), concurrency, run + 1,
                   Describe(result).c_str());
      out << "closed " << concurrency << " " << ResultFields(result) << "\n";
      runs.push_back(result);
    }
    saturation = std::max(saturation, MedianOf(runs).throughput_per_s);
  }
  out.flush();
  if (saturation <= 0) return absl::OkStatus();
  for (double fraction : settings.open_loop_fractions) {
    const double rate = fraction * saturation;
    for (int run = 0; run < settings.runs; ++run) {
      LoadResult result = RunOpenLoop(operation, rate, load);
      load.first_n = result.next_n;
      std::fprintf(stderr, "  %-18s open %3.0f%% %6.0f/s run %d: %s\n", name.c_str(),
                   100 * fraction, rate, run + 1, Describe(result).c_str());
      out << "open " << fraction << " " << rate << " " << ResultFields(result) << "\n";
    }
  }
  return absl::OkStatus();
}

absl::Status ReadScenarioFigures(const std::string& path, ScenarioReport& scenario) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no figures in ", path));
  std::string line;
  auto point_for = [&](bool open_loop, int concurrency, double fraction) -> Point& {
    for (Point& point : scenario.points) {
      if (point.open_loop == open_loop && point.concurrency == concurrency &&
          point.fraction == fraction) {
        return point;
      }
    }
    Point& point = scenario.points.emplace_back();
    point.open_loop = open_loop;
    point.concurrency = concurrency;
    point.fraction = fraction;
    return point;
  };
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "error ")) {
      scenario.error = line.substr(6);
      continue;
    }
    if (absl::StartsWith(line, "setup ")) {
      scenario.setup = line.substr(6);
      continue;
    }
    if (absl::StartsWith(line, "operation ")) {
      scenario.operation = line.substr(10);
      continue;
    }
    std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    LoadResult result;
    int concurrency = 0;
    double fraction = 0, rate = 0;
    if (!fields.empty() && fields[0] == "closed" && fields.size() > 1 &&
        absl::SimpleAtoi(fields[1], &concurrency) && ParseResult(fields, 2, result)) {
      point_for(false, concurrency, 0).runs.push_back(result);
    } else if (!fields.empty() && fields[0] == "open" && fields.size() > 2 &&
               absl::SimpleAtod(fields[1], &fraction) && absl::SimpleAtod(fields[2], &rate) &&
               ParseResult(fields, 3, result)) {
      Point& point = point_for(true, 0, fraction);
      point.rate_per_s = rate;
      point.runs.push_back(result);
    } else {
      return absl::DataLossError(absl::StrCat("unreadable line in ", path, ": ", line));
    }
  }
  for (Point& point : scenario.points) {
    point.median = MedianOf(point.runs);
    if (!point.open_loop && point.median.throughput_per_s > scenario.saturation_per_s) {
      scenario.saturation_per_s = point.median.throughput_per_s;
      scenario.saturation_concurrency = point.concurrency;
    }
  }
  return absl::OkStatus();
}

}  // namespace fxmesh::bench
