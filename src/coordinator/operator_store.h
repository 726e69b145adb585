// What operators act on: paused participants, maker-checker resolutions, dead letters (replay and
// maker-checker dismissal) and the append-only audit log. The writes that change a saga or queue a
// command (ApproveResolutionAndSave, ReplayDeadLetter) do it in the same transaction as their audit
// row, with SagaRepository's and OutboxStore's rules. Implementations are thread-safe and make each
// method one local transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/outbox_store.h"
#include "coordinator/saga_repository.h"
#include "fxmesh/v1/ops.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class OperatorStore {
 public:
  virtual ~OperatorStore() = default;

  // Records the participant's pause (or its end), replacing what was recorded before.
  virtual absl::Status SetParticipantPaused(const v1::Participant& participant) = 0;
  // The paused participants, by name.
  virtual absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() = 0;

  // Records a PROPOSED resolution (its id, state and approval fields are ignored) with its audit
  // row; returns the id this insert was given.
  virtual absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) = 0;
  virtual absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) = 0;
  virtual absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(
      absl::string_view saga_id) = 0;
  // In one transaction: marks the resolution approved (FAILED_PRECONDITION unless it is still
  // PROPOSED), writes the audit row, and saves `saga` as SagaRepository::SaveSaga does (revision,
  // state and lease fencing included). Either all of it happens or none, so an approval is never
  // recorded without its effect. The approver's name is not checked here: the engine refuses a
  // self-approval before it gets this far.
  virtual absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                                const v1::Saga& saga, v1::SagaState expected_state,
                                                absl::string_view owner, absl::Time lease_until,
                                                const StepRecord& step, absl::Time now) = 0;

  // Dead letters: the messages of fxmesh.branch.dlq, recorded once per position in the topic (a
  // redelivered message writes nothing). Returns whether `dead_letter` was new; its id, replay
  // fields and parsed command are ignored.
  virtual absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) = 0;
  virtual absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) = 0;
  // In id order after `after_id`; `saga_id` empty means every saga's.
  virtual absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                                      bool include_replayed,
                                                                      int64_t after_id,
                                                                      int limit) = 0;
  // Dead letters neither replayed nor dismissed: each still needs an operator.
  virtual absl::StatusOr<int64_t> CountPendingDeadLetters() = 0;
  // In one transaction: marks the dead letter replayed by `operator_name` (FAILED_PRECONDITION if
  // it already was, was dismissed or does not exist), appends the audit row, and queues `command`
  // in the outbox.
  virtual absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                        absl::string_view reason, const OutboxMessage& command,
                                        absl::Time now) = 0;

  // Dismissal, maker-checker. Propose: records who and why on a dead letter neither replayed,
  // dismissed nor already proposed, with an audit row. Approve: marks it dismissed by `approver`
  // (who must differ from the proposer, ignoring ASCII case) if a dismissal was proposed and it is
  // still pending, with an audit row. FAILED_PRECONDITION otherwise; NOT_FOUND for an unknown id.
  virtual absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id,
                                                  absl::string_view operator_name,
                                                  absl::string_view reason, absl::Time now) = 0;
  virtual absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id,
                                                  absl::string_view approver, absl::Time now) = 0;

  // Appends to the audit log, whose rows are never updated or deleted (the database itself
  // refuses to).
  virtual absl::Status AppendAudit(const v1::AuditEntry& entry) = 0;
  // In id order after `after_id`; `saga_id` empty means every saga's.
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id,
                                                                int64_t after_id, int limit) = 0;
};

}  // namespace fxmesh::coordinator
