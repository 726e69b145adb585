// The coordinator's storage seam, in four narrow parts, each with its own header:
//   SagaRepository  quotes, sagas with their step log, daily limits, fenced writes, leases
//   OutboxStore     the transactional outbox and the replica roles of its publisher
//   OperatorStore   paused participants, resolutions, dead letters, the audit log
//   RetentionStore  deleting finished rows in bounded batches
// A SagaStore is all four over one database, so a write of one part can go with another part's
// rows in one transaction (a saga write queues its outbox messages; an approval writes the audit
// row and the saga). SagaEngine takes the whole store; a component that needs one part (the
// outbox publisher, the pruner) takes only that part. The rules live in the engine and saga_rules;
// a store only reads and writes rows.
//
// Implementations: NewSociSagaStore (SQLite or PostgreSQL; soci_*.cc) and, for tests, the
// in-memory fake in tests/support/in_memory_saga_store.h. Both are thread-safe and make each method
// one transaction; tests/coordinator/saga_store_contract_test.cc holds them to the same contract.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "common/db.h"
#include "coordinator/operator_store.h"
#include "coordinator/outbox_store.h"
#include "coordinator/retention_store.h"
#include "coordinator/saga_repository.h"

namespace fxmesh::coordinator {

class SagaStore : public SagaRepository,
                  public OutboxStore,
                  public OperatorStore,
                  public RetentionStore {
 public:
  // Creates or upgrades the tables of every part (CoordinatorSchema(); MigrateMode::kAuto).
  virtual absl::Status Migrate() = 0;
};

// The coordinator's tables and their migrations (component "coordinator" in schema_migrations).
Schema CoordinatorSchema();

// The SOCI-backed store over `database`, which must outlive it.
std::unique_ptr<SagaStore> NewSociSagaStore(Database& database);

}  // namespace fxmesh::coordinator
