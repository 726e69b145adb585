// The refusal both maker-checker flows share (a resolution of a saga, the dismissal of a dead
// letter): an operator approving their own proposal.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/saga_store.h"

namespace fxmesh::coordinator::internal {

// Records in the audit log, at `now`, that `operator_name` tried to approve their own proposal
// about `saga_id`, and returns PERMISSION_DENIED with `why`. A failed audit write is logged: the
// refusal stands either way.
absl::Status RefuseSelfApproval(SagaStore& store, absl::Time now, absl::string_view operator_name,
                                absl::string_view saga_id, std::string why);

}  // namespace fxmesh::coordinator::internal
