// SagaEngine's dismissal of dead letters that must not be replayed (a poison message, or a command
// an operator settled by hand): one operator proposes with a reason, a different one approves, and
// the dead letter stops counting as pending. The store writes both steps with their audit rows.
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/saga_engine.h"

namespace fxmesh::coordinator {
namespace {

absl::StatusOr<v1::DeadLetter> Reread(SagaStore& store, int64_t dead_letter_id) {
  ASSIGN_OR_RETURN(std::optional<v1::DeadLetter> found, store.GetDeadLetter(dead_letter_id));
  if (!found) return absl::NotFoundError(absl::StrCat("no dead letter ", dead_letter_id));
  return *found;
}

}  // namespace

absl::StatusOr<v1::DeadLetter> SagaEngine::ProposeDismissal(
    const v1::ProposeDismissalRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  if (request.reason().empty()) {
    return absl::InvalidArgumentError("say why the dead letter must not be replayed (reason)");
  }
  RETURN_IF_ERROR(ValidateNote(request.reason(), "reason"));
  RETURN_IF_ERROR(store_.ProposeDeadLetterDismissal(request.dead_letter_id(), request.operator_(),
                                                    request.reason(), clock_.Now()));
  LogWarning("dead letter proposed for dismissal")
      .With("dead_letter_id", request.dead_letter_id())
      .With("operator", request.operator_())
      .With("reason", request.reason());
  return Reread(store_, request.dead_letter_id());
}

absl::Status SagaEngine::RefuseSelfApproval(absl::string_view operator_name,
                                            absl::string_view saga_id, std::string why) {
  v1::AuditEntry audit;
  *audit.mutable_at() = ToTimestamp(clock_.Now());
  audit.set_operator_(std::string(operator_name));
  audit.set_action("refused_self_approval");
  audit.set_saga_id(std::string(saga_id));
  audit.set_detail(why);
  if (absl::Status audited = store_.AppendAudit(audit); !audited.ok()) {
    LogError("cannot audit a refused self-approval").With("error", audited);
  }
  LogWarning("self-approval refused")
      .With("operator", operator_name)
      .With("saga_id", saga_id)
      .With("why", why);
  return absl::PermissionDeniedError(why);
}

absl::StatusOr<v1::DeadLetter> SagaEngine::ApproveDismissal(
    const v1::ApproveDismissalRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(v1::DeadLetter dead_letter, Reread(store_, request.dead_letter_id()));
  if (SameOperator(dead_letter.dismissal_proposed_by(), request.operator_())) {
    return RefuseSelfApproval(
        request.operator_(), dead_letter.saga_id(),
        absl::StrCat("maker-checker: the dismissal of dead letter ", request.dead_letter_id(),
                     " was proposed by ", dead_letter.dismissal_proposed_by(),
                     "; a different operator must approve it"));
  }
  RETURN_IF_ERROR(store_.ApproveDeadLetterDismissal(request.dead_letter_id(), request.operator_(),
                                                    clock_.Now()));
  LogWarning("dead letter dismissed")
      .With("dead_letter_id", request.dead_letter_id())
      .With("saga_id", dead_letter.saga_id())
      .With("proposed_by", dead_letter.dismissal_proposed_by())
      .With("approved_by", request.operator_());
  return Reread(store_, request.dead_letter_id());
}

}  // namespace fxmesh::coordinator
