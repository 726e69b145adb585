// The SOCI store's parts, each over the same `database` (which must outlive them), and the schema
// they share. NewSociSagaStore (soci_saga_store.cc) puts them together; each part's SQL lives in
// the file of the same name.
#pragma once

#include <memory>
#include <span>

#include "common/db.h"
#include "coordinator/operator_store.h"
#include "coordinator/outbox_store.h"
#include "coordinator/retention_store.h"
#include "coordinator/saga_repository.h"

namespace fxmesh::coordinator::internal {

// The coordinator's schema versions, oldest first (soci_saga_schema.cc).
std::span<const Migration> CoordinatorMigrations();

std::unique_ptr<SagaRepository> NewSociSagaRepository(Database& database);
std::unique_ptr<OutboxStore> NewSociOutboxStore(Database& database);
std::unique_ptr<OperatorStore> NewSociOperatorStore(Database& database);
std::unique_ptr<RetentionStore> NewSociRetentionStore(Database& database);

}  // namespace fxmesh::coordinator::internal
