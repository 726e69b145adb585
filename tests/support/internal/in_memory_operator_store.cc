// OperatorStore in memory: the SOCI store's OperatorStore (soci_operator_store.cc) over
// InMemoryTables, with the same refusals and the same audit rows.

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "tests/support/internal/in_memory_tables.h"

namespace fxmesh::testing::internal {
namespace {

// A dead letter as it reads back: text made printable, the command parsed when it is one.
v1::DeadLetter ReadDeadLetter(int64_t id, const DeadLetterRow& row) {
  const v1::DeadLetter& inserted = row.inserted;
  v1::DeadLetter dead_letter;
  dead_letter.set_dead_letter_id(id);
  dead_letter.set_saga_id(PrintableText(inserted.saga_id(), limits::kQuotedTextBytesMax));
  dead_letter.set_payload(PrintableText(inserted.payload(), limits::kDeadLetterPayloadBytesMax));
  v1::BranchCommand command;
  if (ParseProtoJson(dead_letter.payload(), command).ok()) *dead_letter.mutable_command() = command;
  dead_letter.set_error(PrintableText(inserted.error(), limits::kQuotedTextBytesMax));
  dead_letter.set_attempts(inserted.attempts());
  dead_letter.set_source_topic(inserted.source_topic());
  dead_letter.set_partition(inserted.partition());
  dead_letter.set_offset(inserted.offset());
  *dead_letter.mutable_dead_lettered_at() =
      TimestampFromMicros(Micros(inserted.dead_lettered_at()));
  if (row.replayed_at_us > 0)
    *dead_letter.mutable_replayed_at() = TimestampFromMicros(row.replayed_at_us);
  dead_letter.set_replayed_by(row.replayed_by);
  dead_letter.set_dismissal_proposed_by(row.dismissal_proposed_by);
  dead_letter.set_dismissal_reason(row.dismissal_reason);
  dead_letter.set_dismissed_by(row.dismissed_by);
  if (row.dismissed_at_us > 0) {
    *dead_letter.mutable_dismissed_at() = TimestampFromMicros(row.dismissed_at_us);
  }
  return dead_letter;
}

bool Pending(const DeadLetterRow& row) {
  return row.replayed_at_us == 0 && row.dismissed_at_us == 0;
}

class InMemoryOperatorStore final : public coordinator::OperatorStore {
 public:
  explicit InMemoryOperatorStore(InMemoryTables& tables) : tables_(tables) {}

  absl::Status SetParticipantPaused(const v1::Participant& participant) override {
    absl::MutexLock lock(&tables_.mu);
    v1::Participant& row = tables_.participants[participant.participant()];
    row.set_participant(participant.participant());
    row.set_paused(participant.paused());
    row.set_paused_by(participant.paused_by());
    row.set_pause_reason(participant.pause_reason());
    *row.mutable_paused_at() = TimestampFromMicros(Micros(participant.paused_at()));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::Participant> paused;
    for (const auto& [name, row] : tables_.participants) {
      if (row.paused()) paused.push_back(row);
    }
    return paused;
  }

  absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t id = ++tables_.last_resolution_id;
    v1::Resolution& row = tables_.resolutions[id];
    row.set_resolution_id(id);
    row.set_saga_id(resolution.saga_id());
    row.set_action(resolution.action());
    row.set_reason_code(resolution.reason_code());
    row.set_note(resolution.note());
    row.set_state(v1::RESOLUTION_STATE_PROPOSED);
    row.set_proposed_by(resolution.proposed_by());
    *row.mutable_proposed_at() = TimestampFromMicros(Micros(resolution.proposed_at()));
    tables_.InsertAudit(
        resolution.proposed_by(), "propose_resolution", resolution.saga_id(),
        absl::StrCat("resolution ", id, ": ", v1::ResolutionAction_Name(resolution.action()),
                     " reason ", resolution.reason_code(), "; ", resolution.note()),
        Micros(resolution.proposed_at()));
    return id;
  }

  absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.resolutions.find(resolution_id);
    if (row == tables_.resolutions.end()) return std::nullopt;
    return row->second;
  }

  absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(absl::string_view saga_id) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::Resolution> resolutions;
    for (const auto& [id, row] : tables_.resolutions) {
      if (row.saga_id() == saga_id) resolutions.push_back(row);
    }
    return resolutions;
  }

  absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                        const v1::Saga& saga, v1::SagaState expected_state,
                                        absl::string_view owner, absl::Time lease_until,
                                        const StepRecord& step, absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.resolutions.find(resolution_id);
    if (row == tables_.resolutions.end() || row->second.state() != v1::RESOLUTION_STATE_PROPOSED) {
      return absl::FailedPreconditionError(
          absl::StrCat("resolution ", resolution_id, " is not awaiting approval"));
    }
    // All or nothing: the saga's fence is checked before anything changes.
    if (absl::Status fence = tables_.CheckSagaWrite(saga, expected_state, owner, now);
        !fence.ok()) {
      return fence;
    }
    const int64_t now_us = absl::ToUnixMicros(now);
    row->second.set_state(v1::RESOLUTION_STATE_APPROVED);
    row->second.set_approved_by(std::string(approver));
    if (now_us > 0) *row->second.mutable_approved_at() = TimestampFromMicros(now_us);
    tables_.InsertAudit(approver, "approve_resolution", saga.saga_id(),
                        absl::StrCat("resolution ", resolution_id, " approved"), now_us);
    tables_.ApplySagaWrite(saga, expected_state, owner, lease_until, step, now);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) override {
    absl::MutexLock lock(&tables_.mu);
    for (const auto& [id, row] : tables_.dead_letters) {
      if (row.inserted.partition() == dead_letter.partition() &&
          row.inserted.offset() == dead_letter.offset()) {
        return false;
      }
    }
    DeadLetterRow& row = tables_.dead_letters[++tables_.last_dead_letter_id];
    v1::DeadLetter& inserted = row.inserted;
    inserted.set_saga_id(dead_letter.saga_id());
    inserted.set_payload(dead_letter.payload());
    inserted.set_error(dead_letter.error());
    inserted.set_attempts(dead_letter.attempts());
    inserted.set_source_topic(dead_letter.source_topic());
    inserted.set_partition(dead_letter.partition());
    inserted.set_offset(dead_letter.offset());
    *inserted.mutable_dead_lettered_at() = dead_letter.dead_lettered_at();
    return true;
  }

  absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.dead_letters.find(dead_letter_id);
    if (row == tables_.dead_letters.end()) return std::nullopt;
    return ReadDeadLetter(row->first, row->second);
  }

  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                              bool include_replayed,
                                                              int64_t after_id,
                                                              int limit) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::DeadLetter> dead_letters;
    for (auto row = tables_.dead_letters.upper_bound(after_id);
         row != tables_.dead_letters.end() && !Full(dead_letters.size(), limit); ++row) {
      if ((saga_id.empty() || row->second.inserted.saga_id() == saga_id) &&
          (include_replayed || Pending(row->second))) {
        dead_letters.push_back(ReadDeadLetter(row->first, row->second));
      }
    }
    return dead_letters;
  }

  absl::StatusOr<int64_t> CountPendingDeadLetters() override {
    absl::MutexLock lock(&tables_.mu);
    int64_t pending = 0;
    for (const auto& [id, row] : tables_.dead_letters) pending += Pending(row) ? 1 : 0;
    return pending;
  }

  absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                absl::string_view reason, const OutboxMessage& command,
                                absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.dead_letters.find(dead_letter_id);
    if (row == tables_.dead_letters.end() || !Pending(row->second)) {
      return absl::FailedPreconditionError(
          absl::StrCat("dead letter ", dead_letter_id, " was already replayed or dismissed"));
    }
    const int64_t now_us = absl::ToUnixMicros(now);
    row->second.replayed_at_us = now_us;
    row->second.replayed_by = std::string(operator_name);
    tables_.InsertAudit(operator_name, "replay_dead_letter", command.key,
                        absl::StrCat("dead letter ", dead_letter_id, " replayed: ", reason),
                        now_us);
    tables_.InsertOutbox(command);
    return absl::OkStatus();
  }

  absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id, absl::string_view operator_name,
                                          absl::string_view reason, absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.dead_letters.find(dead_letter_id);
    if (row == tables_.dead_letters.end() || !Pending(row->second) ||
        !row->second.dismissal_proposed_by.empty()) {
      return DismissalRefused(dead_letter_id);
    }
    row->second.dismissal_proposed_by = std::string(operator_name);
    row->second.dismissal_reason = std::string(reason);
    tables_.InsertAudit(
        operator_name, "propose_dismissal", row->second.inserted.saga_id(),
        absl::StrCat("dead letter ", dead_letter_id, " proposed for dismissal: ", reason),
        absl::ToUnixMicros(now));
    return absl::OkStatus();
  }

  absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id, absl::string_view approver,
                                          absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.dead_letters.find(dead_letter_id);
    // Maker-checker as the SQL has it: the approver differs from the proposer, ignoring ASCII case.
    if (row == tables_.dead_letters.end() || !Pending(row->second) ||
        row->second.dismissal_proposed_by.empty() ||
        absl::AsciiStrToLower(row->second.dismissal_proposed_by) ==
            absl::AsciiStrToLower(approver)) {
      return DismissalRefused(dead_letter_id);
    }
    const int64_t now_us = absl::ToUnixMicros(now);
    row->second.dismissed_by = std::string(approver);
    row->second.dismissed_at_us = now_us;
    tables_.InsertAudit(approver, "approve_dismissal", row->second.inserted.saga_id(),
                        absl::StrCat("dead letter ", dead_letter_id, " dismissed"), now_us);
    return absl::OkStatus();
  }

  absl::Status AppendAudit(const v1::AuditEntry& entry) override {
    absl::MutexLock lock(&tables_.mu);
    tables_.InsertAudit(entry.operator_(), entry.action(), entry.saga_id(), entry.detail(),
                        Micros(entry.at()));
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id, int64_t after_id,
                                                        int limit) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::AuditEntry> entries;
    for (auto row = tables_.audit.upper_bound(after_id);
         row != tables_.audit.end() && !Full(entries.size(), limit); ++row) {
      if (saga_id.empty() || row->second.saga_id() == saga_id) entries.push_back(row->second);
    }
    return entries;
  }

 private:
  // Why a dismissal was refused, as the SOCI store says it.
  absl::Status DismissalRefused(int64_t dead_letter_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tables_.mu) {
    const std::string name = absl::StrCat("dead letter ", dead_letter_id);
    auto row = tables_.dead_letters.find(dead_letter_id);
    if (row == tables_.dead_letters.end()) return absl::NotFoundError(absl::StrCat("no ", name));
    const DeadLetterRow& letter = row->second;
    if (letter.replayed_at_us > 0) {
      return absl::FailedPreconditionError(name + " was already replayed");
    }
    if (letter.dismissed_at_us > 0) {
      return absl::FailedPreconditionError(name + " was already dismissed");
    }
    if (letter.dismissal_proposed_by.empty()) {
      return absl::FailedPreconditionError(name + " has no proposed dismissal to approve");
    }
    return absl::FailedPreconditionError(
        absl::StrCat(name, " has a dismissal proposed by ", letter.dismissal_proposed_by,
                     " already; maker-checker: a different operator approves it"));
  }

  InMemoryTables& tables_;
};

}  // namespace

std::unique_ptr<coordinator::OperatorStore> NewInMemoryOperatorStore(InMemoryTables& tables) {
  return std::make_unique<InMemoryOperatorStore>(tables);
}

}  // namespace fxmesh::testing::internal
