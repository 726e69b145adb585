// The report of one chaos run: what ran, what the nemesis did, what the clients saw, what the
// checker found, and how to replay it. Printed at the end of each run and kept in its folder.
#pragma once

#include <string>
#include <vector>

#include "tests/chaos/checker.h"
#include "tests/chaos/fault_plan.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/workload.h"

namespace fxmesh::chaos {

struct RunReport {
  FaultPlan plan;
  std::string commit;
  std::vector<AppliedFault> faults;
  std::string heal_error;
  History history;
  Quiescence quiescence;
  absl::Duration quiescence_bound;
  Findings findings;
  // Services that exited without the nemesis killing them: "name: status".
  std::vector<std::string> crashes;
  // Supervised services (PostgreSQL backend) that exited before serving and were started again:
  // "name: count". Not violations: a service may refuse to start while its database is away.
  std::vector<std::string> failed_starts;
  std::string replay_command;
  std::string run_dir;
  // Whether every gRPC call of the run went over mutual TLS.
  bool tls = false;

  // "over mutual TLS" or "in plaintext": how the services and the harness called each other.
  std::string Transport() const;

  // Every violation, including the run's own (no quiescence in time, a crash).
  std::vector<Violation> AllViolations() const;
  bool passed() const { return AllViolations().empty(); }
  std::string Format() const;
  // One line for a table of many runs.
  std::string Summary() const;
};

}  // namespace fxmesh::chaos
