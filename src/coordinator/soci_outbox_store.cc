// OutboxStore on SQLite or PostgreSQL via SOCI: the unsent rows in id order, marking them sent,
// and the replica roles (one outbox publisher at a time).

#include <vector>

#include "common/soci_util.h"
#include "common/status_macros.h"
#include "coordinator/internal/soci_saga_store_parts.h"

namespace fxmesh::coordinator::internal {
namespace {

class SociOutboxStore final : public OutboxStore {
 public:
  explicit SociOutboxStore(Database& database) : database_(database) {}

  absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                              int limit) override {
    std::vector<OutboxMessage> messages;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      long long after = after_id;
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT outbox_id, topic, message_key, payload, traceparent FROM outbox"
                  " WHERE sent_at_us = 0 AND outbox_id > :after ORDER BY outbox_id LIMIT :lim",
           soci::use(after), soci::use(limit));
      for (const soci::row& row : rows) {
        messages.push_back(OutboxMessage{RowInt64(row, 0), RowString(row, 1), RowString(row, 2),
                                         RowString(row, 3), RowString(row, 4)});
      }
      return absl::OkStatus();
    }));
    return messages;
  }

  absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) override {
    if (outbox_ids.empty()) return absl::OkStatus();
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      std::vector<long long> ids(outbox_ids.begin(), outbox_ids.end());
      std::vector<long long> times(ids.size(), absl::ToUnixMicros(now));
      sql << "UPDATE outbox SET sent_at_us = :s WHERE outbox_id = :id", soci::use(times),
          soci::use(ids);
      return Completion::kCommit;
    });
  }

  absl::StatusOr<int64_t> CountUnsentOutbox() override {
    long long unsent = 0;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      sql << "SELECT COUNT(*) FROM outbox WHERE sent_at_us = 0", soci::into(unsent);
      return absl::OkStatus();
    }));
    return unsent;
  }

  absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    bool held = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string role_text(role), owner_text(owner);
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      soci::statement update =
          (sql.prepare << "UPDATE replica_roles SET owner = :o, lease_until_us = :lu"
                          " WHERE role = :r AND (owner = :o2 OR lease_until_us < :n)",
           soci::use(owner_text), soci::use(lease), soci::use(role_text), soci::use(owner_text),
           soci::use(now_us));
      update.execute(true);
      held = update.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return held;
  }

 private:
  Database& database_;
};

}  // namespace

std::unique_ptr<OutboxStore> NewSociOutboxStore(Database& database) {
  return std::make_unique<SociOutboxStore>(database);
}

}  // namespace fxmesh::coordinator::internal
