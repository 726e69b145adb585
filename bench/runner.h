// One scenario's measurements: the closed-loop sweep, saturation, then the open-loop rates, each
// point run `runs` times. fxmesh-bench runs each scenario in a child process of its own (so its
// peak RSS is the scenario's), which writes its figures as lines of text that the parent reads.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/report.h"
#include "bench/scenario.h"

namespace fxmesh::bench {

struct RunSettings {
  std::vector<int> concurrency = {1, 4, 16, 64, 256};
  // Open-loop rates as fractions of the saturation found by the sweep.
  std::vector<double> open_loop_fractions = {0.5, 0.8};
  LoadOptions load;
  int runs = 3;
};

// Starts scenario `name`, measures it and writes its figures to `out_path` (lines that
// ReadScenarioFigures reads); progress goes to stderr. An error (the scenario could not start) is
// also written there.
absl::Status MeasureScenario(const std::string& name, const ScenarioOptions& options,
                             const RunSettings& settings, const std::string& out_path);

// Fills `scenario`'s points, saturation and error from what MeasureScenario wrote to `path`.
absl::Status ReadScenarioFigures(const std::string& path, ScenarioReport& scenario);

}  // namespace fxmesh::bench
