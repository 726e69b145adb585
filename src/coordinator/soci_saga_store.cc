// The SOCI-backed SagaStore: its four parts over one database, which is what lets a write of one
// part reach another part's tables in the same transaction (see internal/soci_saga_rows.h). Every
// SOCI exception is caught by Database and leaves as a Status.

#include <memory>

#include "coordinator/composed_saga_store.h"
#include "coordinator/internal/soci_saga_store_parts.h"
#include "coordinator/saga_store.h"

namespace fxmesh::coordinator {
namespace {

// The parts, built before the ComposedSagaStore base that refers to them.
struct SociParts {
  explicit SociParts(Database& database)
      : sagas(internal::NewSociSagaRepository(database)),
        outbox(internal::NewSociOutboxStore(database)),
        operators(internal::NewSociOperatorStore(database)),
        retention(internal::NewSociRetentionStore(database)) {}

  std::unique_ptr<SagaRepository> sagas;
  std::unique_ptr<OutboxStore> outbox;
  std::unique_ptr<OperatorStore> operators;
  std::unique_ptr<RetentionStore> retention;
};

class SociSagaStore final : private SociParts, public ComposedSagaStore {
 public:
  explicit SociSagaStore(Database& database)
      : SociParts(database),
        ComposedSagaStore(*sagas, *outbox, *operators, *retention),
        database_(database) {}

  absl::Status Migrate() override { return database_.Migrate(CoordinatorSchema()).status(); }

 private:
  Database& database_;
};

}  // namespace

Schema CoordinatorSchema() {
  return {.component = "coordinator", .migrations = internal::CoordinatorMigrations()};
}

std::unique_ptr<SagaStore> NewSociSagaStore(Database& database) {
  return std::make_unique<SociSagaStore>(database);
}

}  // namespace fxmesh::coordinator
