// A spinner with the elapsed time on stderr while a call runs, for a person watching a terminal:
//
//   / waiting for the exchange's outcome  2.4s
//
// Nothing is drawn for calls that answer within limits::kCliProgressAfterMs, when disabled (stderr
// is not a terminal, or the output is JSON), or ever on stdout. The line is erased when the
// Progress ends, so whatever is printed next starts on a clean line.
#pragma once

#include <ostream>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fxmesh::cli {

class Progress {
 public:
  // Starts timing now; `since` lets a series of waits (a watch) show the time of the whole.
  Progress(std::ostream& err, bool enabled, std::string label, absl::Time since = absl::Now());
  // Stops drawing and erases the line, if one was drawn.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

 private:
  void Draw();

  std::ostream& err_;
  const std::string label_;
  const absl::Time since_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread drawer_;
};

}  // namespace fxmesh::cli
