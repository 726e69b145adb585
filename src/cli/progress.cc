#include "cli/progress.h"

#include "absl/strings/str_format.h"
#include "common/limits.h"

namespace fxmesh::cli {

Progress::Progress(std::ostream& err, bool enabled, std::string label, absl::Time since)
    : err_(err), label_(std::move(label)), since_(since) {
  // No thread at all when disabled: most calls are short and most output is not a terminal.
  if (enabled) drawer_ = std::thread([this] { Draw(); });
}

Progress::~Progress() {
  if (!drawer_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }
  drawer_.join();
}

void Progress::Draw() {
  static constexpr char kFrames[] = {'|', '/', '-', '\\'};
  absl::MutexLock lock(&mu_);
  // Waiting on the condition rather than sleeping lets a call that answers quickly end at once.
  const absl::Time first_draw = absl::Now() + absl::Milliseconds(limits::kCliProgressAfterMs);
  if (mu_.AwaitWithDeadline(absl::Condition(&done_), first_draw)) return;
  for (int frame = 0;; ++frame) {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - since_);
    // "\r" returns to the line's start and "\033[K" erases what a longer earlier frame left.
    err_ << absl::StrFormat("\r%c %s  %.1fs\033[K", kFrames[frame % 4], label_, seconds);
    err_.flush();
    if (mu_.AwaitWithTimeout(absl::Condition(&done_),
                             absl::Milliseconds(limits::kCliProgressTickMs))) {
      break;
    }
  }
  err_ << "\r\033[K";
  err_.flush();
}

}  // namespace fxmesh::cli
