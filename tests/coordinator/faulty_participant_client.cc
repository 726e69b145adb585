#include "tests/coordinator/faulty_participant_client.h"

namespace fxmesh::coordinator {

void FaultyParticipantClient::FailNext(CallKind kind, int count, absl::Status fault) {
  absl::MutexLock lock(&mu_);
  fail_[kind] = {count, std::move(fault)};
}

void FaultyParticipantClient::DropReplyNext(CallKind kind, int count) {
  absl::MutexLock lock(&mu_);
  drop_[kind] = count;
}

void FaultyParticipantClient::HoldNext(CallKind kind, absl::Notification* reached,
                                       absl::Notification* release) {
  absl::MutexLock lock(&mu_);
  hold_[kind] = {reached, release};
}

int FaultyParticipantClient::delivered(CallKind kind) {
  absl::MutexLock lock(&mu_);
  return delivered_[kind];
}

int FaultyParticipantClient::attempts(CallKind kind) {
  absl::MutexLock lock(&mu_);
  return attempts_[kind];
}

template <typename Send>
absl::StatusOr<v1::BranchResponse> FaultyParticipantClient::Call(CallKind kind,
                                                                 const v1::BranchRef& branch,
                                                                 Send send) {
  {
    absl::MutexLock lock(&mu_);
    ++attempts_[kind];
  }
  if (down_) return absl::UnavailableError("injected: the ledger is down");
  const std::string key = branch.saga_id() + "/" + branch.branch();
  std::pair<absl::Notification*, absl::Notification*> hold = {nullptr, nullptr};
  {
    absl::MutexLock lock(&mu_);
    std::swap(hold, hold_[kind]);
  }
  if (hold.first != nullptr) {
    hold.first->Notify();
    hold.second->WaitForNotification();
  }
  bool drop = false;
  {
    absl::MutexLock lock(&mu_);
    auto& [count, fault] = fail_[kind];
    if (count > 0) {
      --count;
      return fault;
    }
    if (drop_[kind] > 0) {
      --drop_[kind];
      drop = true;
    }
    ++delivered_[kind];
    if (in_flight_[key]++ > 0) ++overlaps_;
  }
  absl::StatusOr<v1::BranchResponse> response = send();
  {
    absl::MutexLock lock(&mu_);
    --in_flight_[key];
  }
  if (drop)
    return absl::DeadlineExceededError("injected: the reply was lost after the ledger answered");
  return response;
}

absl::StatusOr<v1::BranchResponse> FaultyParticipantClient::Try(const v1::TryRequest& request,
                                                                absl::Time deadline) {
  return Call(CallKind::kTry, request.branch(), [&] { return inner_.Try(request, deadline); });
}

absl::StatusOr<v1::BranchResponse> FaultyParticipantClient::Confirm(
    const v1::BranchRequest& request, absl::Time deadline) {
  return Call(CallKind::kConfirm, request.branch(),
              [&] { return inner_.Confirm(request, deadline); });
}

absl::StatusOr<v1::BranchResponse> FaultyParticipantClient::Cancel(const v1::BranchRequest& request,
                                                                   absl::Time deadline) {
  return Call(CallKind::kCancel, request.branch(),
              [&] { return inner_.Cancel(request, deadline); });
}

void FaultyParticipantClient::StartTry(const v1::TryRequest& request, absl::Time deadline,
                                       Done done) {
  OnThread([this, request, deadline, done = std::move(done)] { done(Try(request, deadline)); });
}

void FaultyParticipantClient::StartConfirm(const v1::BranchRequest& request, absl::Time deadline,
                                           Done done) {
  OnThread([this, request, deadline, done = std::move(done)] { done(Confirm(request, deadline)); });
}

void FaultyParticipantClient::StartCancel(const v1::BranchRequest& request, absl::Time deadline,
                                          Done done) {
  OnThread([this, request, deadline, done = std::move(done)] { done(Cancel(request, deadline)); });
}

void FaultyParticipantClient::OnThread(std::function<void()> work) {
  absl::MutexLock lock(&threads_mu_);
  // Joins the threads whose call has ended, so a long test does not keep thousands.
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (!it->finished->load()) {
      ++it;
      continue;
    }
    it->thread.join();
    it = threads_.erase(it);
  }
  auto finished = std::make_shared<std::atomic<bool>>(false);
  threads_.push_back({std::thread([work = std::move(work), finished] {
                        work();
                        finished->store(true);
                      }),
                      finished});
}

FaultyParticipantClient::~FaultyParticipantClient() {
  absl::MutexLock lock(&threads_mu_);
  for (Worker& worker : threads_) worker.thread.join();
}

}  // namespace fxmesh::coordinator
