#include "coordinator/dead_letter_actions.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/internal/self_approval.h"

namespace fxmesh::coordinator {
namespace {

absl::StatusOr<v1::DeadLetter> Reread(SagaStore& store, int64_t dead_letter_id) {
  ASSIGN_OR_RETURN(std::optional<v1::DeadLetter> found, store.GetDeadLetter(dead_letter_id));
  if (!found) return absl::NotFoundError(absl::StrCat("no dead letter ", dead_letter_id));
  return *found;
}

}  // namespace

absl::StatusOr<v1::ListDeadLettersResponse> DeadLetterActions::ListDeadLetters(
    const v1::ListDeadLettersRequest& request) {
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(int limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(int64_t after, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(
      std::vector<v1::DeadLetter> dead_letters,
      store_.ListDeadLetters(request.saga_id(), request.include_replayed(), after, limit));
  v1::ListDeadLettersResponse response;
  for (v1::DeadLetter& dead_letter : dead_letters)
    *response.add_dead_letters() = std::move(dead_letter);
  if (static_cast<int>(dead_letters.size()) == limit) {
    response.set_next_page_token(absl::StrCat(response.dead_letters(limit - 1).dead_letter_id()));
  }
  return response;
}

absl::StatusOr<v1::ReplayDeadLettersResponse> DeadLetterActions::ReplayDeadLetters(
    const v1::ReplayDeadLettersRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  RETURN_IF_ERROR(ValidateNote(request.reason(), "reason"));
  if (request.target_case() == v1::ReplayDeadLettersRequest::kAll && !request.all()) {
    return absl::InvalidArgumentError(
        "all must be true to replay every dead letter; or name a dead_letter_id or saga_id");
  }
  std::vector<v1::DeadLetter> targets;
  switch (request.target_case()) {
    case v1::ReplayDeadLettersRequest::kDeadLetterId: {
      ASSIGN_OR_RETURN(std::optional<v1::DeadLetter> found,
                       store_.GetDeadLetter(request.dead_letter_id()));
      if (!found) {
        return absl::NotFoundError(absl::StrCat("no dead letter ", request.dead_letter_id()));
      }
      if (found->has_replayed_at()) {
        return absl::FailedPreconditionError(absl::StrCat("dead letter ", found->dead_letter_id(),
                                                          " was already replayed by ",
                                                          found->replayed_by()));
      }
      if (!found->has_command()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "dead letter ", found->dead_letter_id(),
            " is not a BranchCommand, so there is nothing to replay (", found->error(), ")"));
      }
      targets.push_back(std::move(*found));
      break;
    }
    case v1::ReplayDeadLettersRequest::kSagaId:
    case v1::ReplayDeadLettersRequest::kAll: {
      const std::string saga_id = request.all() ? "" : request.saga_id();
      if (!request.all()) RETURN_IF_ERROR(ValidateSagaId(saga_id));
      for (int64_t after = 0;;) {
        ASSIGN_OR_RETURN(std::vector<v1::DeadLetter> page,
                         store_.ListDeadLetters(saga_id, /*include_replayed=*/false, after,
                                                limits::kListPageSizeMax));
        if (page.empty()) break;
        after = page.back().dead_letter_id();
        for (v1::DeadLetter& dead_letter : page) targets.push_back(std::move(dead_letter));
      }
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "say which dead letters to replay: dead_letter_id, saga_id or all");
  }

  v1::ReplayDeadLettersResponse response;
  std::set<std::string> sagas;
  for (v1::DeadLetter& dead_letter : targets) {
    if (!dead_letter.has_command()) {
      response.add_skipped(absl::StrCat("dead letter ", dead_letter.dead_letter_id(),
                                        ": not a BranchCommand (", dead_letter.error(), ")"));
      continue;
    }
    // Replayed as a first attempt: the relay walks the tiers again from the start.
    v1::BranchCommand command = dead_letter.command();
    command.set_attempt(1);
    command.clear_not_before();
    command.clear_last_error();
    absl::Status replayed =
        store_.ReplayDeadLetter(dead_letter.dead_letter_id(), request.operator_(), request.reason(),
                                ToOutbox(command), clock_.Now());
    if (absl::IsFailedPrecondition(replayed)) {
      response.add_skipped(std::string(replayed.message()));
      continue;
    }
    RETURN_IF_ERROR(replayed);
    *dead_letter.mutable_replayed_at() = ToTimestamp(clock_.Now());
    dead_letter.set_replayed_by(request.operator_());
    LogInfo("dead letter replayed")
        .With("saga_id", command.branch().saga_id())
        .With("trace_id", command.branch().saga_id())
        .With("dead_letter_id", dead_letter.dead_letter_id())
        .With("operator", request.operator_());
    sagas.insert(command.branch().saga_id());
    writer_.CommandsQueued();
    *response.add_replayed() = std::move(dead_letter);
  }
  // The sagas no longer wait for an operator. Best effort: if another driver holds one, the
  // result of the replayed command clears its mark anyway.
  for (const std::string& saga_id : sagas) {
    absl::StatusOr<v1::Saga> cleared =
        leases_.WithSagaHeld(saga_id, [&]() -> absl::StatusOr<v1::Saga> {
          ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
          if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
          v1::Saga saga = std::move(*loaded);
          bool changed = false;
          for (v1::Branch& branch : *saga.mutable_branches()) {
            if (branch.dead_letter().empty()) continue;
            branch.clear_dead_letter();
            *branch.mutable_dispatched_at() = ToTimestamp(clock_.Now());
            *branch.mutable_expect_word_by() = ToTimestamp(ExpectAfterSend(clock_.Now(), timings_));
            changed = true;
          }
          if (!changed) return saga;
          RETURN_IF_ERROR(
              writer_.Save(saga, saga.state(),
                           StepRecord{saga.state(), saga.state(),
                                      absl::StrCat("dead letters replayed by ", request.operator_(),
                                                   ": ", request.reason())}));
          return saga;
        });
    if (!cleared.ok() && !absl::IsAborted(cleared.status())) {
      LogWarning("cannot clear a saga's dead-letter mark")
          .With("saga_id", saga_id)
          .With("error", cleared.status());
    }
  }
  return response;
}

absl::StatusOr<v1::DeadLetter> DeadLetterActions::ProposeDismissal(
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

absl::StatusOr<v1::DeadLetter> DeadLetterActions::ApproveDismissal(
    const v1::ApproveDismissalRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(v1::DeadLetter dead_letter, Reread(store_, request.dead_letter_id()));
  if (SameOperator(dead_letter.dismissal_proposed_by(), request.operator_())) {
    return internal::RefuseSelfApproval(
        store_, clock_.Now(), request.operator_(), dead_letter.saga_id(),
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
