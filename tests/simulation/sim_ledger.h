// A ledger for the saga simulation: accounts with available, held and incoming balances, one hold
// per (saga, branch) and the barrier of ARCHITECTURE.md §3, in memory. Answers are the business
// outcomes the real ledgers give; CheckInvariants says whether invariants 1-3 hold.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "fxmesh/v1/ledger.pb.h"

namespace fxmesh::simulation {

enum class HoldState { kHeld, kConfirmed, kCancelled };

class SimLedger {
 public:
  explicit SimLedger(bool forgets_barrier = false) : forgets_barrier_(forgets_barrier) {}

  void Deposit(const std::string& account, int64_t amount);

  // `key` names the branch ("saga/branch").
  v1::BranchResponse Try(const std::string& key, const std::string& debit,
                         const std::string& credit, int64_t amount);
  v1::BranchResponse Confirm(const std::string& key);
  v1::BranchResponse Cancel(const std::string& key);

  // The hold of `key`, if a Try made one.
  const HoldState* HoldOf(const std::string& key) const;
  bool AnyHeld() const;
  // "" when invariants 1-3 hold; otherwise what broke. A Cancel that reached a confirmed hold (the
  // saga changed its decision) is reported here too.
  std::string CheckInvariants() const;

 private:
  struct Account {
    int64_t available = 0;
    int64_t held = 0;
    int64_t incoming = 0;
  };
  struct Hold {
    HoldState state = HoldState::kHeld;
    std::string debit, credit;
    int64_t amount = 0;
  };
  const bool forgets_barrier_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Hold> holds_;
  std::set<std::string> cancelled_untried_;  // The barrier a null compensation leaves.
  int64_t deposits_ = 0;
  std::string broken_;
};

}  // namespace fxmesh::simulation
