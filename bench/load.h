// The load generator of fxmesh-bench: drives an asynchronous operation (one or several unary gRPC
// calls chained in callbacks) in a closed loop at a fixed concurrency or in an open loop at a fixed
// rate, and measures throughput and latency percentiles over a window that excludes the warm-up.
//
// Open-loop latency is measured from each operation's *intended* start (its slot in the schedule),
// not from when it was actually started, so a slow system cannot hide its queueing by slowing the
// generator down (no coordinated omission).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"

namespace fxmesh::bench {

// How one operation ended. Pending (an exchange answered PENDING) is counted apart from both.
enum class OpResult { kCompleted, kPending, kFailed };

// Starts operation number `n` and returns without waiting; calls `done` exactly once, from any
// thread, when the operation has ended. Must be safe to call from many threads at once, including
// from inside another operation's `done`.
using Operation = std::function<void(int64_t n, std::function<void(OpResult)> done)>;

struct LoadOptions {
  // Operations intended to start during the warm-up are run but not counted.
  absl::Duration warmup = absl::Seconds(1);
  // The measured window, after the warm-up.
  absl::Duration measure = absl::Seconds(5);
  // How long, after the window, operations still running are waited for. Longer than the
  // operations' own deadlines, so every operation has ended when a run returns.
  absl::Duration drain_max = absl::Seconds(30);
  // Open loop: operations allowed to be running at once; a slot of the schedule that finds this
  // many running is counted as dropped rather than started, so an overloaded system cannot make
  // the generator grow without bound.
  int64_t outstanding_max = 20'000;
  // The first operation number, so that consecutive runs never reuse an n (idempotency keys).
  int64_t first_n = 0;
};

// Figures of one run. Latencies are of completed operations only, in milliseconds.
struct LoadResult {
  double seconds = 0;  // The measured window.
  int64_t completed = 0;
  int64_t pending = 0;
  int64_t failed = 0;
  int64_t dropped = 0;          // Open loop: schedule slots not started (outstanding_max reached).
  int64_t unfinished = 0;       // Still running after drain_max.
  double throughput_per_s = 0;  // completed / seconds.
  double p50_ms = 0;
  double p99_ms = 0;
  double p999_ms = 0;
  int64_t next_n = 0;  // The first operation number a following run may use.
};

// C operations outstanding at all times: each completion starts the next. Counts the operations
// started inside the window; stops starting new ones at its end and waits for those running.
LoadResult RunClosedLoop(const Operation& operation, int concurrency, const LoadOptions& options);

// Operations started every 1/rate_per_s seconds whether or not earlier ones have ended. Counts
// the operations whose intended start falls inside the window.
LoadResult RunOpenLoop(const Operation& operation, double rate_per_s, const LoadOptions& options);

// One line for a terminal: throughput, counts and percentiles.
std::string Describe(const LoadResult& result);

}  // namespace fxmesh::bench
