// The TCC calls of a ledger as LedgerService makes them: LedgerEngine answers them, and a layer in
// front of the engine (the development fault switch in ledger/dev/) can answer instead. The
// service does not know which it has.
#pragma once

#include "absl/status/status.h"
#include "fxmesh/v1/ledger.pb.h"

namespace fxmesh::ledger {

class BranchCalls {
 public:
  virtual ~BranchCalls() = default;

  virtual absl::Status Try(const v1::TryRequest& request, v1::BranchResponse* response) = 0;
  virtual absl::Status Confirm(const v1::BranchRequest& request, v1::BranchResponse* response) = 0;
  virtual absl::Status Cancel(const v1::BranchRequest& request, v1::BranchResponse* response) = 0;
};

}  // namespace fxmesh::ledger
