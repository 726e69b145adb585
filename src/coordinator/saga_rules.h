// The saga's rules (ARCHITECTURE.md §4) as pure functions: from a saga, the answers recorded on it
// and the time, what the driver does next. No I/O, no clock, no locks: SagaEngine performs what
// they decide, and tests call them directly.
//
// The state diagram, top to bottom as Decide() reads it:
//   CREATED     quote expired → CANCELLING (QUOTE_EXPIRED); otherwise → TRYING.
//   TRYING      a Try rejected → CANCELLING (the ledger's reason).
//               every Try applied → CONFIRMING: the decision, written before any Confirm.
//               a participant paused → wait for it (past the quote's deadline: CANCELLING).
//               Trys due → send them, in parallel, then decide again with their answers.
//               none due yet → nothing to do until the earliest is due (nothing written).
//               unanswered at the quote's deadline → CANCELLING (TIMEOUT).
//   CONFIRMING  every branch confirmed → COMPLETED. Never goes back.
//   CANCELLING  every branch cancelled (or a null compensation) → CANCELLED.
//               Both settle through the relay, with Kafka or in process (local_relay.h): the
//               write that enters the state queues every branch's command in the outbox (unless a
//               participant is paused: then they wait for it); the relay retries and its answers
//               finish the saga (DecideAfterResult). The driver only sends again a command never
//               sent, or one the relay went silent about past the time its next word was due
//               (relay_expectation.h).
//
// The retry rule: an unanswered Try is sent again after Backoff(its calls), never past the quote's
// deadline. Confirms and Cancels follow the relay's policy (relay/command_policy.h).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/limits.h"
#include "coordinator/relay_expectation.h"
#include "fxmesh/v1/ledger.pb.h"
#include "fxmesh/v1/relay.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

enum class BranchCall { kTry, kConfirm, kCancel };

// The rules' settings, fixed for an engine's life.
struct RuleOptions {
  absl::Duration ledger_call_timeout = absl::Milliseconds(limits::kLedgerCallTimeoutMs);
  WordTimings relay;
};

// What a drive knows besides the saga, at the moment of one decision.
struct DriveInput {
  absl::Time now;
  // A customer waits for the answer until then; every call's deadline ends before it.
  absl::Time respond_by = absl::InfiniteFuture();
  // The saga carries answers to calls this drive made and has not written yet.
  bool answered = false;
  // Participants an operator has paused: no call goes to them.
  std::set<std::string, std::less<>> paused;
  // The relays have branch commands they have not read yet: silence is lateness, not loss.
  bool relay_behind = false;
};

struct Decision {
  enum class Kind {
    kWait,   // Nothing to do or to write now.
    kCall,   // Make `call` to `branches` by `deadline`, record the answers, decide again.
    kWrite,  // Write the saga as it now is (in `to` if set), with `detail`, queue `dispatch`.
  };
  Kind kind = Kind::kWait;

  BranchCall call = BranchCall::kTry;
  std::vector<int> branches;
  absl::Time deadline;

  // The transition written; unset when the saga stays in its state (a new schedule).
  std::optional<v1::SagaState> to;
  // The step-log row; empty when the write adds none.
  std::string detail;
  // Branches whose BranchCommand (BranchCommandFor) is queued in the outbox with the write, and
  // the names of those sent again because the relay went silent about them.
  std::vector<int> dispatch;
  std::vector<std::string> silent;
  // After the write: decide again at once.
  bool drive_on = false;
  // A ledger refused a Confirm or a Cancel after the decision: an operator must look.
  bool inconsistency = false;
};

// The next step for `saga`, applied to it in memory (state, failure, next attempt, the dispatch
// marks of its branches): the caller then makes the calls, or writes the saga as it now is
// (expecting the state it had before), or does nothing.
Decision Decide(v1::Saga& saga, const DriveInput& input, const RuleOptions& options);

// After a relay's answer was recorded on `saga` at `now` (`answered` says which): the saga
// finishes when every branch is settled; otherwise the write records what is still open.
Decision DecideAfterResult(v1::Saga& saga, absl::string_view answered, absl::Time now);

// Moves `saga` into `to` at `now`; the transition must be in the state machine's table.
void EnterState(v1::Saga& saga, v1::SagaState to, absl::Time now);

// Records `answer` to `call` on `branch` and returns the status recorded ("APPLIED", "UNKNOWN").
// An unanswered Try is due again after Backoff(its calls) from `now`, never after `try_deadline`.
std::string RecordAnswer(v1::Branch& branch, BranchCall call,
                         const absl::StatusOr<v1::BranchResponse>& answer, absl::Time now,
                         absl::Time try_deadline);

// The retry delay after `attempt` attempts: the shortest delay doubled per attempt, capped.
absl::Duration Backoff(int attempt);

// Whether every branch is settled in the saga's phase; otherwise `open` names the others (with
// their last errors) and `refused` says whether a ledger refused one.
struct Settlement {
  bool settled = false;
  bool refused = false;
  std::vector<std::string> open;
};
Settlement SettlementOf(const v1::Saga& saga);

// The command that hands `branch`'s Confirm (in CONFIRMING) or Cancel (in CANCELLING) to the relay.
v1::BranchCommand BranchCommandFor(const v1::Saga& saga, int branch);

// When the first branch whose command is with the relay goes silent for too long; `otherwise` if
// none is waiting.
absl::Time NextRedispatch(const v1::Saga& saga, absl::Time otherwise, const WordTimings& timings);

// The customer-facing failure reason of a Try the ledger rejected ("INSUFFICIENT_FUNDS"): its
// reject_reason, or for a row written before that field existed, the reason leading last_error.
std::string RejectReasonOf(const v1::Branch& branch);

}  // namespace fxmesh::coordinator
