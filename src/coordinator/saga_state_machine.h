// The saga state machine of ARCHITECTURE.md §4, as one explicit transition table. Every persisted
// transition is checked against it; a transition outside the table is a bug.
//
//   CREATED → TRYING → CONFIRMING → COMPLETED
//      │         │
//      └─────────┴──→ CANCELLING → CANCELLED
#pragma once

#include "absl/strings/string_view.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

// Whether `from → to` is in the table. Staying in the same state is not a transition.
bool IsAllowedTransition(v1::SagaState from, v1::SagaState to);

// COMPLETED and CANCELLED: nothing more will happen.
bool IsTerminal(v1::SagaState state);

// Whether the decision is taken: CONFIRMING and later only go forward to COMPLETED;
// CANCELLING and later only to CANCELLED.
bool IsDecided(v1::SagaState state);

// Whether `branch` needs nothing more in `state`: in CONFIRMING its Confirm was applied; in
// CANCELLING its Cancel was applied or was a null compensation. False in other states.
bool IsBranchSettled(const v1::Branch& branch, v1::SagaState state);

// What the customer is told: COMPLETED; FAILED once cancelling is decided; PENDING otherwise.
v1::ExchangeStatus CustomerStatus(v1::SagaState state);

// "TRYING" for SAGA_STATE_TRYING, for logs and step details.
absl::string_view StateName(v1::SagaState state);

}  // namespace fxmesh::coordinator
