// OutboxStore in memory: the SOCI store's OutboxStore (soci_outbox_store.cc) over InMemoryTables.

#include "tests/support/internal/in_memory_tables.h"

namespace fxmesh::testing::internal {
namespace {

class InMemoryOutboxStore final : public coordinator::OutboxStore {
 public:
  explicit InMemoryOutboxStore(InMemoryTables& tables) : tables_(tables) {}

  absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                              int limit) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<OutboxMessage> messages;
    for (auto row = tables_.outbox.upper_bound(after_id);
         row != tables_.outbox.end() && !Full(messages.size(), limit); ++row) {
      if (row->second.sent_at_us == 0) messages.push_back(row->second.message);
    }
    return messages;
  }

  absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    for (int64_t id : outbox_ids) {
      if (auto row = tables_.outbox.find(id); row != tables_.outbox.end()) {
        row->second.sent_at_us = absl::ToUnixMicros(now);
      }
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> CountUnsentOutbox() override {
    absl::MutexLock lock(&tables_.mu);
    int64_t unsent = 0;
    for (const auto& [id, row] : tables_.outbox) unsent += row.sent_at_us == 0 ? 1 : 0;
    return unsent;
  }

  absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    absl::MutexLock lock(&tables_.mu);
    auto row = tables_.roles.find(std::string(role));
    if (row == tables_.roles.end() ||
        (row->second.owner != owner && row->second.lease_until_us >= absl::ToUnixMicros(now))) {
      return false;
    }
    row->second = RoleRow{std::string(owner), absl::ToUnixMicros(lease_until)};
    return true;
  }

 private:
  InMemoryTables& tables_;
};

}  // namespace

std::unique_ptr<coordinator::OutboxStore> NewInMemoryOutboxStore(InMemoryTables& tables) {
  return std::make_unique<InMemoryOutboxStore>(tables);
}

}  // namespace fxmesh::testing::internal
