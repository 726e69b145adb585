// RetentionStore in memory: the SOCI store's prunes (soci_retention_store.cc) over InMemoryTables,
// each choosing the same rows in the same order.

#include <algorithm>

#include "tests/support/internal/in_memory_tables.h"

namespace fxmesh::testing::internal {
namespace {

using coordinator::PrunedSagas;

class InMemoryRetentionStore final : public coordinator::RetentionStore {
 public:
  explicit InMemoryRetentionStore(InMemoryTables& tables) : tables_(tables) {}

  absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t before = absl::ToUnixMicros(finished_before);
    std::vector<int64_t> chosen;  // Sequences.
    for (v1::SagaState state : {v1::SAGA_STATE_COMPLETED, v1::SAGA_STATE_CANCELLED}) {
      const int room = limit - static_cast<int>(chosen.size());
      if (room <= 0) break;
      std::vector<std::pair<int64_t, int64_t>> candidates;  // (updated at, sequence)
      for (const auto& [sequence, row] : tables_.sagas) {
        const int64_t updated = Micros(row.saga.updated_at());
        if (row.saga.state() == state && updated < before && !WaitsForOperator(row)) {
          candidates.emplace_back(updated, sequence);
        }
      }
      std::sort(candidates.begin(), candidates.end());
      for (size_t i = 0; i < candidates.size() && i < static_cast<size_t>(room); ++i) {
        chosen.push_back(candidates[i].second);
      }
    }
    PrunedSagas pruned;
    for (int64_t sequence : chosen) {
      const SagaRow& row = tables_.sagas.at(sequence);
      const std::string saga_id = row.saga.saga_id();
      pruned.steps += static_cast<int>(std::erase_if(
          tables_.steps, [&](const auto& step) { return step.second.first == saga_id; }));
      pruned.resolutions +=
          static_cast<int>(std::erase_if(tables_.resolutions, [&](const auto& resolution) {
            return resolution.second.saga_id() == saga_id;
          }));
      tables_.saga_keys.erase(row.stored_key);
      tables_.saga_sequences.erase(saga_id);
      tables_.sagas.erase(sequence);
      ++pruned.sagas;
    }
    return pruned;
  }

  absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t before = absl::ToUnixMicros(expired_before);
    std::vector<std::pair<int64_t, std::string>> chosen;  // (expires at, quote id)
    for (const auto& [quote_id, row] : tables_.quotes) {
      const int64_t expires = Micros(row.quote.expires_at());
      if (expires < before && !NamedByActiveSaga(quote_id)) chosen.emplace_back(expires, quote_id);
    }
    std::sort(chosen.begin(), chosen.end());
    int deleted = 0;
    for (const auto& [expires, quote_id] : chosen) {
      if (Full(deleted, limit)) break;
      tables_.quotes.erase(quote_id);
      ++deleted;
    }
    return deleted;
  }

  absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t before = absl::ToUnixMicros(sent_before);
    int deleted = 0;
    for (auto row = tables_.outbox.begin(); row != tables_.outbox.end() && !Full(deleted, limit);) {
      const int64_t sent = row->second.sent_at_us;
      if (sent > 0 && sent < before) {
        row = tables_.outbox.erase(row);
        ++deleted;
      } else {
        ++row;
      }
    }
    return deleted;
  }

  absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t before = absl::ToUnixMicros(replayed_before);
    int deleted = 0;
    for (auto row = tables_.dead_letters.begin();
         row != tables_.dead_letters.end() && !Full(deleted, limit);) {
      const DeadLetterRow& letter = row->second;
      if ((letter.replayed_at_us > 0 && letter.replayed_at_us < before) ||
          (letter.dismissed_at_us > 0 && letter.dismissed_at_us < before)) {
        row = tables_.dead_letters.erase(row);
        ++deleted;
      } else {
        ++row;
      }
    }
    return deleted;
  }

 private:
  // A dead letter of the saga neither replayed nor dismissed.
  bool WaitsForOperator(const SagaRow& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tables_.mu) {
    return std::any_of(
        tables_.dead_letters.begin(), tables_.dead_letters.end(), [&](const auto& letter) {
          return letter.second.inserted.saga_id() == row.saga.saga_id() &&
                 letter.second.replayed_at_us == 0 && letter.second.dismissed_at_us == 0;
        });
  }

  bool NamedByActiveSaga(const std::string& quote_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(tables_.mu) {
    return std::any_of(tables_.sagas.begin(), tables_.sagas.end(), [&](const auto& row) {
      return row.second.saga.quote_id() == quote_id && IsActive(row.second.saga.state());
    });
  }

  InMemoryTables& tables_;
};

}  // namespace

std::unique_ptr<coordinator::RetentionStore> NewInMemoryRetentionStore(InMemoryTables& tables) {
  return std::make_unique<InMemoryRetentionStore>(tables);
}

}  // namespace fxmesh::testing::internal
