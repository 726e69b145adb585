#include "coordinator/written_sagas.h"

namespace fxmesh::coordinator {

void WrittenSagas::Remember(const v1::Saga& saga) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = sagas_.try_emplace(saga.saga_id(), saga);
  if (!inserted) {
    if (it->second.revision() < saga.revision()) it->second = saga;
    return;
  }
  oldest_first_.push_back(saga.saga_id());
  while (sagas_.size() > kept_max_) {
    sagas_.erase(oldest_first_.front());
    oldest_first_.pop_front();
  }
}

std::optional<v1::Saga> WrittenSagas::Find(absl::string_view saga_id) const {
  absl::MutexLock lock(&mu_);
  auto it = sagas_.find(saga_id);
  if (it == sagas_.end()) return std::nullopt;
  return it->second;
}

size_t WrittenSagas::size() const {
  absl::MutexLock lock(&mu_);
  return sagas_.size();
}

}  // namespace fxmesh::coordinator
