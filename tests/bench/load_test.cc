// Proves fxmesh-bench's load generator (bench/load.h) counts what it claims: a closed loop keeps
// exactly C operations outstanding, and an open loop keeps starting operations on schedule while
// earlier ones are stuck, charging each the time since its scheduled start (no coordinated
// omission). Operations are fakes that a timer thread completes after a set delay; the bounds are
// loose because the timer runs on real time.
#include "bench/load.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace fxmesh::bench {
namespace {

// Completes each operation `delay` after it started, from a thread of its own; while `stuck_until`
// lies ahead, operations started before it complete only then.
class FakeSystem {
 public:
  FakeSystem(absl::Duration delay, absl::Time stuck_until = absl::InfinitePast())
      : delay_(delay), stuck_until_(stuck_until), timer_([this] { Loop(); }) {}
  ~FakeSystem() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    timer_.join();
  }

  Operation operation() {
    return [this](int64_t, std::function<void(OpResult)> done) {
      absl::MutexLock lock(&mu_);
      const absl::Time now = absl::Now();
      const int64_t outstanding = ++outstanding_;
      max_outstanding_ = std::max(max_outstanding_, outstanding);
      due_.emplace(std::max(now + delay_, stuck_until_), std::move(done));
    };
  }

  int64_t max_outstanding() {
    absl::MutexLock lock(&mu_);
    return max_outstanding_;
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void(OpResult)> done;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_ && due_.empty()) return;
        if (due_.empty() || due_.begin()->first > absl::Now()) {
          mu_.Unlock();
          absl::SleepFor(absl::Microseconds(200));
          mu_.Lock();
          continue;
        }
        done = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        --outstanding_;
      }
      done(OpResult::kCompleted);
    }
  }

  const absl::Duration delay_;
  const absl::Time stuck_until_;
  absl::Mutex mu_;
  std::multimap<absl::Time, std::function<void(OpResult)>> due_ ABSL_GUARDED_BY(mu_);
  int64_t outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t max_outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread timer_;  // Last: started once the rest is built.
};

TEST_CASE("A closed loop keeps C operations outstanding and counts only its window", "[unit]") {
  FakeSystem system(absl::Milliseconds(10));
  LoadOptions options;
  options.warmup = absl::Milliseconds(100);
  options.measure = absl::Milliseconds(500);
  const LoadResult result = RunClosedLoop(system.operation(), 4, options);
  CHECK(system.max_outstanding() == 4);
  // 4 at a time, 10 ms each: at most 200 in 500 ms; timer slack makes it fewer.
  CHECK(result.completed > 80);
  CHECK(result.completed <= 210);
  CHECK(result.p50_ms >= 10);
  CHECK(result.failed + result.pending + result.unfinished == 0);
  CHECK(result.throughput_per_s == result.completed / result.seconds);
}

TEST_CASE("A closed loop survives operations that end inside the call that started them",
          "[unit]") {
  std::atomic<int64_t> started{0};
  const Operation refused = [&](int64_t, std::function<void(OpResult)> done) {
    ++started;
    done(OpResult::kFailed);
  };
  LoadOptions options;
  options.warmup = absl::ZeroDuration();
  options.measure = absl::Milliseconds(200);
  const LoadResult result = RunClosedLoop(refused, 2, options);
  CHECK(result.completed == 0);
  CHECK(result.failed > 1'000);
  CHECK(result.failed <= started);
  CHECK(result.unfinished == 0);
}

TEST_CASE("An open loop keeps its schedule while the system is stuck, and charges the wait",
          "[unit]") {
  // Everything started in the first 300 ms completes only at 300 ms.
  const absl::Time start = absl::Now();
  FakeSystem system(absl::Milliseconds(1), start + absl::Milliseconds(300));
  LoadOptions options;
  options.warmup = absl::ZeroDuration();
  options.measure = absl::Milliseconds(600);
  const LoadResult result = RunOpenLoop(system.operation(), 200, options);
  // 200/s for 0.6 s, started on schedule even though nothing completed for 300 ms.
  CHECK(result.completed >= 110);
  CHECK(result.completed <= 121);
  CHECK(system.max_outstanding() >= 50);
  // The first operations waited about 300 ms from their scheduled start: a generator that waited
  // for them before starting more would report only a few slow ones, not a quarter and more.
  CHECK(result.p50_ms < 100);
  CHECK(result.p99_ms >= 250);
  CHECK(result.dropped == 0);
}

}  // namespace
}  // namespace fxmesh::bench
