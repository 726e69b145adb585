// Where the coordinator applies what the relay sends back: RelaySettlement (relay_settlement.h) in
// production; a test may put its own behind the result consumer.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/relay.pb.h"

namespace fxmesh::coordinator {

class RelayAnswerSink {
 public:
  virtual ~RelayAnswerSink() = default;
  // Both are idempotent. OK: applied, or nothing to change. ABORTED: not now, the saga is busy
  // (another driver holds it, or moved it on mid-write); UNAVAILABLE: the database is away.
  // Anything else: it can never be applied.
  virtual absl::Status ApplyBranchResult(const v1::BranchResult& result) = 0;
  virtual absl::Status ApplyDeadLetter(const v1::DeadLetter& dead_letter) = 0;
  // Several results about one saga at once (the in-process relay runs a saga's commands
  // together), as the same status ApplyBranchResult would give. By default one after the other;
  // a sink may record them in one write.
  virtual absl::Status ApplyBranchResults(const std::vector<v1::BranchResult>& results) {
    for (const v1::BranchResult& result : results) {
      if (absl::Status applied = ApplyBranchResult(result); !applied.ok()) return applied;
    }
    return absl::OkStatus();
  }
};

}  // namespace fxmesh::coordinator
