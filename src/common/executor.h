// A fixed pool of worker threads with a bounded queue. gRPC handlers hand slow work (database
// transactions) to it so that no gRPC thread ever blocks on I/O.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace fxmesh {

// Thread-safe. Destruction runs every task already accepted, then joins the workers.
class Executor {
 public:
  Executor(std::string name, size_t threads, size_t queue_depth_max);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; false (and `task` dropped) when the queue is full or the executor is stopping.
  bool Submit(absl::AnyInvocable<void() &&> task);
  // Workers free to start a task now: idle workers not already spoken for by queued tasks. A
  // moment later it may be fewer, since other callers submit too.
  size_t IdleWorkers();

 private:
  void WorkLoop();

  const std::string name_;
  const size_t queue_depth_max_;
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  size_t busy_ ABSL_GUARDED_BY(mu_) = 0;  // Workers running a task.
  std::vector<std::thread> workers_;
};

}  // namespace fxmesh
