#include "tests/relay/held_answers_client.h"

#include <utility>

namespace fxmesh::relay {

void HeldAnswersClient::Hold(bool hold) {
  std::vector<std::function<void()>> release;
  {
    absl::MutexLock lock(&mu_);
    holding_ = hold;
    if (!hold) release.swap(kept_);
  }
  for (std::function<void()>& send : release) send();
}

int HeldAnswersClient::held() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(kept_.size());
}

int HeldAnswersClient::blocking_calls() const {
  absl::MutexLock lock(&mu_);
  return blocking_calls_;
}

absl::StatusOr<v1::BranchResponse> HeldAnswersClient::Try(const v1::TryRequest& request,
                                                          absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    ++blocking_calls_;
  }
  return inner_.Try(request, deadline);
}

absl::StatusOr<v1::BranchResponse> HeldAnswersClient::Confirm(const v1::BranchRequest& request,
                                                              absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    ++blocking_calls_;
  }
  return inner_.Confirm(request, deadline);
}

absl::StatusOr<v1::BranchResponse> HeldAnswersClient::Cancel(const v1::BranchRequest& request,
                                                             absl::Time deadline) {
  {
    absl::MutexLock lock(&mu_);
    ++blocking_calls_;
  }
  return inner_.Cancel(request, deadline);
}

void HeldAnswersClient::StartTry(const v1::TryRequest& request, absl::Time deadline, Done done) {
  SendOrKeep([this, request, deadline, done = std::move(done)]() mutable {
    inner_.StartTry(request, deadline, std::move(done));
  });
}

void HeldAnswersClient::StartConfirm(const v1::BranchRequest& request, absl::Time deadline,
                                     Done done) {
  SendOrKeep([this, request, deadline, done = std::move(done)]() mutable {
    inner_.StartConfirm(request, deadline, std::move(done));
  });
}

void HeldAnswersClient::StartCancel(const v1::BranchRequest& request, absl::Time deadline,
                                    Done done) {
  SendOrKeep([this, request, deadline, done = std::move(done)]() mutable {
    inner_.StartCancel(request, deadline, std::move(done));
  });
}

void HeldAnswersClient::SendOrKeep(std::function<void()> send) {
  {
    absl::MutexLock lock(&mu_);
    if (holding_) {
      kept_.push_back(std::move(send));
      return;
    }
  }
  send();
}

}  // namespace fxmesh::relay
