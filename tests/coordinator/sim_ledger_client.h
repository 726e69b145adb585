// A participant in process: the simulation's ledger (tests/simulation/sim_ledger.h, accounts,
// holds and the TCC barrier in memory) behind the ParticipantClient seam, so the coordinator's
// parts run against a ledger with real business outcomes and no socket or database. While down,
// every call fails UNAVAILABLE before reaching the ledger, as a ledger that cannot be reached.
//
// Thread-safe.
#pragma once

#include <optional>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/participant_client.h"
#include "tests/simulation/sim_ledger.h"

namespace fxmesh::coordinator {

class SimLedgerClient final : public ParticipantClient {
 public:
  void Deposit(const std::string& account, int64_t amount) {
    absl::MutexLock lock(&mu_);
    ledger_.Deposit(account, amount);
  }
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // From now on, drawn from `seed`: a call is lost before the ledger sees it (UNAVAILABLE) with
  // `unreachable_percent`, or its reply after the ledger applied it (DEADLINE_EXCEEDED) with
  // `lost_reply_percent`. Zeros stop the faults.
  void SetFaults(uint64_t seed, int unreachable_percent, int lost_reply_percent) {
    absl::MutexLock lock(&mu_);
    random_.seed(seed);
    unreachable_percent_ = unreachable_percent;
    lost_reply_percent_ = lost_reply_percent;
  }
  // The hold of a saga's branch, if a Try made one.
  std::optional<simulation::HoldState> HoldOf(const std::string& saga_id,
                                              const std::string& branch) {
    absl::MutexLock lock(&mu_);
    const simulation::HoldState* hold = ledger_.HoldOf(absl::StrCat(saga_id, "/", branch));
    if (hold == nullptr) return std::nullopt;
    return *hold;
  }
  // "" while the ledger's invariants hold (money conserved, never negative, a hold moves once).
  std::string CheckInvariants() {
    absl::MutexLock lock(&mu_);
    return ledger_.CheckInvariants();
  }
  int calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request, absl::Time) override {
    absl::MutexLock lock(&mu_);
    return Faulted([&] {
      return ledger_.Try(Key(request.branch()), request.debit_account_id(),
                         request.credit_account_id(), request.amount().amount_minor());
    });
  }
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                             absl::Time) override {
    absl::MutexLock lock(&mu_);
    return Faulted([&] { return ledger_.Confirm(Key(request.branch())); });
  }
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request, absl::Time) override {
    absl::MutexLock lock(&mu_);
    return Faulted([&] { return ledger_.Cancel(Key(request.branch())); });
  }

 private:
  template <typename Apply>
  absl::StatusOr<v1::BranchResponse> Faulted(Apply apply) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_;
    if (down_ || Draw(unreachable_percent_)) return absl::UnavailableError("the ledger is down");
    v1::BranchResponse answer = apply();
    if (Draw(lost_reply_percent_))
      return absl::DeadlineExceededError("the reply was lost after the ledger applied the call");
    return answer;
  }
  bool Draw(int percent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return percent > 0 && static_cast<int>(random_() % 100) < percent;
  }
  static std::string Key(const v1::BranchRef& branch) {
    return absl::StrCat(branch.saga_id(), "/", branch.branch());
  }

  absl::Mutex mu_;
  simulation::SimLedger ledger_ ABSL_GUARDED_BY(mu_);
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
  int unreachable_percent_ ABSL_GUARDED_BY(mu_) = 0;
  int lost_reply_percent_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fxmesh::coordinator
