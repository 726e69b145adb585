// How the engine's parts write a saga, and what they record with the write: the decision's
// step-log row and outbox commands, the answers of the ledgers, the metrics, the logs and the
// root span of a saga that ends. The driver writes what the rules decide, the relay's answers what
// they settle, operators what they resolve; all through here, so a write means the same wherever
// it comes from.
//
// Every write is conditional on the saga's revision and expected state, and keeps this replica's
// lease on the saga only while a thread holds it leased (SagaLeases).
//
// Thread-safe: it keeps no state of its own (the FinishSignal it announces to and the WrittenSagas
// it keeps every written saga in are shared).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/engine_metrics.h"
#include "coordinator/engine_options.h"
#include "coordinator/finish_signal.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_store.h"
#include "coordinator/written_sagas.h"
#include "fxmesh/v1/ledger.pb.h"
#include "fxmesh/v1/relay.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class SagaWriter {
 public:
  // Every reference must outlive the writer. `finished` hears of every saga this replica ends;
  // `written` keeps every saga as written; `commands_queued` is called after a write put branch
  // commands in the outbox, so the relay that drains it need not wait for its next poll.
  SagaWriter(SagaStore& store, const Clock& clock, const SagaLeases& leases,
             const EngineOptions& options, const EngineMetrics& metrics, FinishSignal& finished,
             WrittenSagas& written, std::function<void()> commands_queued)
      : store_(store),
        clock_(clock),
        leases_(leases),
        options_(options),
        metrics_(metrics),
        finished_(finished),
        written_(written),
        commands_queued_(std::move(commands_queued)) {}

  // Performs a decision to write (saga_rules.h): saves `saga` (expected in `from`) with the
  // decision's step-log row and outbox commands in one transaction, then its logs and metrics.
  // With `gives_back_lease`, the write also ends this thread's lease (the last write of a drive),
  // which saves the drive a release of its own.
  absl::Status Write(v1::Saga& saga, v1::SagaState from, const Decision& decision,
                     bool gives_back_lease = false);
  // Writes `saga` as read at its revision (then counts the write in it), with the lease this
  // thread holds on it, or with none (a relay result, or `gives_back_lease`).
  absl::Status Save(v1::Saga& saga, v1::SagaState expected, const std::optional<StepRecord>& step,
                    const std::vector<OutboxMessage>& messages = {}, bool gives_back_lease = false);
  // Records a participant's answer (or the failure to get one) to `call` on `branch`, and counts
  // it.
  void RecordCall(v1::Branch& branch, BranchCall call,
                  const absl::StatusOr<v1::BranchResponse>& answer, absl::Time try_deadline);
  // For a saga just written in a terminal state, by a transition or an operator's resolution: the
  // finished count, the duration and the exchange's root span.
  void RecordFinished(const v1::Saga& saga);
  // The saga as this replica last wrote it, if still kept: perhaps stale (WrittenSagas).
  std::optional<v1::Saga> LastWritten(absl::string_view saga_id) const {
    return written_.Find(saga_id);
  }
  // Branch commands were queued in the outbox (by a write, or an operator's replay).
  void CommandsQueued() const {
    if (commands_queued_) commands_queued_();
  }

 private:
  // A ledger refused a Confirm or Cancel after the decision: the saga needs an operator.
  void RaiseInconsistency(const v1::Saga& saga, const std::vector<std::string>& open);

  SagaStore& store_;
  const Clock& clock_;
  const SagaLeases& leases_;
  const EngineOptions& options_;
  const EngineMetrics& metrics_;
  FinishSignal& finished_;
  WrittenSagas& written_;
  const std::function<void()> commands_queued_;
};

// The outbox message that hands `command` to the relay.
OutboxMessage ToOutbox(const v1::BranchCommand& command);

}  // namespace fxmesh::coordinator
