#include "bench/load.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace fxmesh::bench {
namespace {

// What a run shares with the callbacks of its operations. Held by shared_ptr: a callback that
// arrives after the run gave up waiting (drain_max) still finds it alive, and is ignored.
class Recorder {
 public:
  Recorder(absl::Time window_start, absl::Time window_end)
      : window_start_(window_start), window_end_(window_end) {}

  absl::Time window_end() const { return window_end_; }

  void Started() {
    absl::MutexLock lock(&mu_);
    ++outstanding_;
  }
  int64_t Outstanding() {
    absl::MutexLock lock(&mu_);
    return outstanding_;
  }

  // Records an operation that was meant to start at `intended_start` and ended now.
  void Ended(absl::Time intended_start, OpResult result) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    --outstanding_;
    if (closed_ || intended_start < window_start_ || intended_start >= window_end_) return;
    switch (result) {
      case OpResult::kCompleted:
        latencies_ms_.push_back(absl::ToDoubleMilliseconds(now - intended_start));
        break;
      case OpResult::kPending:
        ++pending_;
        break;
      case OpResult::kFailed:
        ++failed_;
        break;
    }
  }

  void Dropped() {
    absl::MutexLock lock(&mu_);
    ++dropped_;
  }

  // Waits until no operation is running or `deadline` passes, then stops recording.
  LoadResult Finish(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto drained = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
    mu_.AwaitWithDeadline(absl::Condition(&drained), deadline);
    closed_ = true;
    LoadResult result;
    result.seconds = absl::ToDoubleSeconds(window_end_ - window_start_);
    result.completed = static_cast<int64_t>(latencies_ms_.size());
    result.pending = pending_;
    result.failed = failed_;
    result.dropped = dropped_;
    result.unfinished = outstanding_;
    result.throughput_per_s = result.completed / result.seconds;
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
    // Nearest rank: the smallest latency with at least the fraction p at or below it.
    auto percentile = [&](double p) {
      if (latencies_ms_.empty()) return 0.0;
      size_t rank = static_cast<size_t>(p * latencies_ms_.size() + 0.999999);
      return latencies_ms_[std::clamp<size_t>(rank, 1, latencies_ms_.size()) - 1];
    };
    result.p50_ms = percentile(0.50);
    result.p99_ms = percentile(0.99);
    result.p999_ms = percentile(0.999);
    return result;
  }

 private:
  const absl::Time window_start_;
  const absl::Time window_end_;
  absl::Mutex mu_;
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<double> latencies_ms_ ABSL_GUARDED_BY(mu_);
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

// One slot of the closed loop: runs an operation, and when it ends starts the next, until the
// window is over.
struct ClosedLoop {
  Operation operation;  // A copy: a late thread of StartNext may outlive the caller's.
  std::shared_ptr<Recorder> recorder;
  std::atomic<int64_t> next_n;

  static void StartNext(const std::shared_ptr<ClosedLoop>& loop) {
    // An operation that ends inside the call that started it (a call refused at once) starts the
    // next one from there; past this depth the next starts on a thread of its own instead, so a
    // run of such operations cannot exhaust the stack.
    constexpr int kInlineDepthMax = 64;
    static thread_local int depth = 0;
    if (depth >= kInlineDepthMax) {
      std::thread([loop] { StartNext(loop); }).detach();
      return;
    }
    const absl::Time start = absl::Now();
    if (start >= loop->recorder->window_end()) return;
    loop->recorder->Started();
    const int64_t n = loop->next_n.fetch_add(1);
    ++depth;
    loop->operation(n, [loop, start](OpResult result) {
      loop->recorder->Ended(start, result);
      StartNext(loop);
    });
    --depth;
  }
};

}  // namespace

LoadResult RunClosedLoop(const Operation& operation, int concurrency, const LoadOptions& options) {
  const absl::Time start = absl::Now();
  auto loop = std::make_shared<ClosedLoop>();
  loop->operation = operation;
  loop->recorder =
      std::make_shared<Recorder>(start + options.warmup, start + options.warmup + options.measure);
  loop->next_n = options.first_n;
  for (int slot = 0; slot < concurrency; ++slot) ClosedLoop::StartNext(loop);
  absl::SleepFor(options.warmup + options.measure);
  LoadResult result = loop->recorder->Finish(absl::Now() + options.drain_max);
  result.next_n = loop->next_n.load();
  return result;
}

LoadResult RunOpenLoop(const Operation& operation, double rate_per_s, const LoadOptions& options) {
  const absl::Time start = absl::Now();
  const absl::Time end = start + options.warmup + options.measure;
  auto recorder = std::make_shared<Recorder>(start + options.warmup, end);
  const absl::Duration interval = absl::Seconds(1.0 / rate_per_s);
  int64_t n = options.first_n;
  for (int64_t slot = 0;; ++slot) {
    const absl::Time intended = start + slot * interval;
    if (intended >= end) break;
    const absl::Time now = absl::Now();
    if (intended > now) absl::SleepFor(intended - now);
    // A generator that fell behind starts the late operations at once; their latency still counts
    // from the intended start.
    if (recorder->Outstanding() >= options.outstanding_max) {
      if (intended >= start + options.warmup) recorder->Dropped();
      continue;
    }
    recorder->Started();
    operation(n++, [recorder, intended](OpResult result) { recorder->Ended(intended, result); });
  }
  LoadResult result = recorder->Finish(absl::Now() + options.drain_max);
  result.next_n = n;
  return result;
}

std::string Describe(const LoadResult& r) {
  return absl::StrFormat(
      "%8.1f /s  p50 %7.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  (%d completed, %d pending, %d failed, "
      "%d dropped, %d unfinished in %.1f s)",
      r.throughput_per_s, r.p50_ms, r.p99_ms, r.p999_ms, r.completed, r.pending, r.failed,
      r.dropped, r.unfinished, r.seconds);
}

}  // namespace fxmesh::bench
