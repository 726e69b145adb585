#include "coordinator/internal/self_approval.h"

#include "common/log.h"
#include "common/proto_time.h"

namespace fxmesh::coordinator::internal {

absl::Status RefuseSelfApproval(SagaStore& store, absl::Time now, absl::string_view operator_name,
                                absl::string_view saga_id, std::string why) {
  v1::AuditEntry audit;
  *audit.mutable_at() = ToTimestamp(now);
  audit.set_operator_(std::string(operator_name));
  audit.set_action("refused_self_approval");
  audit.set_saga_id(std::string(saga_id));
  audit.set_detail(why);
  if (absl::Status audited = store.AppendAudit(audit); !audited.ok()) {
    LogError("cannot audit a refused self-approval").With("error", audited);
  }
  LogWarning("self-approval refused")
      .With("operator", operator_name)
      .With("saga_id", saga_id)
      .With("why", why);
  return absl::PermissionDeniedError(why);
}

}  // namespace fxmesh::coordinator::internal
