// A participant that never answers, for tests that watch a coordinator's own loops and endpoints
// rather than its exchanges.
#pragma once

#include "common/participant_client.h"

namespace fxmesh::coordinator {

class UnreachableLedger final : public ParticipantClient {
 public:
  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest&, absl::Time) override {
    return absl::UnavailableError("no ledger in this test");
  }
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest&, absl::Time) override {
    return absl::UnavailableError("no ledger in this test");
  }
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest&, absl::Time) override {
    return absl::UnavailableError("no ledger in this test");
  }
};

}  // namespace fxmesh::coordinator
