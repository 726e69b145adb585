#include "tests/support/in_memory_saga_store.h"

namespace fxmesh::testing {

InMemorySagaStoreParts::InMemorySagaStoreParts()
    : sagas(internal::NewInMemorySagaRepository(tables)),
      outbox(internal::NewInMemoryOutboxStore(tables)),
      operators(internal::NewInMemoryOperatorStore(tables)),
      retention(internal::NewInMemoryRetentionStore(tables)) {}

InMemorySagaStore::InMemorySagaStore()
    : InMemorySagaStoreParts(), ComposedSagaStore(*sagas, *outbox, *operators, *retention) {}

}  // namespace fxmesh::testing
