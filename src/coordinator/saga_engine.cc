#include "coordinator/saga_engine.h"

#include <vector>

namespace fxmesh::coordinator {
namespace {

std::vector<std::string> NamesOf(const std::map<std::string, ParticipantClient*>& participants) {
  std::vector<std::string> names;
  for (const auto& [name, client] : participants) names.push_back(name);
  return names;
}

}  // namespace

SagaEngine::SagaEngine(SagaStore& store, const Clock& clock, RateTable rates,
                       std::map<std::string, ParticipantClient*> participants,
                       EngineOptions options, MetricsRegistry& metrics)
    : options_(std::move(options)),
      rules_{options_.ledger_call_timeout,
             WordTimings{options_.relay_first_word_after, options_.relay_word_after_due,
                         options_.redispatch_after}},
      metrics_(metrics),
      pauses_(store),
      leases_(store, clock, options_.owner_id),
      writer_(store, clock, leases_, options_, metrics_, finished_, written_,
              [this] {
                if (commands_queued_) commands_queued_();
              }),
      driver_(store, clock, participants, options_, rules_, metrics_, pauses_, leases_, writer_),
      intake_(store, clock, std::move(rates), options_, pauses_, driver_, finished_,
              [this] { Wake(); }),
      settlement_(store, clock, rules_.relay, leases_, writer_),
      operators_(store, clock, options_, NamesOf(participants), pauses_, leases_, writer_, metrics_,
                 [this] { Wake(); }),
      dead_letters_(store, clock, rules_.relay, leases_, writer_) {}

}  // namespace fxmesh::coordinator
