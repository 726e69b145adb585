#include "tests/simulation/sim_ledger.h"

#include "absl/strings/str_cat.h"

namespace fxmesh::simulation {
namespace {

v1::BranchResponse Answer(v1::Outcome outcome, v1::RejectReason reason = {}) {
  v1::BranchResponse response;
  response.set_outcome(outcome);
  response.set_reason(reason);
  return response;
}

}  // namespace

void SimLedger::Deposit(const std::string& account, int64_t amount) {
  accounts_[account].available += amount;
  deposits_ += amount;
}

v1::BranchResponse SimLedger::Try(const std::string& key, const std::string& debit,
                                  const std::string& credit, int64_t amount) {
  if (cancelled_untried_.count(key) > 0)
    return Answer(v1::OUTCOME_REJECTED, v1::REJECT_REASON_REJECTED_AFTER_CANCEL);
  if (auto hold = holds_.find(key); hold != holds_.end()) {
    return hold->second.state == HoldState::kCancelled
               ? Answer(v1::OUTCOME_REJECTED, v1::REJECT_REASON_REJECTED_AFTER_CANCEL)
               : Answer(v1::OUTCOME_DUPLICATE);
  }
  Account& from = accounts_[debit];
  if (from.available < amount)
    return Answer(v1::OUTCOME_REJECTED, v1::REJECT_REASON_INSUFFICIENT_FUNDS);
  from.available -= amount;
  from.held += amount;
  accounts_[credit].incoming += amount;
  holds_[key] = Hold{HoldState::kHeld, debit, credit, amount};
  return Answer(v1::OUTCOME_APPLIED);
}

v1::BranchResponse SimLedger::Confirm(const std::string& key) {
  auto found = holds_.find(key);
  if (found == holds_.end()) {
    return Answer(v1::OUTCOME_REJECTED, cancelled_untried_.count(key) > 0
                                            ? v1::REJECT_REASON_BRANCH_CANCELLED
                                            : v1::REJECT_REASON_BRANCH_NOT_TRIED);
  }
  Hold& hold = found->second;
  if (hold.state == HoldState::kConfirmed) return Answer(v1::OUTCOME_DUPLICATE);
  if (hold.state == HoldState::kCancelled)
    return Answer(v1::OUTCOME_REJECTED, v1::REJECT_REASON_BRANCH_CANCELLED);
  accounts_[hold.debit].held -= hold.amount;
  accounts_[hold.credit].incoming -= hold.amount;
  accounts_[hold.credit].available += hold.amount;
  hold.state = HoldState::kConfirmed;
  return Answer(v1::OUTCOME_APPLIED);
}

v1::BranchResponse SimLedger::Cancel(const std::string& key) {
  auto found = holds_.find(key);
  if (found == holds_.end()) {
    if (!forgets_barrier_) cancelled_untried_.insert(key);
    return Answer(v1::OUTCOME_NULL_COMPENSATION);
  }
  Hold& hold = found->second;
  if (hold.state == HoldState::kCancelled) return Answer(v1::OUTCOME_DUPLICATE);
  if (hold.state == HoldState::kConfirmed) {
    if (broken_.empty()) broken_ = absl::StrCat("a Cancel reached the confirmed hold ", key);
    return Answer(v1::OUTCOME_REJECTED, v1::REJECT_REASON_UNSPECIFIED);
  }
  accounts_[hold.debit].held -= hold.amount;
  accounts_[hold.debit].available += hold.amount;
  accounts_[hold.credit].incoming -= hold.amount;
  hold.state = HoldState::kCancelled;
  return Answer(v1::OUTCOME_APPLIED);
}

const HoldState* SimLedger::HoldOf(const std::string& key) const {
  auto found = holds_.find(key);
  return found == holds_.end() ? nullptr : &found->second.state;
}

bool SimLedger::AnyHeld() const {
  for (const auto& [key, hold] : holds_) {
    if (hold.state == HoldState::kHeld) return true;
  }
  return false;
}

std::string SimLedger::CheckInvariants() const {
  if (!broken_.empty()) return broken_;
  int64_t total = 0;
  std::map<std::string, int64_t> incoming_held;
  for (const auto& [key, hold] : holds_) {
    if (hold.state == HoldState::kHeld) incoming_held[hold.credit] += hold.amount;
  }
  for (const auto& [name, account] : accounts_) {
    if (account.available < 0 || account.held < 0 || account.incoming < 0)
      return absl::StrCat("invariant 2: account ", name, " went negative");
    if (account.incoming != incoming_held[name])
      return absl::StrCat("invariant 1: ", name, " has incoming ", account.incoming,
                          " but its open credit holds are ", incoming_held[name]);
    total += account.available + account.held;
  }
  if (total != deposits_)
    return absl::StrCat("invariant 1: the ledger holds ", total, " but ", deposits_,
                        " was deposited");
  return "";
}

}  // namespace fxmesh::simulation
