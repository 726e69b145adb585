// The SQL behind SagaStore's retention methods (PruneTerminalSagas, PruneQuotes,
// PruneReplayedDeadLetters), kept beside the store rather than in it. Each function is one
// transaction over `database` and has the contract of the SagaStore method of the same name.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db.h"
#include "coordinator/saga_store.h"

namespace fxmesh::coordinator::internal {

// Schema version 4: indexes that let each prune find its oldest rows without reading the table,
// and find what still refers to a quote or a saga.
inline constexpr absl::string_view kRetentionIndexesSql = R"sql(
CREATE INDEX IF NOT EXISTS sagas_finished ON sagas (state, updated_at_us);
CREATE INDEX IF NOT EXISTS sagas_by_quote ON sagas (quote_id);
CREATE INDEX IF NOT EXISTS quotes_expiry ON quotes (expires_at_us);
CREATE INDEX IF NOT EXISTS resolutions_by_saga ON resolutions (saga_id);
CREATE INDEX IF NOT EXISTS dead_letters_replayed ON dead_letters (replayed_at_us);
)sql";

absl::StatusOr<PrunedSagas> PruneTerminalSagas(Database& database, absl::Time finished_before,
                                               int limit);
absl::StatusOr<int> PruneQuotes(Database& database, absl::Time expired_before, int limit);
absl::StatusOr<int> PruneReplayedDeadLetters(Database& database, absl::Time replayed_before,
                                             int limit);

}  // namespace fxmesh::coordinator::internal
