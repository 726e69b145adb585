#include "coordinator/saga_writer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/tracing.h"
#include "coordinator/saga_state_machine.h"
#include "kafka/topics.h"

namespace fxmesh::coordinator {

OutboxMessage ToOutbox(const v1::BranchCommand& command) {
  std::string payload = ProtoToJson(command);
  const std::string& saga_id = command.branch().saga_id();
  return OutboxMessage{0, std::string(kafka::kBranchCommandsTopic), saga_id, std::move(payload),
                       TraceparentFor(saga_id)};
}

absl::Status SagaWriter::Write(v1::Saga& saga, v1::SagaState from, const Decision& decision,
                               bool gives_back_lease) {
  std::vector<OutboxMessage> commands;
  for (int index : decision.dispatch) commands.push_back(ToOutbox(BranchCommandFor(saga, index)));
  if (decision.inconsistency) RaiseInconsistency(saga, SettlementOf(saga).open);
  if (!decision.silent.empty()) {
    LogWarning("commands the relay went silent about are sent again")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("branches", absl::StrJoin(decision.silent, ","));
  }
  std::optional<StepRecord> step;
  if (!decision.detail.empty()) step = StepRecord{from, saga.state(), decision.detail};
  RETURN_IF_ERROR(Save(saga, from, step, commands, gives_back_lease));
  if (decision.to) {
    if (IsTerminal(*decision.to)) RecordFinished(saga);
    LogInfo("saga transition")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("from", StateName(from))
        .With("to", StateName(*decision.to))
        .With("detail", decision.detail);
  }
  if (!commands.empty()) CommandsQueued();
  return absl::OkStatus();
}

void SagaWriter::RaiseInconsistency(const v1::Saga& saga, const std::vector<std::string>& open) {
  // Once decided, a saga's Confirms (or Cancels) must succeed; a ledger that refuses one
  // disagrees with the saga and needs an operator.
  metrics_.alerts.With({"inconsistency"}).Increment();
  LogError(saga.state() == v1::SAGA_STATE_CONFIRMING
               ? "a ledger refused a Confirm after the decision; the saga needs an operator"
               : "a ledger refused a Cancel; the saga needs an operator")
      .With("saga_id", saga.saga_id())
      .With("trace_id", saga.saga_id())
      .With("branches", absl::StrJoin(open, ", "));
}

absl::Status SagaWriter::Save(v1::Saga& saga, v1::SagaState expected,
                              const std::optional<StepRecord>& step,
                              const std::vector<OutboxMessage>& messages, bool gives_back_lease) {
  const absl::Time now = clock_.Now();
  // Unleased, the lease runs out now: the write leaves the saga free for any driver.
  const absl::Time lease_until = !gives_back_lease && leases_.WriteKeepsLease(saga.saga_id())
                                     ? now + absl::Milliseconds(limits::kSagaLeaseMs)
                                     : now;
  RETURN_IF_ERROR(
      store_.SaveSaga(saga, expected, leases_.owner_id(), lease_until, step, messages, now));
  // What the row now holds, so the saga in hand is the row as read again would be.
  saga.set_revision(saga.revision() + 1);
  *saga.mutable_updated_at() = ToTimestamp(now);
  written_.Remember(saga);
  return absl::OkStatus();
}

void SagaWriter::RecordCall(v1::Branch& branch, BranchCall call,
                            const absl::StatusOr<v1::BranchResponse>& answer,
                            absl::Time try_deadline) {
  const std::string status = RecordAnswer(branch, call, answer, clock_.Now(), try_deadline);
  absl::string_view call_name = call == BranchCall::kTry       ? "try"
                                : call == BranchCall::kConfirm ? "confirm"
                                                               : "cancel";
  metrics_.branch_calls.With({branch.participant(), call_name, status}).Increment();
}

void SagaWriter::RecordFinished(const v1::Saga& saga) {
  finished_.Finished(saga);
  const absl::string_view state = StateName(saga.state());
  metrics_.sagas_finished.With({state, saga.failure_reason()}).Increment();
  metrics_.saga_duration.With({state}).Observe(
      absl::ToDoubleSeconds(clock_.Now() - ToTime(saga.created_at())));
  if (options_.tracer == nullptr) return;
  // The saga's root span: every other span of the exchange descends from it.
  v1::Span root = MakeSpan(
      options_.tracer->service(),
      absl::StrCat("exchange ", saga.sell().currency(), "→", saga.buy().currency()), saga.saga_id(),
      RootSpanId(saga.saga_id()), "", ToTime(saga.created_at()), clock_.Now());
  (*root.mutable_attributes())["state"] = std::string(state);
  (*root.mutable_attributes())["customer_id"] = saga.customer_id();
  if (!saga.failure_reason().empty())
    (*root.mutable_attributes())["failure_reason"] = saga.failure_reason();
  options_.tracer->Record(std::move(root));
}

}  // namespace fxmesh::coordinator
