// A participant that never answers, for tests that watch a coordinator's own loops and endpoints
// rather than its exchanges.
#pragma once

#include <string>

#include "common/participant_client.h"
#include "coordinator/coordinator_server.h"
#include "tests/coordinator/coordinator_harness.h"

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

// A coordinator over `database_url` with the test rates, whose ledgers are both `ledger`.
inline CoordinatorServerOptions UnreachableLedgerOptions(const std::string& database_url,
                                                         UnreachableLedger& ledger) {
  CoordinatorServerOptions options;
  options.database.url = database_url;
  options.rates_text = kTestRates;
  options.spread_bps = 50;
  options.participant_clients = {{std::string(kKrwParticipant), &ledger},
                                 {std::string(kFxParticipant), &ledger}};
  return options;
}

}  // namespace fxmesh::coordinator
