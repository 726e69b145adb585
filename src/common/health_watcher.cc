#include "common/health_watcher.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace fxmesh {

HealthWatcher::HealthWatcher(GrpcServer& server, absl::AnyInvocable<absl::Status()> probe,
                             absl::Duration interval)
    : server_(server), probe_(std::move(probe)), interval_(interval) {
  thread_ = std::thread([this] { Loop(); });
}

HealthWatcher::~HealthWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void HealthWatcher::Loop() {
  while (true) {
    const absl::Status probed = probe_();
    const bool serving = probed.ok();
    if (serving != serving_.exchange(serving)) {
      if (serving) {
        LogInfo("healthy again: reporting SERVING");
      } else {
        LogError("health probe failed: reporting NOT_SERVING").With("error", probed);
      }
    }
    server_.SetServing(serving,
                       serving ? "" : absl::StrCat("health probe failed: ", probed.ToString()));
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), interval_)) return;
  }
}

}  // namespace fxmesh
