// A ParticipantClient that passes calls to a real one but can inject the faults a network and a
// ledger produce: a call that never arrives (the ledger is down or slow: UNAVAILABLE or
// DEADLINE_EXCEEDED, nothing applied), and a reply lost after the ledger committed (applied, but
// the caller hears DEADLINE_EXCEEDED).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/participant_client.h"

namespace fxmesh::coordinator {

enum class CallKind { kTry, kConfirm, kCancel };

class FaultyParticipantClient final : public ParticipantClient {
 public:
  explicit FaultyParticipantClient(ParticipantClient& inner) : inner_(inner) {}

  // The next `count` calls of `kind` fail with `fault` before reaching the ledger.
  void FailNext(CallKind kind, int count,
                absl::Status fault = absl::DeadlineExceededError("injected timeout"));
  // The next `count` calls of `kind` reach the ledger, which applies them, but the reply is lost.
  void DropReplyNext(CallKind kind, int count);
  // The next call of `kind` waits, before reaching the ledger, until `release` is notified;
  // `reached` is notified when it starts waiting. Both must outlive that call.
  void HoldNext(CallKind kind, absl::Notification* reached, absl::Notification* release);
  // While down, every call fails with UNAVAILABLE before reaching the ledger.
  void SetDown(bool down) { down_ = down; }
  // Calls of `kind` that reached the ledger.
  int delivered(CallKind kind);
  // Calls of `kind` made, whether or not a fault stopped them.
  int attempts(CallKind kind);
  // Times a call for a branch started while another call for the same branch was in flight: two
  // drivers acting on one saga at once.
  int overlapping_calls() { return overlaps_.load(); }

  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request,
                                         absl::Time deadline) override;
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                             absl::Time deadline) override;
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request,
                                            absl::Time deadline) override;
  // Started calls run on a thread of their own (joined when the client is destroyed), so a held
  // call holds only itself, as a slow ledger would.
  void StartTry(const v1::TryRequest& request, absl::Time deadline, Done done) override;
  void StartConfirm(const v1::BranchRequest& request, absl::Time deadline, Done done) override;
  void StartCancel(const v1::BranchRequest& request, absl::Time deadline, Done done) override;
  ~FaultyParticipantClient() override;

 private:
  void OnThread(std::function<void()> work);
  template <typename Send>
  absl::StatusOr<v1::BranchResponse> Call(CallKind kind, const v1::BranchRef& branch, Send send);

  ParticipantClient& inner_;
  std::atomic<bool> down_{false};
  absl::Mutex mu_;
  std::map<CallKind, std::pair<int, absl::Status>> fail_ ABSL_GUARDED_BY(mu_);
  std::map<CallKind, int> drop_ ABSL_GUARDED_BY(mu_);
  std::map<CallKind, std::pair<absl::Notification*, absl::Notification*>> hold_
      ABSL_GUARDED_BY(mu_);
  std::map<CallKind, int> delivered_ ABSL_GUARDED_BY(mu_);
  std::map<CallKind, int> attempts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> in_flight_ ABSL_GUARDED_BY(mu_);  // By "saga/branch".
  std::atomic<int> overlaps_{0};
  absl::Mutex threads_mu_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> finished;
  };
  std::vector<Worker> threads_ ABSL_GUARDED_BY(threads_mu_);
};

}  // namespace fxmesh::coordinator
