#include "tests/simulation/saga_simulation.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "coordinator/saga_rules.h"
#include "coordinator/saga_state_machine.h"
#include "tests/simulation/sim_ledger.h"

namespace fxmesh::simulation {
namespace {

using coordinator::BranchCall;
using coordinator::Decision;

const absl::Time kEpoch = absl::FromUnixSeconds(1'780'000'000);
const absl::Duration kLease = absl::Milliseconds(limits::kSagaLeaseMs);
const absl::Duration kQuoteTtl = absl::Milliseconds(limits::kQuoteTtlMsDefault);
const absl::Duration kRecoveryInterval = absl::Milliseconds(limits::kRecoveryIntervalMsDefault);
// After the faults stop, every saga must be finished within this (invariant 8): the longest a
// command can wait for its redispatch, with room.
const absl::Duration kSettleBound = absl::Milliseconds(limits::kRedispatchAfterMsDefault) * 2;
constexpr int kReplicas = 2;

// Draws from the engine's raw output only, so a seed runs the same with every standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}
  int64_t Between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(engine_() % static_cast<uint64_t>(high - low + 1));
  }
  bool Percent(int64_t percent) { return Between(1, 100) <= percent; }
  absl::Duration Millis(int64_t low, int64_t high) {
    return absl::Milliseconds(Between(low, high));
  }

 private:
  std::mt19937_64 engine_;
};

struct Stored {
  v1::Saga saga;
  std::string owner;
  absl::Time lease_until = kEpoch;
};

struct Replica {
  std::string id;
  bool up = true;
  int incarnation = 0;
  absl::Time stalled_until = kEpoch;  // A stall: a long GC, a frozen VM, a slow disk.
  std::set<std::string> busy;         // Sagas a drive or a result of this replica works on.
};

// One drive of one saga by one replica, as SagaDriver runs it: decide, call, write.
struct Drive {
  int replica = 0;
  int incarnation = 0;
  bool customer = false;
  coordinator::DriveInput input;
  v1::Saga saga;
};

// One call on its way: the ledger's answer, once the request arrived, and whether the caller gets
// it.
struct Call {
  int branch = 0;
  absl::Time answer_arrives = absl::InfiniteFuture();
  std::optional<v1::BranchResponse> answer;
};

class World {
 public:
  World(uint64_t seed, const SimulationOptions& options)
      : random_(seed),
        ledgers_{SimLedger(options.ledger_forgets_barrier),
                 SimLedger(options.ledger_forgets_barrier)} {
    result_.seed = seed;
    result_.digest = 14'695'981'039'346'656'037ULL;  // FNV-1a's offset basis.
  }

  SimulationResult Run();

 private:
  // Schedules `event` at `when`; background events (recovery ticks) do not keep the run going.
  void At(absl::Time when, std::function<void()> event, bool background = false);
  void Fail(absl::string_view what, absl::string_view saga_id = "");
  bool Faulty() const { return now_ < faults_end_; }
  SimLedger& LedgerOf(const v1::Branch& branch) {
    return ledgers_[branch.branch() == "krw" ? 0 : 1];
  }

  void CreateSaga(int index);
  void StartDrive(int replica, const std::string& saga_id, bool customer, absl::Time respond_by);
  void Step(std::shared_ptr<Drive> drive);
  void MakeCalls(std::shared_ptr<Drive> drive, const Decision& decision);
  void FinishDrive(const Drive& drive);
  bool Save(const v1::Saga& saga, v1::SagaState expected, const std::string& owner,
            absl::Time lease_until);
  v1::BranchResponse Deliver(const v1::Saga& saga, int branch, BranchCall call);
  void RecoveryTick(int replica);
  void Crash(int replica);
  void Publish(const v1::BranchCommand& command);
  void RelayAttempt(v1::BranchCommand command, int attempt);
  void ApplyResult(v1::BranchCommand command, v1::BranchResponse answer, int tries);
  void CheckSaga(const std::string& saga_id);
  bool Quiet() const;

  Random random_;
  SimLedger ledgers_[2];
  SimulationResult result_;
  coordinator::RuleOptions rules_;
  absl::Time now_ = kEpoch;
  absl::Time faults_end_ = kEpoch;
  int64_t sequence_ = 0;
  int64_t foreground_ = 0;
  struct Event {
    absl::Time when;
    int64_t sequence;
    bool background;
    std::function<void()> run;
    bool operator>(const Event& other) const {
      return when != other.when ? when > other.when : sequence > other.sequence;
    }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::map<std::string, Stored> store_;
  std::map<std::string, v1::ExchangeStatus> told_;
  std::vector<Replica> replicas_;
  std::set<std::string, std::less<>> paused_;
  // Fault rates of this seed, in percent.
  int drop_ = 0, lose_answer_ = 0, duplicate_ = 0, relay_loses_ = 0, crash_ = 0;
  int64_t slowest_ms_ = 0;
};

void World::At(absl::Time when, std::function<void()> event, bool background) {
  if (!background) ++foreground_;
  events_.push(Event{std::max(when, now_), sequence_++, background, std::move(event)});
}

void World::Fail(absl::string_view what, absl::string_view saga_id) {
  if (!result_.failure.empty()) return;
  result_.failure =
      absl::StrCat("seed ", result_.seed, " at +", absl::FormatDuration(now_ - kEpoch), ": ", what,
                   saga_id.empty() ? "" : " (saga ", saga_id, saga_id.empty() ? "" : ")");
}

SimulationResult World::Run() {
  drop_ = static_cast<int>(random_.Between(0, 15));
  lose_answer_ = static_cast<int>(random_.Between(0, 15));
  duplicate_ = static_cast<int>(random_.Between(0, 10));
  relay_loses_ = static_cast<int>(random_.Between(0, 10));
  crash_ = static_cast<int>(random_.Between(0, 30));
  slowest_ms_ = random_.Between(1, 3'000);
  const absl::Duration window = random_.Millis(1'000, 40'000);
  faults_end_ = kEpoch + window + random_.Millis(0, 10'000);
  result_.sagas = static_cast<int>(random_.Between(1, 4));

  // Enough money for some exchanges, not always for all of them.
  ledgers_[0].Deposit("alice-krw", random_.Between(0, 100 * result_.sagas + 50));
  ledgers_[1].Deposit("position:USD", random_.Between(0, 100 * result_.sagas + 50));
  for (int i = 0; i < kReplicas; ++i) {
    replicas_.push_back(Replica{absl::StrCat("replica-", i)});
    At(
        kEpoch + random_.Millis(0, 1'000), [this, i] { RecoveryTick(i); }, true);
  }
  for (int i = 0; i < result_.sagas; ++i) {
    At(kEpoch + random_.Millis(0, absl::ToInt64Milliseconds(window)), [this, i] { CreateSaga(i); });
  }
  // Faults: replicas crash or stall, an operator pauses a participant for a while.
  for (absl::Time at = kEpoch + random_.Millis(0, 3'000); at < faults_end_;
       at += random_.Millis(500, 6'000)) {
    const int replica = static_cast<int>(random_.Between(0, kReplicas - 1));
    if (random_.Percent(crash_)) {
      At(at, [this, replica] { Crash(replica); });
    } else if (random_.Percent(15)) {
      const absl::Duration stall = random_.Millis(100, 45'000);
      At(at, [this, replica, stall] {
        replicas_[replica].stalled_until = std::max(replicas_[replica].stalled_until, now_ + stall);
      });
    } else if (random_.Percent(10)) {
      const absl::Duration pause = random_.Millis(100, 20'000);
      At(at, [this] { paused_.insert("fx-ledger"); });
      At(at + pause, [this] { paused_.erase("fx-ledger"); });
    }
  }

  while (!events_.empty() && result_.failure.empty()) {
    Event event = std::move(const_cast<Event&>(events_.top()));
    events_.pop();
    now_ = event.when;
    if (!event.background) --foreground_;
    result_.digest =
        (result_.digest ^ static_cast<uint64_t>(absl::ToUnixMicros(now_))) * 1'099'511'628'211ULL;
    ++result_.events;
    event.run();
    if (now_ >= faults_end_ && Quiet()) break;
    if (now_ > faults_end_ + kSettleBound) {
      for (const auto& [id, stored] : store_) {
        if (!coordinator::IsTerminal(stored.saga.state()))
          Fail(absl::StrCat("invariant 8: still ", coordinator::StateName(stored.saga.state()),
                            " long after the faults stopped"),
               id);
      }
      if (ledgers_[0].AnyHeld() || ledgers_[1].AnyHeld())
        Fail("invariant 8: a hold is still HELD long after the faults stopped");
      break;
    }
  }
  if (result_.failure.empty() && !Quiet()) Fail("the simulation ran out of events unfinished");
  for (const auto& [id, stored] : store_) {
    const v1::SagaState state = stored.saga.state();
    result_.completed += state == v1::SAGA_STATE_COMPLETED;
    result_.cancelled += state == v1::SAGA_STATE_CANCELLED;
    auto told = told_.find(id);
    if (told == told_.end()) continue;
    if ((told->second == v1::EXCHANGE_STATUS_COMPLETED && state != v1::SAGA_STATE_COMPLETED) ||
        (told->second == v1::EXCHANGE_STATUS_FAILED && state != v1::SAGA_STATE_CANCELLED)) {
      Fail(
          absl::StrCat("invariant 7: the customer was told ", v1::ExchangeStatus_Name(told->second),
                       " and the saga ended ", coordinator::StateName(state)),
          id);
    }
  }
  return result_;
}

bool World::Quiet() const {
  if (foreground_ > 0 || ledgers_[0].AnyHeld() || ledgers_[1].AnyHeld()) return false;
  if (static_cast<int>(store_.size()) < result_.sagas) return false;
  for (const auto& [id, stored] : store_) {
    if (!coordinator::IsTerminal(stored.saga.state())) return false;
  }
  return true;
}

void World::CreateSaga(int index) {
  v1::Saga saga;
  saga.set_saga_id(absl::StrCat("s", index));
  saga.set_state(v1::SAGA_STATE_CREATED);
  saga.set_customer_id("alice");
  *saga.mutable_try_deadline() = ToTimestamp(now_ + kQuoteTtl);
  *saga.mutable_next_attempt_at() = ToTimestamp(now_);
  *saga.mutable_created_at() = ToTimestamp(now_);
  struct Leg {
    const char* name;
    const char* debit;
    const char* credit;
  };
  for (const Leg& leg :
       {Leg{"krw", "alice-krw", "position:KRW"}, Leg{"fx", "position:USD", "alice-usd"}}) {
    v1::Branch* branch = saga.add_branches();
    branch->set_branch(leg.name);
    branch->set_participant(absl::StrCat(leg.name, "-ledger"));
    branch->set_debit_account_id(leg.debit);
    branch->set_credit_account_id(leg.credit);
    branch->mutable_amount()->set_amount_minor(random_.Between(1, 100));
    branch->set_try_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_confirm_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_cancel_status(v1::CALL_STATUS_NOT_SENT);
  }
  store_[saga.saga_id()].saga = saga;
  // The customer's call drives it on the replica it reached, until its deadline.
  const int replica = static_cast<int>(random_.Between(0, kReplicas - 1));
  StartDrive(replica, saga.saga_id(), /*customer=*/true, now_ + random_.Millis(100, 10'000));
}

void World::StartDrive(int replica_index, const std::string& saga_id, bool customer,
                       absl::Time respond_by) {
  Replica& replica = replicas_[replica_index];
  Stored& stored = store_[saga_id];
  if (!replica.up || replica.busy.count(saga_id) > 0) return;
  if (stored.owner != replica.id && stored.lease_until > now_) return;  // Another replica has it.
  stored.owner = replica.id;
  stored.lease_until = now_ + kLease;
  replica.busy.insert(saga_id);
  auto drive = std::make_shared<Drive>();
  drive->replica = replica_index;
  drive->incarnation = replica.incarnation;
  drive->customer = customer;
  drive->input.respond_by = customer ? respond_by : absl::InfiniteFuture();
  drive->saga = stored.saga;
  drive->saga.set_attempt(drive->saga.attempt() + 1);
  Step(drive);
}

void World::Step(std::shared_ptr<Drive> drive) {
  Replica& replica = replicas_[drive->replica];
  if (replica.incarnation != drive->incarnation) return;  // The replica crashed meanwhile.
  if (now_ < replica.stalled_until) {
    At(replica.stalled_until, [this, drive] { Step(drive); });
    return;
  }
  drive->input.now = now_;
  drive->input.paused = paused_;
  const v1::SagaState from = drive->saga.state();
  const Decision decision = coordinator::Decide(drive->saga, drive->input, rules_);
  drive->input.answered = false;
  switch (decision.kind) {
    case Decision::Kind::kWait:
      FinishDrive(*drive);
      return;
    case Decision::Kind::kCall:
      MakeCalls(drive, decision);
      return;
    case Decision::Kind::kWrite:
      break;
  }
  if (!Save(drive->saga, from, replica.id, now_ + kLease)) {
    FinishDrive(*drive);
    return;
  }
  drive->saga.set_revision(drive->saga.revision() + 1);
  result_.commands_resent += static_cast<int>(decision.silent.size());
  for (int index : decision.dispatch) Publish(coordinator::BranchCommandFor(drive->saga, index));
  if (decision.drive_on) {
    At(now_ + absl::Microseconds(random_.Between(10, 2'000)), [this, drive] { Step(drive); });
  } else {
    FinishDrive(*drive);
  }
}

void World::MakeCalls(std::shared_ptr<Drive> drive, const Decision& decision) {
  auto calls = std::make_shared<std::vector<Call>>();
  absl::Time all_answered = now_;
  for (int index : decision.branches) {
    calls->push_back(Call{index});
    const int k = static_cast<int>(calls->size()) - 1;
    if (Faulty() && random_.Percent(drop_)) {
      all_answered = absl::InfiniteFuture();
      continue;
    }
    const absl::Time arrives = now_ + random_.Millis(0, slowest_ms_ / 2);
    const absl::Time answered = arrives + random_.Millis(0, slowest_ms_ / 2);
    const bool answer_lost = Faulty() && random_.Percent(lose_answer_);
    const v1::Saga saga = drive->saga;
    const BranchCall call = decision.call;
    At(arrives, [this, calls, k, saga, index, call, answered, answer_lost] {
      (*calls)[k].answer = Deliver(saga, index, call);
      if (!answer_lost) (*calls)[k].answer_arrives = answered;
    });
    // A network that repeats itself: the same request once more, later.
    if (Faulty() && random_.Percent(duplicate_)) {
      At(arrives + random_.Millis(0, 3'000),
         [this, saga, index, call] { Deliver(saga, index, call); });
    }
    all_answered = answer_lost ? absl::InfiniteFuture() : std::max(all_answered, answered);
  }
  const BranchCall call = decision.call;
  At(std::min(all_answered, decision.deadline), [this, drive, calls, call] {
    for (const Call& sent : *calls) {
      v1::Branch& branch = *drive->saga.mutable_branches(sent.branch);
      absl::StatusOr<v1::BranchResponse> answer = absl::DeadlineExceededError("no answer in time");
      if (sent.answer && sent.answer_arrives <= now_) answer = *sent.answer;
      coordinator::RecordAnswer(branch, call, answer, now_, ToTime(drive->saga.try_deadline()));
    }
    drive->input.answered = true;
    Step(drive);
  });
}

void World::FinishDrive(const Drive& drive) {
  Replica& replica = replicas_[drive.replica];
  if (replica.incarnation != drive.incarnation) return;
  Stored& stored = store_[drive.saga.saga_id()];
  if (stored.owner == replica.id) stored.lease_until = now_;  // Released.
  replica.busy.erase(drive.saga.saga_id());
  if (drive.customer && told_.count(drive.saga.saga_id()) == 0)
    told_[drive.saga.saga_id()] = coordinator::CustomerStatus(stored.saga.state());
}

bool World::Save(const v1::Saga& saga, v1::SagaState expected, const std::string& owner,
                 absl::Time lease_until) {
  Stored& stored = store_[saga.saga_id()];
  if (stored.saga.revision() != saga.revision() || stored.saga.state() != expected ||
      (stored.owner != owner && stored.lease_until > now_)) {
    ++result_.writes_fenced;
    return false;
  }
  if (saga.state() != expected && !coordinator::IsAllowedTransition(expected, saga.state())) {
    Fail(absl::StrCat("invariant 5: the stored saga moved ", coordinator::StateName(expected),
                      " → ", coordinator::StateName(saga.state())),
         saga.saga_id());
  }
  stored.saga = saga;
  stored.saga.set_revision(saga.revision() + 1);
  stored.owner = owner;
  stored.lease_until = lease_until;
  result_.digest = (result_.digest ^ static_cast<uint64_t>(saga.state() * 131 + saga.revision())) *
                   1'099'511'628'211ULL;
  CheckSaga(saga.saga_id());
  return true;
}

v1::BranchResponse World::Deliver(const v1::Saga& saga, int index, BranchCall call) {
  const v1::Branch& branch = saga.branches(index);
  SimLedger& ledger = LedgerOf(branch);
  const std::string key = absl::StrCat(saga.saga_id(), "/", branch.branch());
  v1::BranchResponse answer = call == BranchCall::kTry ? ledger.Try(key, branch.debit_account_id(),
                                                                    branch.credit_account_id(),
                                                                    branch.amount().amount_minor())
                              : call == BranchCall::kConfirm ? ledger.Confirm(key)
                                                             : ledger.Cancel(key);
  result_.digest =
      (result_.digest ^ static_cast<uint64_t>(answer.outcome() * 7 + answer.reason())) *
      1'099'511'628'211ULL;
  result_.late_trys_refused += answer.reason() == v1::REJECT_REASON_REJECTED_AFTER_CANCEL;
  if (std::string broken = ledger.CheckInvariants(); !broken.empty()) Fail(broken, saga.saga_id());
  CheckSaga(saga.saga_id());
  return answer;
}

void World::CheckSaga(const std::string& saga_id) {
  const Stored& stored = store_[saga_id];
  int confirmed = 0, cancelled = 0;
  for (const v1::Branch& branch : stored.saga.branches()) {
    const HoldState* hold = LedgerOf(branch).HoldOf(absl::StrCat(saga_id, "/", branch.branch()));
    confirmed += hold != nullptr && *hold == HoldState::kConfirmed;
    cancelled += hold != nullptr && *hold == HoldState::kCancelled;
  }
  const int branches = stored.saga.branches_size();
  if (confirmed > 0 && cancelled > 0)
    Fail("invariant 4: one hold confirmed and another cancelled", saga_id);
  if (stored.saga.state() == v1::SAGA_STATE_COMPLETED && confirmed != branches)
    Fail("invariant 4: COMPLETED without every hold confirmed", saga_id);
  if (stored.saga.state() == v1::SAGA_STATE_CANCELLED && confirmed > 0)
    Fail("invariant 4: CANCELLED with a hold confirmed", saga_id);
}

void World::RecoveryTick(int index) {
  Replica& replica = replicas_[index];
  const absl::Time next =
      std::max(now_, replica.stalled_until) + kRecoveryInterval + random_.Millis(0, 200);
  if (replica.up && now_ >= replica.stalled_until) {
    for (const auto& [id, stored] : store_) {
      if (coordinator::IsTerminal(stored.saga.state())) continue;
      if (ToTime(stored.saga.next_attempt_at()) > now_) continue;
      StartDrive(index, id, /*customer=*/false, absl::InfiniteFuture());
    }
  }
  At(
      next, [this, index] { RecoveryTick(index); }, true);
}

void World::Crash(int index) {
  Replica& replica = replicas_[index];
  if (!replica.up) return;
  ++result_.crashes;
  replica.up = false;
  ++replica.incarnation;
  replica.busy.clear();
  At(now_ + random_.Millis(200, 5'000), [this, index] {
    Replica& restarted = replicas_[index];
    restarted.up = true;
    // A replica frees the leases it held when it stopped (SagaLeases::ReleaseOwnLeases).
    for (auto& [id, stored] : store_) {
      if (stored.owner == restarted.id) stored.lease_until = now_;
    }
  });
}

void World::Publish(const v1::BranchCommand& command) {
  if (Faulty() && random_.Percent(relay_loses_)) return;  // A consumer skipped it (defect 0).
  At(now_ + random_.Millis(1, 500), [this, command] { RelayAttempt(command, 1); });
}

void World::RelayAttempt(v1::BranchCommand command, int attempt) {
  const Stored& stored = store_[command.branch().saga_id()];
  int index = 0;
  while (stored.saga.branches(index).branch() != command.branch().branch()) ++index;
  const BranchCall call =
      command.op() == v1::BRANCH_OP_CONFIRM ? BranchCall::kConfirm : BranchCall::kCancel;
  const bool dropped = Faulty() && random_.Percent(drop_ + lose_answer_);
  const absl::Duration took = random_.Millis(0, slowest_ms_);
  if (!dropped) {
    const v1::BranchResponse answer = Deliver(stored.saga, index, call);
    if (took < absl::Milliseconds(limits::kLedgerCallTimeoutMs)) {
      At(now_ + took + random_.Millis(1, 500),
         [this, command, answer] { ApplyResult(command, answer, 0); });
      if (Faulty() && random_.Percent(duplicate_)) {
        At(now_ + random_.Millis(1, 5'000),
           [this, command, answer] { ApplyResult(command, answer, 0); });
      }
      return;
    }
  }
  // No answer: the relay tries again after its tier's delay.
  const absl::Duration delay =
      std::min(absl::Seconds(1) * (1 << std::min(attempt, 5)), absl::Seconds(30));
  At(now_ + took + delay, [this, command, attempt] { RelayAttempt(command, attempt + 1); });
}

void World::ApplyResult(v1::BranchCommand command, v1::BranchResponse answer, int tries) {
  const std::string& saga_id = command.branch().saga_id();
  std::vector<int> ready;
  for (int i = 0; i < kReplicas; ++i) {
    if (replicas_[i].up && now_ >= replicas_[i].stalled_until &&
        replicas_[i].busy.count(saga_id) == 0) {
      ready.push_back(i);
    }
  }
  auto later = [&] {
    At(now_ + random_.Millis(50, 500),
       [this, command, answer, tries] { ApplyResult(command, answer, tries + 1); });
  };
  if (ready.empty()) return later();
  const Replica& replica = replicas_[ready[random_.Between(0, ready.size() - 1)]];
  v1::Saga saga = store_[saga_id].saga;
  const v1::SagaState phase =
      command.op() == v1::BRANCH_OP_CONFIRM ? v1::SAGA_STATE_CONFIRMING : v1::SAGA_STATE_CANCELLING;
  int index = 0;
  while (saga.branches(index).branch() != command.branch().branch()) ++index;
  v1::Branch& branch = *saga.mutable_branches(index);
  if (saga.state() != phase || coordinator::IsBranchSettled(branch, saga.state())) return;
  coordinator::RecordAnswer(
      branch, command.op() == v1::BRANCH_OP_CONFIRM ? BranchCall::kConfirm : BranchCall::kCancel,
      answer, now_, ToTime(saga.try_deadline()));
  branch.clear_dead_letter();
  branch.clear_expect_word_by();
  const v1::SagaState from = saga.state();
  coordinator::DecideAfterResult(saga, "answered through the relay", now_);
  // Unleased: the revision fences the write; a driver that holds the saga makes it wait.
  if (!Save(saga, from, replica.id, now_)) later();
}

}  // namespace

SimulationResult Simulate(uint64_t seed, const SimulationOptions& options) {
  return World(seed, options).Run();
}

}  // namespace fxmesh::simulation
