#include "coordinator/saga_state_machine.h"

#include <array>
#include <utility>

namespace fxmesh::coordinator {
namespace {

using v1::SagaState;

constexpr std::array<std::pair<SagaState, SagaState>, 6> kTransitions = {{
    {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING},
    // A quote that expired, or a participant paused past the quote's deadline, before any Try.
    {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_CANCELLING},
    {v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CONFIRMING},
    {v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CANCELLING},
    {v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_COMPLETED},
    {v1::SAGA_STATE_CANCELLING, v1::SAGA_STATE_CANCELLED},
}};

}  // namespace

bool IsAllowedTransition(SagaState from, SagaState to) {
  for (const auto& [allowed_from, allowed_to] : kTransitions) {
    if (allowed_from == from && allowed_to == to) return true;
  }
  return false;
}

bool IsTerminal(SagaState state) {
  return state == v1::SAGA_STATE_COMPLETED || state == v1::SAGA_STATE_CANCELLED;
}

bool IsDecided(SagaState state) {
  return state == v1::SAGA_STATE_CONFIRMING || state == v1::SAGA_STATE_COMPLETED ||
         state == v1::SAGA_STATE_CANCELLING || state == v1::SAGA_STATE_CANCELLED;
}

bool IsBranchSettled(const v1::Branch& branch, v1::SagaState state) {
  switch (state) {
    case v1::SAGA_STATE_CONFIRMING:
      return branch.confirm_status() == v1::CALL_STATUS_APPLIED;
    case v1::SAGA_STATE_CANCELLING:
      return branch.cancel_status() == v1::CALL_STATUS_APPLIED ||
             branch.cancel_status() == v1::CALL_STATUS_NULL_COMPENSATION;
    default:
      return false;
  }
}

v1::ExchangeStatus CustomerStatus(SagaState state) {
  switch (state) {
    case v1::SAGA_STATE_COMPLETED:
      return v1::EXCHANGE_STATUS_COMPLETED;
    case v1::SAGA_STATE_CANCELLING:
    case v1::SAGA_STATE_CANCELLED:
      return v1::EXCHANGE_STATUS_FAILED;
    default:
      return v1::EXCHANGE_STATUS_PENDING;
  }
}

absl::string_view StateName(SagaState state) {
  switch (state) {
    case v1::SAGA_STATE_CREATED:
      return "CREATED";
    case v1::SAGA_STATE_TRYING:
      return "TRYING";
    case v1::SAGA_STATE_CONFIRMING:
      return "CONFIRMING";
    case v1::SAGA_STATE_COMPLETED:
      return "COMPLETED";
    case v1::SAGA_STATE_CANCELLING:
      return "CANCELLING";
    case v1::SAGA_STATE_CANCELLED:
      return "CANCELLED";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace fxmesh::coordinator
