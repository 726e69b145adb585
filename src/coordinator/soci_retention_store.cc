// RetentionStore on SQLite or PostgreSQL via SOCI. Each prune deletes a bounded batch in one short
// transaction, choosing its rows through an index in age order (schema version 4), so a large
// backlog is worked off over many passes without holding locks for long.

#include <string>
#include <vector>

#include "common/soci_util.h"
#include "common/status_macros.h"
#include "coordinator/internal/soci_saga_store_parts.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator::internal {
namespace {

class SociRetentionStore final : public RetentionStore {
 public:
  explicit SociRetentionStore(Database& database) : database_(database) {}

  absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) override {
    PrunedSagas pruned;
    absl::Status status = database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      pruned = PrunedSagas();
      // The sagas are chosen once and their rows deleted by id, so the steps and resolutions that
      // go are exactly those of the sagas that go. Other replicas' pruners skip the sagas this one
      // locked (PostgreSQL); SQLite runs one writer at a time anyway. A saga whose dead letter
      // still waits for an operator stays, so the operator can see what the command was for. One
      // query per terminal state follows the (state, updated_at_us) index, oldest first.
      const char* skip_locked =
          database_.kind() == DbKind::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
      const long long before = absl::ToUnixMicros(finished_before);
      std::vector<std::string> saga_ids;
      for (int state : {v1::SAGA_STATE_COMPLETED, v1::SAGA_STATE_CANCELLED}) {
        const int room = limit - static_cast<int>(saga_ids.size());
        if (room <= 0) break;
        soci::rowset<soci::row> rows =
            (sql.prepare << "SELECT saga_id FROM sagas WHERE state = :st AND updated_at_us < :b"
                            " AND NOT EXISTS (SELECT 1 FROM dead_letters d"
                            " WHERE d.saga_id = sagas.saga_id AND d.replayed_at_us = 0"
                            " AND d.dismissed_at_us = 0)"
                            " ORDER BY updated_at_us LIMIT :lim"
                         << skip_locked,
             soci::use(state), soci::use(before), soci::use(room));
        for (const soci::row& row : rows) saga_ids.push_back(RowString(row, 0));
      }
      if (saga_ids.empty()) return Completion::kRollback;
      std::string saga_id;
      soci::statement delete_steps =
          (sql.prepare << "DELETE FROM saga_steps WHERE saga_id = :s", soci::use(saga_id));
      soci::statement delete_resolutions =
          (sql.prepare << "DELETE FROM resolutions WHERE saga_id = :s", soci::use(saga_id));
      soci::statement delete_saga =
          (sql.prepare << "DELETE FROM sagas WHERE saga_id = :s", soci::use(saga_id));
      for (const std::string& id : saga_ids) {
        saga_id = id;
        delete_steps.execute(true);
        pruned.steps += static_cast<int>(delete_steps.get_affected_rows());
        delete_resolutions.execute(true);
        pruned.resolutions += static_cast<int>(delete_resolutions.get_affected_rows());
        delete_saga.execute(true);
        pruned.sagas += static_cast<int>(delete_saga.get_affected_rows());
      }
      return Completion::kCommit;
    });
    if (!status.ok()) return status;
    return pruned;
  }

  absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) override {
    int deleted = 0;
    absl::Status status = database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      // A saga copies its quote's amounts and rate when it starts, so only a saga still running
      // could want the row; such a quote is kept, however old.
      const long long before = absl::ToUnixMicros(expired_before);
      soci::statement prune =
          (sql.prepare << "DELETE FROM quotes WHERE quote_id IN (SELECT q.quote_id FROM quotes q"
                          " WHERE q.expires_at_us < :b AND NOT EXISTS (SELECT 1 FROM sagas s"
                          " WHERE s.quote_id = q.quote_id AND s.state IN (1, 2, 3, 5))"
                          " ORDER BY q.expires_at_us LIMIT :lim)",
           soci::use(before), soci::use(limit));
      prune.execute(true);
      deleted = static_cast<int>(prune.get_affected_rows());
      return Completion::kCommit;
    });
    if (!status.ok()) return status;
    return deleted;
  }

  absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) override {
    int deleted = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long before = absl::ToUnixMicros(sent_before);
      soci::statement prune =
          (sql.prepare
               << "DELETE FROM outbox WHERE outbox_id IN (SELECT outbox_id FROM outbox"
                  " WHERE sent_at_us > 0 AND sent_at_us < :b ORDER BY outbox_id LIMIT :lim)",
           soci::use(before), soci::use(limit));
      prune.execute(true);
      deleted = static_cast<int>(prune.get_affected_rows());
      return Completion::kCommit;
    }));
    return deleted;
  }

  absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) override {
    int deleted = 0;
    absl::Status status = database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      // A dead letter still pending (neither replayed nor dismissed) is never chosen.
      const long long before = absl::ToUnixMicros(replayed_before);
      soci::statement prune =
          (sql.prepare << "DELETE FROM dead_letters WHERE dead_letter_id IN (SELECT dead_letter_id"
                          " FROM dead_letters WHERE (replayed_at_us > 0 AND replayed_at_us < :b)"
                          " OR (dismissed_at_us > 0 AND dismissed_at_us < :b2)"
                          " ORDER BY dead_letter_id LIMIT :lim)",
           soci::use(before), soci::use(before), soci::use(limit));
      prune.execute(true);
      deleted = static_cast<int>(prune.get_affected_rows());
      return Completion::kCommit;
    });
    if (!status.ok()) return status;
    return deleted;
  }

 private:
  Database& database_;
};

}  // namespace

std::unique_ptr<RetentionStore> NewSociRetentionStore(Database& database) {
  return std::make_unique<SociRetentionStore>(database);
}

}  // namespace fxmesh::coordinator::internal
