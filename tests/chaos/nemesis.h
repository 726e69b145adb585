// Carries out a fault plan against a running mesh, on its own thread, and records what it did:
// when each fault really began and ended, and any fault it could not apply (a service that would
// not restart, say). Faults of the plan end on their own; Heal() ends whatever is still on.
// On PostgreSQL it also acts as the services' supervisor: one that exits before serving (its
// database was away) is started again.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "tests/chaos/chaos_mesh.h"
#include "tests/chaos/fault_plan.h"

namespace fxmesh::chaos {

struct AppliedFault {
  Fault fault;
  absl::Duration began;  // from the workload's start
  absl::Duration ended;  // equal to `began` for an instantaneous fault
  // Why the fault could not be applied or ended, if it could not.
  std::string error;
};

class Nemesis {
 public:
  // `mesh` must outlive the nemesis.
  Nemesis(ChaosMesh& mesh, FaultPlan plan);
  ~Nemesis();

  // Starts the plan's clock now.
  void Start();
  // Stops applying the plan (faults not begun are skipped), then ends every fault still on.
  absl::Status Heal();
  // What was applied, in order of beginning. Call after Heal().
  std::vector<AppliedFault> applied() const;

 private:
  struct Event {
    absl::Duration at;
    size_t fault;  // index into plan_.faults
    bool begin;
  };
  void Run();
  // Starts again the supervised services that exited before serving (PostgreSQL backend).
  void Supervise();
  // Applies the beginning or end of a fault; returns why it failed, or "".
  std::string Apply(const Fault& fault, bool begin);

  ChaosMesh& mesh_;
  const FaultPlan plan_;
  // PostgreSQL backend: a restart does not wait for the service to serve (its database may be
  // the fault still on); the nemesis supervises it between events instead.
  const bool supervised_restarts_;
  absl::Time start_;
  std::thread thread_;
  absl::Notification stop_;
  mutable absl::Mutex mu_;
  std::vector<AppliedFault> applied_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::chaos
