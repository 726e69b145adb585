// OperatorStore on SQLite or PostgreSQL via SOCI: paused participants, maker-checker resolutions,
// dead letters with their replay and dismissal, and the audit log (append-only: the schema's
// triggers refuse to change its rows).

#include <google/protobuf/util/time_util.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/soci_util.h"
#include "common/status_macros.h"
#include "coordinator/internal/soci_saga_rows.h"
#include "coordinator/internal/soci_saga_store_parts.h"

namespace fxmesh::coordinator::internal {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::string_view kDeadLetterColumns =
    "dead_letter_id, saga_id, payload, error, attempts, source_topic, kafka_partition,"
    " kafka_offset, dead_lettered_at_us, replayed_at_us, replayed_by, dismissal_proposed_by,"
    " dismissal_reason, dismissed_by, dismissed_at_us";

v1::DeadLetter DeadLetterFromRow(const soci::row& row) {
  v1::DeadLetter dead_letter;
  dead_letter.set_dead_letter_id(RowInt64(row, 0));
  // Rows written before payloads were made printable may hold any bytes.
  dead_letter.set_saga_id(PrintableText(RowString(row, 1), limits::kQuotedTextBytesMax));
  dead_letter.set_payload(PrintableText(RowString(row, 2), limits::kDeadLetterPayloadBytesMax));
  // A payload that is not a BranchCommand (poison) leaves `command` unset.
  v1::BranchCommand command;
  if (ParseProtoJson(dead_letter.payload(), command).ok()) *dead_letter.mutable_command() = command;
  dead_letter.set_error(PrintableText(RowString(row, 3), limits::kQuotedTextBytesMax));
  dead_letter.set_attempts(static_cast<int32_t>(RowInt64(row, 4)));
  dead_letter.set_source_topic(RowString(row, 5));
  dead_letter.set_partition(static_cast<int32_t>(RowInt64(row, 6)));
  dead_letter.set_offset(RowInt64(row, 7));
  *dead_letter.mutable_dead_lettered_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 8));
  if (const int64_t replayed = RowInt64(row, 9); replayed > 0)
    *dead_letter.mutable_replayed_at() = TimeUtil::MicrosecondsToTimestamp(replayed);
  dead_letter.set_replayed_by(RowString(row, 10));
  dead_letter.set_dismissal_proposed_by(RowString(row, 11));
  dead_letter.set_dismissal_reason(RowString(row, 12));
  dead_letter.set_dismissed_by(RowString(row, 13));
  if (const int64_t dismissed = RowInt64(row, 14); dismissed > 0)
    *dead_letter.mutable_dismissed_at() = TimeUtil::MicrosecondsToTimestamp(dismissed);
  return dead_letter;
}

class SociOperatorStore final : public OperatorStore {
 public:
  explicit SociOperatorStore(Database& database) : database_(database) {}

  absl::Status SetParticipantPaused(const v1::Participant& participant) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int paused = participant.paused() ? 1 : 0;
      long long at = Micros(participant.paused_at());
      sql << "INSERT INTO participants (participant, paused, paused_by, pause_reason, paused_at_us)"
             " VALUES (:p, :pa, :by, :r, :at) ON CONFLICT (participant) DO UPDATE SET"
             " paused = excluded.paused, paused_by = excluded.paused_by,"
             " pause_reason = excluded.pause_reason, paused_at_us = excluded.paused_at_us",
          soci::use(participant.participant()), soci::use(paused),
          soci::use(participant.paused_by()), soci::use(participant.pause_reason()), soci::use(at);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<v1::Participant>> ListPausedParticipants() override {
    std::vector<v1::Participant> paused;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      soci::rowset<soci::row> rows =
          sql.prepare
          << "SELECT participant, paused_by, pause_reason, paused_at_us FROM participants"
             " WHERE paused = 1 ORDER BY participant";
      for (const soci::row& row : rows) {
        v1::Participant& participant = paused.emplace_back();
        participant.set_participant(RowString(row, 0));
        participant.set_paused(true);
        participant.set_paused_by(RowString(row, 1));
        participant.set_pause_reason(RowString(row, 2));
        *participant.mutable_paused_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 3));
      }
      return absl::OkStatus();
    }));
    return paused;
  }

  absl::StatusOr<int64_t> InsertResolution(const v1::Resolution& resolution) override {
    int64_t id = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int action = resolution.action(), state = v1::RESOLUTION_STATE_PROPOSED;
      long long proposed = Micros(resolution.proposed_at()), zero = 0, inserted_id = 0;
      const std::string empty;
      sql << "INSERT INTO resolutions (saga_id, action, reason_code, note, state, proposed_by,"
             " proposed_at_us, approved_by, approved_at_us)"
             " VALUES (:s, :a, :r, :n, :st, :pb, :pa, :ab, :aa) RETURNING resolution_id",
          soci::use(resolution.saga_id()), soci::use(action), soci::use(resolution.reason_code()),
          soci::use(resolution.note()), soci::use(state), soci::use(resolution.proposed_by()),
          soci::use(proposed), soci::use(empty), soci::use(zero), soci::into(inserted_id);
      // The id this very insert got: reading back the largest id would race with another
      // proposal for the same saga committing in between.
      id = inserted_id;
      InsertAudit(
          sql, resolution.proposed_by(), "propose_resolution", resolution.saga_id(),
          absl::StrCat("resolution ", id, ": ", v1::ResolutionAction_Name(resolution.action()),
                       " reason ", resolution.reason_code(), "; ", resolution.note()),
          proposed);
      return Completion::kCommit;
    }));
    return id;
  }

  absl::StatusOr<std::optional<v1::Resolution>> GetResolution(int64_t resolution_id) override {
    std::optional<v1::Resolution> found;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long id = resolution_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << kResolutionSelect << " WHERE resolution_id = :id", soci::use(id));
      for (const soci::row& row : rows) found = ResolutionFromRow(row);
      return absl::OkStatus();
    }));
    return found;
  }

  absl::StatusOr<std::vector<v1::Resolution>> ListResolutions(absl::string_view saga_id) override {
    std::vector<v1::Resolution> resolutions;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << kResolutionSelect << " WHERE saga_id = :s ORDER BY resolution_id",
           soci::use(id));
      for (const soci::row& row : rows) resolutions.push_back(ResolutionFromRow(row));
      return absl::OkStatus();
    }));
    return resolutions;
  }

  absl::Status ApproveResolutionAndSave(int64_t resolution_id, absl::string_view approver,
                                        const v1::Saga& saga, v1::SagaState expected_state,
                                        absl::string_view owner, absl::Time lease_until,
                                        const StepRecord& step, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = resolution_id, now_us = absl::ToUnixMicros(now);
      int approved = v1::RESOLUTION_STATE_APPROVED, proposed = v1::RESOLUTION_STATE_PROPOSED;
      const std::string approver_text(approver);
      soci::statement update =
          (sql.prepare << "UPDATE resolutions SET state = :st, approved_by = :ab,"
                          " approved_at_us = :aa WHERE resolution_id = :id AND state = :pr",
           soci::use(approved), soci::use(approver_text), soci::use(now_us), soci::use(id),
           soci::use(proposed));
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("resolution ", resolution_id, " is not awaiting approval"));
      }
      InsertAudit(sql, approver_text, "approve_resolution", saga.saga_id(),
                  absl::StrCat("resolution ", resolution_id, " approved"), now_us);
      RETURN_IF_ERROR(WriteSaga(sql, saga, expected_state, owner, lease_until, step, now));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<bool> InsertDeadLetter(const v1::DeadLetter& dead_letter) override {
    bool inserted = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      int attempts = dead_letter.attempts(), partition = dead_letter.partition();
      long long offset = dead_letter.offset(), at = Micros(dead_letter.dead_lettered_at()),
                zero = 0;
      const std::string nobody;
      soci::statement insert =
          (sql.prepare << "INSERT INTO dead_letters (saga_id, payload, error, attempts,"
                          " source_topic, kafka_partition, kafka_offset, dead_lettered_at_us,"
                          " replayed_at_us, replayed_by)"
                          " VALUES (:s, :p, :e, :a, :t, :pa, :o, :at, :r, :rb)"
                          " ON CONFLICT (kafka_partition, kafka_offset) DO NOTHING",
           soci::use(dead_letter.saga_id()), soci::use(dead_letter.payload()),
           soci::use(dead_letter.error()), soci::use(attempts),
           soci::use(dead_letter.source_topic()), soci::use(partition), soci::use(offset),
           soci::use(at), soci::use(zero), soci::use(nobody));
      insert.execute(true);
      inserted = insert.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return inserted;
  }

  absl::StatusOr<std::optional<v1::DeadLetter>> GetDeadLetter(int64_t dead_letter_id) override {
    std::optional<v1::DeadLetter> found;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long id = dead_letter_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kDeadLetterColumns
                       << " FROM dead_letters WHERE dead_letter_id = :id",
           soci::use(id));
      for (const soci::row& row : rows) found = DeadLetterFromRow(row);
      return absl::OkStatus();
    }));
    return found;
  }

  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(absl::string_view saga_id,
                                                              bool include_replayed,
                                                              int64_t after_id,
                                                              int limit) override {
    std::vector<v1::DeadLetter> dead_letters;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      long long after = after_id;
      int all = include_replayed ? 1 : 0;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kDeadLetterColumns
                       << " FROM dead_letters WHERE dead_letter_id > :after"
                          " AND (:s = '' OR saga_id = :s2)"
                          " AND (:all = 1 OR (replayed_at_us = 0 AND dismissed_at_us = 0))"
                          " ORDER BY dead_letter_id LIMIT :lim",
           soci::use(after), soci::use(id), soci::use(id), soci::use(all), soci::use(limit));
      for (const soci::row& row : rows) dead_letters.push_back(DeadLetterFromRow(row));
      return absl::OkStatus();
    }));
    return dead_letters;
  }

  absl::StatusOr<int64_t> CountPendingDeadLetters() override {
    long long pending = 0;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      sql << "SELECT COUNT(*) FROM dead_letters WHERE replayed_at_us = 0 AND dismissed_at_us = 0",
          soci::into(pending);
      return absl::OkStatus();
    }));
    return pending;
  }

  absl::Status ReplayDeadLetter(int64_t dead_letter_id, absl::string_view operator_name,
                                absl::string_view reason, const OutboxMessage& command,
                                absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(operator_name);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET replayed_at_us = :at, replayed_by = :by"
                          " WHERE dead_letter_id = :id AND replayed_at_us = 0"
                          " AND dismissed_at_us = 0",
           soci::use(now_us), soci::use(by), soci::use(id));
      update.execute(true);
      if (update.get_affected_rows() != 1) {
        return absl::FailedPreconditionError(
            absl::StrCat("dead letter ", dead_letter_id, " was already replayed or dismissed"));
      }
      InsertAudit(sql, by, "replay_dead_letter", command.key,
                  absl::StrCat("dead letter ", dead_letter_id, " replayed: ", reason), now_us);
      InsertOutbox(sql, command, now_us);
      return Completion::kCommit;
    });
  }

  absl::Status ProposeDeadLetterDismissal(int64_t dead_letter_id, absl::string_view operator_name,
                                          absl::string_view reason, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(operator_name), why(reason);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET dismissal_proposed_by = :by,"
                          " dismissal_reason = :why WHERE dead_letter_id = :id"
                          " AND replayed_at_us = 0 AND dismissed_at_us = 0"
                          " AND dismissal_proposed_by = ''",
           soci::use(by), soci::use(why), soci::use(id));
      update.execute(true);
      if (update.get_affected_rows() != 1) return DismissalRefused(sql, dead_letter_id);
      AuditDeadLetter(
          sql, dead_letter_id, by, "propose_dismissal",
          absl::StrCat("dead letter ", dead_letter_id, " proposed for dismissal: ", why), now_us);
      return Completion::kCommit;
    });
  }

  absl::Status ApproveDeadLetterDismissal(int64_t dead_letter_id, absl::string_view approver,
                                          absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long id = dead_letter_id, now_us = absl::ToUnixMicros(now);
      const std::string by(approver);
      soci::statement update =
          (sql.prepare << "UPDATE dead_letters SET dismissed_by = :by, dismissed_at_us = :at"
                          " WHERE dead_letter_id = :id AND replayed_at_us = 0"
                          " AND dismissed_at_us = 0 AND dismissal_proposed_by <> ''"
                          " AND LOWER(dismissal_proposed_by) <> LOWER(:by2)",
           soci::use(by), soci::use(now_us), soci::use(id), soci::use(by));
      update.execute(true);
      if (update.get_affected_rows() != 1) return DismissalRefused(sql, dead_letter_id);
      AuditDeadLetter(sql, dead_letter_id, by, "approve_dismissal",
                      absl::StrCat("dead letter ", dead_letter_id, " dismissed"), now_us);
      return Completion::kCommit;
    });
  }

  absl::Status AppendAudit(const v1::AuditEntry& entry) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      InsertAudit(sql, entry.operator_(), entry.action(), entry.saga_id(), entry.detail(),
                  Micros(entry.at()));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<v1::AuditEntry>> ListAudit(absl::string_view saga_id, int64_t after_id,
                                                        int limit) override {
    std::vector<v1::AuditEntry> entries;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      const std::string id(saga_id);
      long long after = after_id;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT audit_id, at_us, operator, action, saga_id, detail FROM audit_log"
                          " WHERE audit_id > :after AND (:s = '' OR saga_id = :s2)"
                          " ORDER BY audit_id LIMIT :lim",
           soci::use(after), soci::use(id), soci::use(id), soci::use(limit));
      for (const soci::row& row : rows) {
        v1::AuditEntry& entry = entries.emplace_back();
        entry.set_audit_id(RowInt64(row, 0));
        *entry.mutable_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 1));
        entry.set_operator_(RowString(row, 2));
        entry.set_action(RowString(row, 3));
        entry.set_saga_id(RowString(row, 4));
        entry.set_detail(RowString(row, 5));
      }
      return absl::OkStatus();
    }));
    return entries;
  }

 private:
  static constexpr absl::string_view kResolutionSelect =
      "SELECT resolution_id, saga_id, action, reason_code, note, state, proposed_by,"
      " proposed_at_us, approved_by, approved_at_us FROM resolutions";

  // Appends an audit row about a dead letter, under its saga.
  static void AuditDeadLetter(soci::session& sql, int64_t dead_letter_id, const std::string& by,
                              const std::string& action, const std::string& detail,
                              long long at_us) {
    long long id = dead_letter_id;
    std::string saga_id;
    sql << "SELECT saga_id FROM dead_letters WHERE dead_letter_id = :id", soci::use(id),
        soci::into(saga_id);
    InsertAudit(sql, by, action, saga_id, detail, at_us);
  }

  // Why a dismissal's update matched no row, as the status to answer with.
  static absl::Status DismissalRefused(soci::session& sql, int64_t dead_letter_id) {
    long long id = dead_letter_id, replayed = 0, dismissed = 0;
    std::string proposed_by;
    sql << "SELECT replayed_at_us, dismissed_at_us, dismissal_proposed_by FROM dead_letters"
           " WHERE dead_letter_id = :id",
        soci::use(id), soci::into(replayed), soci::into(dismissed), soci::into(proposed_by);
    const std::string name = absl::StrCat("dead letter ", dead_letter_id);
    if (!sql.got_data()) return absl::NotFoundError(absl::StrCat("no ", name));
    if (replayed > 0) return absl::FailedPreconditionError(name + " was already replayed");
    if (dismissed > 0) return absl::FailedPreconditionError(name + " was already dismissed");
    if (proposed_by.empty()) {
      return absl::FailedPreconditionError(name + " has no proposed dismissal to approve");
    }
    return absl::FailedPreconditionError(
        absl::StrCat(name, " has a dismissal proposed by ", proposed_by,
                     " already; maker-checker: a different operator approves it"));
  }

  static v1::Resolution ResolutionFromRow(const soci::row& row) {
    v1::Resolution resolution;
    resolution.set_resolution_id(RowInt64(row, 0));
    resolution.set_saga_id(RowString(row, 1));
    resolution.set_action(static_cast<v1::ResolutionAction>(RowInt64(row, 2)));
    resolution.set_reason_code(RowString(row, 3));
    resolution.set_note(RowString(row, 4));
    resolution.set_state(static_cast<v1::ResolutionState>(RowInt64(row, 5)));
    resolution.set_proposed_by(RowString(row, 6));
    *resolution.mutable_proposed_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 7));
    resolution.set_approved_by(RowString(row, 8));
    if (RowInt64(row, 9) > 0) {
      *resolution.mutable_approved_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 9));
    }
    return resolution;
  }

  Database& database_;
};

}  // namespace

std::unique_ptr<OperatorStore> NewSociOperatorStore(Database& database) {
  return std::make_unique<SociOperatorStore>(database);
}

}  // namespace fxmesh::coordinator::internal
