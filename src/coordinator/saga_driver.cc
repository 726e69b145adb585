#include "coordinator/saga_driver.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "common/tracing.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {

absl::StatusOr<v1::Saga> SagaDriver::Drive(absl::string_view saga_id, absl::Time respond_by) {
  return AfterDrive(saga_id, leases_.WithSagaHeld(saga_id, [&] {
    return DriveLeased(saga_id, DriveLimits{respond_by});
  }));
}

absl::StatusOr<v1::Saga> SagaDriver::DriveCreated(v1::Saga created, absl::Time respond_by) {
  const std::string saga_id = created.saga_id();
  return AfterDrive(saga_id, leases_.WithNewSagaHeld(saga_id, [&] {
    return DriveHeld(std::move(created), DriveLimits{respond_by});
  }));
}

absl::StatusOr<v1::Saga> SagaDriver::AfterDrive(absl::string_view saga_id,
                                                absl::StatusOr<v1::Saga> driven) {
  if (driven.ok()) return driven;
  if (absl::IsDataLoss(driven.status())) {
    // The stored saga cannot be read (or has no branches): it must not move, and an operator
    // must look at it. It is looked at again only after the longest backoff, so the alert does
    // not repeat every recovery pass.
    metrics_.alerts.With({"unreadable_saga"}).Increment();
    LogError("a saga cannot be read from storage; it stays where it is until an operator acts")
        .With("saga_id", saga_id)
        .With("trace_id", saga_id)
        .With("error", driven.status());
    absl::StatusOr<bool> deferred =
        store_.ScheduleSaga(saga_id, clock_.Now() + absl::Milliseconds(limits::kRetryDelayMsMax));
    if (!deferred.ok()) {
      LogWarning("cannot defer the unreadable saga; recovery will look at it again soon")
          .With("saga_id", saga_id)
          .With("error", deferred.status());
    }
    return driven.status();
  }
  // Another driver has it (or took it over: ABORTED from a fenced write), or storage failed
  // mid-way: answer with what is stored.
  if (!absl::IsAborted(driven.status()) && !absl::IsUnavailable(driven.status())) {
    return driven.status();
  }
  ASSIGN_OR_RETURN(std::optional<v1::Saga> stored, store_.GetSaga(saga_id));
  if (!stored) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  return *stored;
}

absl::StatusOr<v1::Saga> SagaDriver::DriveLeased(absl::string_view saga_id,
                                                 const DriveLimits& limits) {
  ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
  if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  return DriveHeld(std::move(*loaded), limits);
}

absl::StatusOr<v1::Saga> SagaDriver::DriveHeld(v1::Saga saga, const DriveLimits& limits) {
  if (saga.branches().empty()) {
    // With no branches every branch would look settled: the saga would complete with no ledger
    // call at all.
    return absl::DataLossError(absl::StrCat("saga ", saga.saga_id(), " has no branches"));
  }
  if (saga.state() == v1::SAGA_STATE_UNSPECIFIED || !v1::SagaState_IsValid(saga.state()))
    return absl::InternalError(absl::StrCat("saga ", saga.saga_id(), " has no state"));
  saga.set_attempt(saga.attempt() + 1);
  ScopedSpan span(options_.tracer, absl::StrCat("drive ", StateName(saga.state())), saga.saga_id());
  span.SetAttribute("attempt", absl::StrCat(saga.attempt()));
  bool answered = false;
  for (;;) {
    const v1::SagaState from = saga.state();
    const Decision decision = Decide(saga, InputFor(limits, answered), rules_);
    if (decision.kind == Decision::Kind::kWait) break;
    if (decision.kind == Decision::Kind::kCall) {
      SendCalls(saga, decision.call, decision.branches, decision.deadline);
      answered = true;
      continue;
    }
    // The drive's last write gives its lease back too, instead of a release of its own after it.
    const bool last = !decision.drive_on;
    if (absl::Status written = writer_.Write(saga, from, decision, last); !written.ok()) {
      span.SetStatus(written);
      return written;
    }
    answered = false;
    if (last) {
      leases_.LeaseGivenBack(saga.saga_id());
      break;
    }
  }
  span.SetAttribute("state", StateName(saga.state()));
  pauses_.Annotate(saga, clock_.Now(), options_.stuck_after);
  return saga;
}

DriveInput SagaDriver::InputFor(const DriveLimits& limits, bool answered) const {
  DriveInput input;
  input.now = clock_.Now();
  input.respond_by = limits.respond_by;
  input.answered = answered;
  input.relay_behind = options_.relay_has_backlog && options_.relay_has_backlog();
  input.paused = pauses_.Names();
  return input;
}

void SagaDriver::SendCalls(v1::Saga& saga, BranchCall call, const std::vector<int>& indexes,
                           absl::Time deadline) {
  // The branches are independent, so their calls are all started, then awaited together: the
  // clients answer on their transport's threads, not on one thread per call.
  struct Answers {
    absl::Mutex mu;
    std::vector<absl::StatusOr<v1::BranchResponse>> results ABSL_GUARDED_BY(mu);
    size_t pending ABSL_GUARDED_BY(mu) = 0;
  };
  auto answers = std::make_shared<Answers>();
  {
    absl::MutexLock lock(&answers->mu);
    answers->results.assign(indexes.size(), absl::UnknownError("not sent"));
    answers->pending = indexes.size();
  }
  for (size_t k = 0; k < indexes.size(); ++k) {
    ParticipantClient::Done done = [answers, k](absl::StatusOr<v1::BranchResponse> answer) {
      absl::MutexLock lock(&answers->mu);
      answers->results[k] = std::move(answer);
      --answers->pending;
    };
    const v1::Branch& branch = saga.branches(indexes[k]);
    auto client = participants_.find(branch.participant());
    if (client == participants_.end()) {
      done(absl::FailedPreconditionError(
          absl::StrCat("no client for participant ", branch.participant())));
      continue;
    }
    v1::BranchRef ref;
    ref.set_saga_id(saga.saga_id());
    ref.set_branch(branch.branch());
    if (call == BranchCall::kTry) {
      v1::TryRequest request;
      *request.mutable_branch() = ref;
      request.set_customer_id(saga.customer_id());
      request.set_debit_account_id(branch.debit_account_id());
      request.set_credit_account_id(branch.credit_account_id());
      *request.mutable_amount() = branch.amount();
      client->second->StartTry(request, deadline, std::move(done));
    } else {
      v1::BranchRequest request;
      *request.mutable_branch() = ref;
      if (call == BranchCall::kConfirm) {
        client->second->StartConfirm(request, deadline, std::move(done));
      } else {
        client->second->StartCancel(request, deadline, std::move(done));
      }
    }
  }
  std::vector<absl::StatusOr<v1::BranchResponse>> results;
  {
    absl::MutexLock lock(&answers->mu);
    auto all_answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(answers->mu) {
      return answers->pending == 0;
    };
    answers->mu.Await(absl::Condition(&all_answered));
    results = std::move(answers->results);
  }
  for (size_t k = 0; k < indexes.size(); ++k) {
    writer_.RecordCall(*saga.mutable_branches(indexes[k]), call, results[k],
                       ToTime(saga.try_deadline()));
  }
}

absl::Status SagaDriver::CheckStuck() {
  SagaFilter filter;
  filter.active_only = true;
  filter.created_before = clock_.Now() - options_.stuck_after;
  filter.limit = limits::kListPageSizeMax;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> stuck, store_.ListSagas(filter, nullptr));
  absl::MutexLock lock(&mu_);
  for (const v1::Saga& saga : stuck) {
    if (!stuck_alerted_.insert(saga.saga_id()).second) continue;
    metrics_.alerts.With({"stuck"}).Increment();
    LogWarning("saga stuck")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("state", StateName(saga.state()))
        .With("age_seconds",
              static_cast<int64_t>(absl::ToInt64Seconds(clock_.Now() - ToTime(saga.created_at()))));
  }
  return absl::OkStatus();
}

}  // namespace fxmesh::coordinator
