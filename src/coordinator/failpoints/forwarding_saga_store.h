// A SagaStore that passes every call to another one: the base of decorators that change one or
// two calls (a failpoint, a fault) and leave the rest as they are.
#pragma once

#include "coordinator/composed_saga_store.h"

namespace fxmesh::coordinator {

class ForwardingSagaStore : public ComposedSagaStore {
 public:
  // `inner` must outlive this. It serves as every part, so each call, Migrate included, reaches it
  // unchanged unless a subclass overrides it.
  explicit ForwardingSagaStore(SagaStore& inner)
      : ComposedSagaStore(inner, inner, inner, inner), inner_(inner) {}

  absl::Status Migrate() override { return inner_.Migrate(); }

 protected:
  SagaStore& inner() { return inner_; }

 private:
  SagaStore& inner_;
};

}  // namespace fxmesh::coordinator
