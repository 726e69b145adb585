// A participant client between the relay and another client that can hold the answers to started
// calls back without keeping a thread for them, and that counts the calls made through the
// blocking interface. A relay whose calls all wait on no thread makes none of those.
#pragma once

#include <functional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/participant_client.h"

namespace fxmesh::relay {

class HeldAnswersClient : public ParticipantClient {
 public:
  explicit HeldAnswersClient(ParticipantClient& inner) : inner_(inner) {}

  // While holding, started calls are kept (not sent); when the hold ends they are sent to the inner
  // client's asynchronous calls, which answer them.
  void Hold(bool hold);
  // Started calls kept, not yet sent.
  int held() const;
  int blocking_calls() const;

  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request,
                                         absl::Time deadline) override;
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                             absl::Time deadline) override;
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request,
                                            absl::Time deadline) override;
  void StartTry(const v1::TryRequest& request, absl::Time deadline, Done done) override;
  void StartConfirm(const v1::BranchRequest& request, absl::Time deadline, Done done) override;
  void StartCancel(const v1::BranchRequest& request, absl::Time deadline, Done done) override;

 private:
  // Sends `send` now, or keeps it until the hold ends.
  void SendOrKeep(std::function<void()> send);

  ParticipantClient& inner_;
  mutable absl::Mutex mu_;
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::function<void()>> kept_ ABSL_GUARDED_BY(mu_);
  int blocking_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fxmesh::relay
