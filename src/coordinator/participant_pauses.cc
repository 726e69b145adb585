#include "coordinator/participant_pauses.h"

#include <vector>

#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {

absl::Status ParticipantPauses::Refresh() {
  ASSIGN_OR_RETURN(std::vector<v1::Participant> paused, store_.ListPausedParticipants());
  absl::MutexLock lock(&mu_);
  paused_.clear();
  for (v1::Participant& participant : paused)
    paused_[participant.participant()] = std::move(participant);
  return absl::OkStatus();
}

std::map<std::string, v1::Participant> ParticipantPauses::Paused() const {
  absl::MutexLock lock(&mu_);
  return paused_;
}

std::set<std::string, std::less<>> ParticipantPauses::Names() const {
  std::set<std::string, std::less<>> names;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, participant] : paused_) names.insert(name);
  return names;
}

std::string ParticipantPauses::FirstPausedIn(const v1::Saga& saga) const {
  absl::MutexLock lock(&mu_);
  for (const v1::Branch& branch : saga.branches()) {
    if (paused_.count(branch.participant()) > 0) return branch.participant();
  }
  return "";
}

void ParticipantPauses::Annotate(v1::Saga& saga, absl::Time now, absl::Duration stuck_after) const {
  const bool active = !IsTerminal(saga.state());
  saga.set_stuck(active && now - ToTime(saga.created_at()) > stuck_after);
  saga.set_waiting_on_paused_participant(active && !FirstPausedIn(saga).empty());
}

}  // namespace fxmesh::coordinator
