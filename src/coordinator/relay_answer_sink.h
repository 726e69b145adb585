// Where the coordinator applies what the relay sends back: RelaySettlement (relay_settlement.h) in
// production; a test may put its own behind the result consumer.
#pragma once

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
};

}  // namespace fxmesh::coordinator
