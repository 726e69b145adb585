// Keeps a server's standard health status honest: a thread runs `probe` (e.g. a database ping)
// every `interval` and reports SERVING while it succeeds and NOT_SERVING while it fails, so
// Kubernetes stops routing to a replica that cannot reach its database and routes to it again once
// it can. Each change is logged.
#pragma once

#include <atomic>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc_server.h"

namespace fxmesh {

class HealthWatcher {
 public:
  // `server` must outlive the watcher. The first probe runs at once.
  HealthWatcher(GrpcServer& server, absl::AnyInvocable<absl::Status()> probe,
                absl::Duration interval);
  // Stops the thread.
  ~HealthWatcher();
  HealthWatcher(const HealthWatcher&) = delete;
  HealthWatcher& operator=(const HealthWatcher&) = delete;

  bool serving() const { return serving_.load(); }

 private:
  void Loop();

  GrpcServer& server_;
  absl::AnyInvocable<absl::Status()> probe_;
  const absl::Duration interval_;
  std::atomic<bool> serving_{true};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace fxmesh
