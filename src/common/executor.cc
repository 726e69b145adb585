#include "common/executor.h"

#include <utility>

namespace fxmesh {

Executor::Executor(std::string name, size_t threads, size_t queue_depth_max)
    : name_(std::move(name)), queue_depth_max_(queue_depth_max) {
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkLoop(); });
}

Executor::~Executor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

bool Executor::Submit(absl::AnyInvocable<void() &&> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= queue_depth_max_) return false;
  queue_.push_back(std::move(task));
  return true;
}

size_t Executor::IdleWorkers() {
  absl::MutexLock lock(&mu_);
  const size_t spoken_for = busy_ + queue_.size();
  return stopping_ || spoken_for >= workers_.size() ? 0 : workers_.size() - spoken_for;
}

void Executor::WorkLoop() {
  while (true) {
    absl::AnyInvocable<void() &&> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]()
                       ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); };
      mu_.Await(absl::Condition(&ready));
      // Drain what was accepted before stopping, so no caller is left without an answer.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    std::move(task)();
    absl::MutexLock lock(&mu_);
    --busy_;
  }
}

}  // namespace fxmesh
