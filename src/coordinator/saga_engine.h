// The coordinator's engine (ARCHITECTURE.md §4): quotes, exchanges as TCC sagas over the ledgers,
// recovery, settlement through the relay and the operator actions. SagaEngine only builds the
// parts that do these jobs and wires them together; callers use the parts:
//
//   ExchangeIntake     quotes, idempotency, limits, the customer's queries   exchange_intake.h
//   SagaDriver         the runner of the rules (saga_rules.h): calls, writes   saga_driver.h
//   RelaySettlement    the relay's results, retry reports and dead letters     relay_settlement.h
//   OperatorActions    sagas, pauses, resolutions, audit, alerts               operator_actions.h
//   DeadLetterActions  dead letters: list, replay, dismissal dead_letter_actions.h
//
// and the pieces several of them share: ParticipantPauses (who is paused), SagaLeases (which
// sagas this replica holds, in memory and in the store) and SagaWriter (every saga write, with
// what is recorded alongside: step-log rows, outbox commands, metrics, spans).
//
// Settling (ARCHITECTURE.md §5), one path with or without Kafka: the write that decides a saga
// queues its Confirms (or Cancels) in the outbox as BranchCommands, in the same transaction. A
// relay executes them, retries them and answers: fxmesh-relay through Kafka, or the coordinator's
// own (local_relay.h). RelaySettlement records the answers and finishes the saga, and marks a
// branch the relay gave up on until an operator replays it. A command the relay goes silent about
// (no result, no report of a retry tier move) past the time its next word was due is sent again
// (relay_expectation.h), and any command with no result after `redispatch_after`. A customer's
// Exchange waits, while its deadline allows, for the relay to finish what it decided
// (finish_signal.h).
//
// Thread-safe, as every part is. SetWakeBackground must be called, if at all, before the parts
// are used.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "common/participant_client.h"
#include "coordinator/dead_letter_actions.h"
#include "coordinator/engine_metrics.h"
#include "coordinator/engine_options.h"
#include "coordinator/exchange_intake.h"
#include "coordinator/finish_signal.h"
#include "coordinator/operator_actions.h"
#include "coordinator/participant_pauses.h"
#include "coordinator/rates.h"
#include "coordinator/relay_settlement.h"
#include "coordinator/saga_driver.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_store.h"
#include "coordinator/saga_writer.h"
#include "coordinator/written_sagas.h"

namespace fxmesh::coordinator {

class SagaEngine {
 public:
  // `store`, `clock`, `metrics` and every client in `participants` (keyed by participant name)
  // must outlive the engine.
  SagaEngine(SagaStore& store, const Clock& clock, RateTable rates,
             std::map<std::string, ParticipantClient*> participants, EngineOptions options,
             MetricsRegistry& metrics);
  SagaEngine(const SagaEngine&) = delete;
  SagaEngine& operator=(const SagaEngine&) = delete;

  // Called whenever a saga becomes due for background work (a cancellation to finish, a retry), so
  // the recovery loop need not wait for its next tick.
  void SetWakeBackground(std::function<void()> wake) { wake_background_ = std::move(wake); }
  // Called after branch commands were queued in the outbox, so the relay that drains it need not
  // wait for its next poll. Like SetWakeBackground, before the parts are used.
  void SetCommandsQueued(std::function<void()> queued) { commands_queued_ = std::move(queued); }

  ExchangeIntake& intake() { return intake_; }
  SagaDriver& driver() { return driver_; }
  SagaLeases& leases() { return leases_; }
  ParticipantPauses& pauses() { return pauses_; }
  RelaySettlement& settlement() { return settlement_; }
  OperatorActions& operators() { return operators_; }
  DeadLetterActions& dead_letters() { return dead_letters_; }

 private:
  void Wake() const {
    if (wake_background_) wake_background_();
  }

  // Declared in the order they are built: each part takes references to those above it.
  const EngineOptions options_;
  const RuleOptions rules_;
  std::function<void()> wake_background_;
  std::function<void()> commands_queued_;
  FinishSignal finished_;
  WrittenSagas written_;
  const EngineMetrics metrics_;
  ParticipantPauses pauses_;
  SagaLeases leases_;
  SagaWriter writer_;
  SagaDriver driver_;
  ExchangeIntake intake_;
  RelaySettlement settlement_;
  OperatorActions operators_;
  DeadLetterActions dead_letters_;
};

}  // namespace fxmesh::coordinator
