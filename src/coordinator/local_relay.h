// Settlement without Kafka (ARCHITECTURE.md §5): the coordinator's own relay. Every Confirm and
// Cancel goes through the outbox whether Kafka is there or not; without it, this relay drains the
// outbox where the publisher would hand it to Kafka, executes each branch command against its
// ledger, follows the relay's policy (relay/command_policy.h: what is retried, after which tier,
// when to give up) and hands every answer, retry report and dead letter to the same
// RelayAnswerSink the Kafka results consumer feeds. One path settles every branch; Kafka only
// makes the queue between the two durable. A command waiting for its tier here is lost with the
// process, and the saga sends it again once its word is overdue, as it does for one Kafka lost.
//
// Dead letters are recorded at partition -1 (no Kafka partition), offset the command's outbox id:
// once per command sent. Saga events have no consumer without Kafka: they are marked sent (the
// step log keeps the history).
//
// Only the replica that holds the outbox publisher role (kOutboxPublisherRole) drains the outbox;
// the others stand by. One thread calls Step; the commands of a saga run together on one of the
// relay's worker threads (at most `in_flight_max` sagas at once), so two answers of one saga never
// race for its row.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/limits.h"
#include "common/metrics.h"
#include "common/participant_client.h"
#include "common/tracing.h"
#include "coordinator/outbox_store.h"
#include "coordinator/relay_answer_sink.h"
#include "relay/command_policy.h"
#include "relay/relay_metrics.h"

namespace fxmesh::coordinator {

struct LocalRelayOptions {
  // The replica's id, for the publisher role.
  std::string owner = "coordinator";
  std::vector<relay::RelayTier> tiers = relay::DefaultTiers();
  absl::Duration ledger_call_timeout = absl::Milliseconds(limits::kLedgerCallTimeoutMs);
  // Sagas whose commands run at once.
  int in_flight_max = limits::kRelayCommandsInFlightMax;
};

class LocalRelay {
 public:
  // Everything passed in must outlive the relay.
  LocalRelay(OutboxStore& store, RelayAnswerSink& sink,
             std::map<std::string, ParticipantClient*> participants, const Clock& clock,
             LocalRelayOptions options, MetricsRegistry& metrics, Tracer* tracer = nullptr);
  // Waits for the commands being executed (their answers are applied).
  ~LocalRelay();
  LocalRelay(const LocalRelay&) = delete;
  LocalRelay& operator=(const LocalRelay&) = delete;

  // One pass: renews the publisher role; takes the unsent outbox rows (marking them sent); starts
  // the commands that are due on the workers; applies again the answers whose saga was busy.
  // Returns how many commands were started.
  absl::StatusOr<int> Step();
  // Returns when Notify was called, a held command or answer falls due, or `timeout` passes.
  void Wait(absl::Duration timeout);
  // New commands are in the outbox (the engine queued some): the next Wait returns at once.
  void Notify();
  // Returns once no command is executing: what Step started has been answered (applied, or set
  // aside while its saga was busy). For shutdown and for tests that step the relay by hand.
  void AwaitIdle();

 private:
  // A command taken from the outbox, due at `due` (its retry tier's end).
  struct Held {
    v1::BranchCommand command;
    int64_t outbox_id = 0;
    std::string traceparent;  // The sender's span, parent of each attempt's.
    absl::Time due;
  };
  // What commands led to, for the sink: the results of one saga's commands (applied together, so
  // the answers that settle the saga finish it in one write), or one dead letter. Kept aside while
  // the saga is busy.
  struct Answer {
    std::vector<v1::BranchResult> results;
    std::optional<v1::DeadLetter> dead_letter;
    // A retry report's loss costs nothing but time: it is not set aside.
    bool best_effort = false;
    absl::Duration pause = absl::Milliseconds(limits::kLocalRelayBusyRetryMsMin);
    absl::Time retry_at;
  };

  absl::Status CheckRole();
  // Reads unsent outbox rows into `held_` and marks them sent.
  absl::Status TakeOutbox();
  // On a worker: sends `commands` (one saga's) all at once through the clients' asynchronous
  // calls, awaits their answers and applies what each led to.
  void Execute(std::vector<Held> commands);
  // The answer for `held`'s command after its ledger call; a retry goes back to `held_`.
  Answer Judge(const Held& held, const absl::StatusOr<v1::BranchResponse>& response);
  Answer DeadLetter(const Held& held, const relay::CommandFault& fault, int attempts);
  // A row of the commands topic that is not a command: recorded, nothing to execute.
  Answer Poison(const OutboxMessage& row, const absl::Status& parsed);
  // Applies `answer`; true when done with it (applied, or never applicable), false when its saga
  // is busy or the database away (it is set aside and applied again later).
  bool Apply(Answer& answer);
  void SetAside(Answer answer);
  static absl::string_view SagaOf(const Answer& answer);

  OutboxStore& store_;
  RelayAnswerSink& sink_;
  const std::map<std::string, ParticipantClient*> participants_;
  const Clock& clock_;
  const LocalRelayOptions options_;
  const relay::RelayMetrics metrics_;
  Tracer* const tracer_;

  // The Step thread's.
  bool draining_ = false;
  absl::Time next_role_check_ = absl::InfinitePast();
  // Taken but not yet marked sent (the mark failed): never taken twice.
  std::set<int64_t> unmarked_;

  absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  std::multimap<absl::Time, Held> held_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> sagas_running_ ABSL_GUARDED_BY(mu_);
  std::deque<Answer> set_aside_ ABSL_GUARDED_BY(mu_);
  // Last: destroyed first, so no execution outlives what it uses.
  std::unique_ptr<Executor> workers_;
};

}  // namespace fxmesh::coordinator
