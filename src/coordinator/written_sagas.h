// The sagas this replica wrote last, as it wrote them: what a relay answer about one of them needs,
// without reading the row again. Only a hint: another replica (or an operator) may have written the
// saga since, so what is found here leads to a write fenced by the revision it carries, and a stale
// one fails that fence and is read again (relay_settlement.cc). A saga is kept at its highest
// revision written here; the oldest entries give way past limits::kWrittenSagasKeptMax.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/limits.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class WrittenSagas {
 public:
  explicit WrittenSagas(size_t kept_max = limits::kWrittenSagasKeptMax) : kept_max_(kept_max) {}

  // `saga` was written with its revision; an older revision than the one kept is ignored (two
  // writers of this replica may report out of order).
  void Remember(const v1::Saga& saga);
  // The saga as last written here, if kept.
  std::optional<v1::Saga> Find(absl::string_view saga_id) const;
  size_t size() const;

 private:
  const size_t kept_max_;
  mutable absl::Mutex mu_;
  std::map<std::string, v1::Saga, std::less<>> sagas_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> oldest_first_ ABSL_GUARDED_BY(mu_);  // Each kept saga once.
};

}  // namespace fxmesh::coordinator
