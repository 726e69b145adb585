// A SagaStore in memory, for coordinator tests that need no database: no sleeps, sockets or files,
// and nothing reads a clock (every time comes in as an argument), so a run is the same every time.
//
// It keeps the SOCI store's contract, not just its interface: revision, expected-state and lease
// fencing answer ABORTED (StaleReadError) the same way; idempotency keys are per customer
// (kCreated, kExisting, kKeyConflict, kLimitExceeded, kQuoteUsed as the SOCI store decides them);
// the daily limit is reserved at creation and given back on entering CANCELLING; every transition
// queues its SagaEvent; outbox, step, resolution, dead-letter and audit ids only grow; due sagas
// are claimed oldest due first; a dead letter is recorded once per topic position; the audit log is
// append-only; maker-checker refusals read the same. Timestamps are kept to the microsecond and a
// saga keeps only its stored columns, as in SQL. tests/coordinator/saga_store_contract_test.cc runs
// the same cases against both, so the two cannot drift apart.
//
// Its four parts share one table set under one mutex, each call holding it throughout: thread-safe,
// and each call is one transaction. What it cannot do: fail (there is no database to lose), hold
// rows a newer version wrote, or show PostgreSQL's concurrency (SKIP LOCKED, late commits).
#pragma once

#include <memory>

#include "coordinator/composed_saga_store.h"
#include "tests/support/internal/in_memory_tables.h"

namespace fxmesh::testing {

// Carries the tables and the parts, built before the ComposedSagaStore base that refers to them.
struct InMemorySagaStoreParts {
  InMemorySagaStoreParts();

  internal::InMemoryTables tables;
  std::unique_ptr<coordinator::SagaRepository> sagas;
  std::unique_ptr<coordinator::OutboxStore> outbox;
  std::unique_ptr<coordinator::OperatorStore> operators;
  std::unique_ptr<coordinator::RetentionStore> retention;
};

class InMemorySagaStore final : private InMemorySagaStoreParts,
                                public coordinator::ComposedSagaStore {
 public:
  InMemorySagaStore();

  // There is no schema: the tables exist from the start.
  absl::Status Migrate() override { return absl::OkStatus(); }
};

}  // namespace fxmesh::testing
