// Retention of the coordinator's rows, as the Pruner sees it: each call deletes one bounded batch
// of one kind of finished row, oldest first, in one transaction, and never a row something still
// needs (a running saga, an unsent outbox row, a dead letter waiting for an operator, an audit
// row). Implementations are thread-safe.
#pragma once

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fxmesh::coordinator {

// What one RetentionStore::PruneTerminalSagas call deleted.
struct PrunedSagas {
  int sagas = 0;
  int steps = 0;
  int resolutions = 0;
};

class RetentionStore {
 public:
  virtual ~RetentionStore() = default;

  // Deletes up to `limit` COMPLETED or CANCELLED sagas last written before `finished_before`, each
  // with its step log, its resolutions and its idempotency key; never a non-terminal saga, nor one
  // with a dead letter not yet replayed or dismissed. Audit rows stay (the database refuses to
  // delete them; they name the saga by id only).
  virtual absl::StatusOr<PrunedSagas> PruneTerminalSagas(absl::Time finished_before, int limit) = 0;
  // Deletes up to `limit` quotes that expired before `expired_before` and that no non-terminal
  // saga names. Returns how many.
  virtual absl::StatusOr<int> PruneQuotes(absl::Time expired_before, int limit) = 0;
  // Deletes up to `limit` outbox rows sent before `sent_before`; never an unsent row. Returns how
  // many.
  virtual absl::StatusOr<int> PruneSentOutbox(absl::Time sent_before, int limit) = 0;
  // Deletes up to `limit` dead letters replayed or dismissed before `replayed_before`; never one
  // still waiting for an operator. Returns how many.
  virtual absl::StatusOr<int> PruneReplayedDeadLetters(absl::Time replayed_before, int limit) = 0;
};

}  // namespace fxmesh::coordinator
