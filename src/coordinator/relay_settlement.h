// Settling through the relay (ARCHITECTURE.md §5): applies what the relay answers about the
// Confirms and Cancels the driver handed it through the outbox. A result records the ledger's
// answer on its branch and finishes the saga once every branch is settled; a report of a retry
// tier move says when the relay will next speak of the command (relay_expectation.h); a dead
// letter marks the branch the relay gave up on, until an operator replays it
// (dead_letter_actions.h).
//
// An answer takes no lease: one read (none when this replica wrote the saga last: it starts from
// the saga as written, written_sagas.h), then at most one write fenced by the revision it read,
// which leaves the saga unleased. If a driver holds the saga or wrote first, the answer is ABORTED
// and the caller (relay_results.h) applies it again later.
//
// Thread-safe.
#pragma once

#include <optional>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "common/clock.h"
#include "coordinator/relay_answer_sink.h"
#include "coordinator/relay_expectation.h"
#include "coordinator/saga_leases.h"
#include "coordinator/saga_store.h"
#include "coordinator/saga_writer.h"
#include "fxmesh/v1/relay.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

class RelaySettlement : public RelayAnswerSink {
 public:
  // Every reference must outlive the settlement.
  RelaySettlement(SagaStore& store, const Clock& clock, const WordTimings& timings,
                  SagaLeases& leases, SagaWriter& writer)
      : store_(store), clock_(clock), timings_(timings), leases_(leases), writer_(writer) {}

  // Idempotent: a result for a branch already settled, or a saga already finished, changes
  // nothing. ABORTED while another driver holds the saga: apply it again later.
  absl::Status ApplyBranchResult(const v1::BranchResult& result) override;
  // Results about one saga (no retry reports), recorded with at most one read and one write, so
  // the answers that settle a saga together finish it in one step.
  absl::Status ApplyBranchResults(const std::vector<v1::BranchResult>& results) override;
  // Records a message of the dead-letter topic (once per position) and marks its branch.
  absl::Status ApplyDeadLetter(const v1::DeadLetter& dead_letter) override;

 private:
  // Records `result` (valid, about `branch` of `saga`) on the branch; returns what the step log
  // says of it.
  std::string RecordResult(v1::Saga& saga, v1::Branch& branch, const v1::BranchResult& result);
  // The relay moved a branch's command to a retry tier: the next word about it is now due after
  // that tier's due time.
  absl::Status ApplyRetryReport(const v1::BranchResult& report);
  // Runs `apply` (nullopt: nothing to do; else the status of the write it made) on the saga as
  // this replica last wrote it (SagaWriter::LastWritten), without a read. Where that saga may be
  // stale (nothing to do in a saga not finished, or a write that failed its revision fence),
  // runs it again on the saga as stored. NOT_FOUND for an unknown saga.
  absl::Status WithSaga(const std::string& saga_id,
                        absl::FunctionRef<std::optional<absl::Status>(v1::Saga&)> apply);
  // For a relay answer about `ref`: runs `update` on the branch if the saga is still in `op`'s
  // phase, the branch not settled yet and `needed` says the update would change something;
  // otherwise does nothing (a late or repeated copy). At most one read (none when this replica
  // wrote the saga last) and one write, without the lease: the write is fenced by the revision
  // read, so a driver that came first makes it ABORTED (the caller tries again later), as does a
  // thread of this replica working on the saga; NOT_FOUND for an unknown saga.
  absl::Status WithOpenBranch(const v1::BranchRef& ref, v1::BranchOp op,
                              absl::FunctionRef<bool(const v1::Branch&)> needed,
                              absl::FunctionRef<absl::Status(v1::Saga&, v1::Branch&)> update);

  SagaStore& store_;
  const Clock& clock_;
  const WordTimings& timings_;
  SagaLeases& leases_;
  SagaWriter& writer_;
};

}  // namespace fxmesh::coordinator
