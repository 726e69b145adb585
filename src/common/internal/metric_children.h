// The children of one metric family, keyed by their label values: a private helper of metrics.h.
// Thread-safe. Children are created on first use and never removed or moved, so a reference to
// one stays valid for the life of the map.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace fxmesh::metrics_internal {

template <typename ChildT>
class ChildMap {
 public:
  // The child with these label values; `make()` creates it (a std::unique_ptr<ChildT>) if absent.
  template <typename Make>
  ChildT& Get(absl::Span<const absl::string_view> values, Make make) {
    {
      // The common case, a child that exists, takes only the shared lock and copies nothing.
      absl::ReaderMutexLock lock(&mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    auto it = children_.find(values);
    if (it == children_.end()) {
      it = children_.emplace(std::vector<std::string>(values.begin(), values.end()), make()).first;
    }
    return *it->second;
  }

  // Calls `visit(label_values, child)` for each child, ordered by label values.
  template <typename Visit>
  void ForEach(Visit visit) const {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [values, child] : children_) visit(values, *child);
  }

 private:
  // Orders stored keys (strings) and looked-up keys (string_views) alike.
  struct Less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](absl::string_view x, absl::string_view y) { return x < y; });
    }
  };

  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<ChildT>, Less> children_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::metrics_internal
