// Retention for the coordinator's database: deletes what is finished once it is older than its
// retention — terminal sagas (with their step log and resolutions), expired quotes, sent outbox
// rows and replayed dead letters — in small batches, off the customer path. It never deletes a
// non-terminal saga, an unsent outbox row or a dead letter still waiting for an operator, and it
// leaves the audit log alone. Each kind is counted in fxmesh_pruned_rows_total{kind}.
//
// The pruner only decides cutoffs from its Clock and calls the store; CoordinatorServer runs it on
// its own thread (with or without Kafka). Not thread-safe: one thread calls PruneOnce.
#pragma once

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "coordinator/retention_store.h"

namespace fxmesh::coordinator {

// How long each kind of row is kept after it finished; absl::InfiniteDuration() keeps that kind
// forever. Batches bound the rows one pass deletes of each kind.
struct RetentionOptions {
  absl::Duration terminal_sagas = absl::Milliseconds(limits::kSagaRetentionMsDefault);
  absl::Duration quotes = absl::Milliseconds(limits::kQuoteRetentionMsDefault);
  absl::Duration sent_outbox = absl::Milliseconds(limits::kOutboxRetentionMsDefault);
  absl::Duration replayed_dead_letters = absl::Milliseconds(limits::kDeadLetterRetentionMsDefault);
  int saga_batch_max = limits::kPruneSagaBatchMax;
  int batch_max = limits::kPruneBatchMax;
};

// What one pass deleted, by kind.
struct PruneCounts {
  int sagas = 0;
  int steps = 0;
  int resolutions = 0;
  int quotes = 0;
  int outbox = 0;
  int dead_letters = 0;
  // Some kind filled its batch, so more of it may be waiting: the next pass should come soon.
  bool more = false;
};

class Pruner {
 public:
  // `store`, `clock` and `metrics` must outlive the pruner; the counter family is registered in
  // `metrics` here, so a registry takes one Pruner.
  Pruner(RetentionStore& store, const Clock& clock, RetentionOptions options,
         MetricsRegistry& metrics);

  // Deletes at most one batch of each kind, each kind in its own transaction. A kind that cannot
  // be pruned now (the database is away) is logged and skipped; the others still go.
  PruneCounts PruneOnce();

 private:
  RetentionStore& store_;
  const Clock& clock_;
  const RetentionOptions options_;
  Counter& pruned_rows_;  // {kind}
  CounterChild& sagas_pruned_;
  CounterChild& steps_pruned_;
  CounterChild& resolutions_pruned_;
  CounterChild& quotes_pruned_;
  CounterChild& outbox_pruned_;
  CounterChild& dead_letters_pruned_;
};

}  // namespace fxmesh::coordinator
