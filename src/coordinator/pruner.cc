#include "coordinator/pruner.h"

#include <optional>

#include "common/log.h"

namespace fxmesh::coordinator {
namespace {

// The time before which a kind's rows may go, or none when the kind is kept forever.
std::optional<absl::Time> Cutoff(absl::Time now, absl::Duration retention) {
  if (retention == absl::InfiniteDuration()) return std::nullopt;
  return now - retention;
}

// Runs one kind's prune if it has a cutoff: counts what went, notes whether the batch was full,
// and logs a failure without stopping the other kinds.
template <typename Prune>
void PruneKind(const char* kind, std::optional<absl::Time> cutoff, int batch_max, Prune&& prune,
               PruneCounts& counts) {
  if (!cutoff) return;
  absl::StatusOr<int> deleted = prune(*cutoff, batch_max);
  if (!deleted.ok()) {
    LogWarning("cannot prune").With("kind", kind).With("error", deleted.status());
    return;
  }
  if (*deleted >= batch_max) counts.more = true;
}

}  // namespace

Pruner::Pruner(RetentionStore& store, const Clock& clock, RetentionOptions options,
               MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      options_(options),
      pruned_rows_(metrics.AddCounter("fxmesh_pruned_rows_total",
                                      "Rows deleted by retention, by kind.", {"kind"})),
      sagas_pruned_(pruned_rows_.With({"sagas"})),
      steps_pruned_(pruned_rows_.With({"saga_steps"})),
      resolutions_pruned_(pruned_rows_.With({"resolutions"})),
      quotes_pruned_(pruned_rows_.With({"quotes"})),
      outbox_pruned_(pruned_rows_.With({"outbox"})),
      dead_letters_pruned_(pruned_rows_.With({"dead_letters"})) {}

PruneCounts Pruner::PruneOnce() {
  const absl::Time now = clock_.Now();
  PruneCounts counts;
  PruneKind(
      "sagas", Cutoff(now, options_.terminal_sagas), options_.saga_batch_max,
      [&](absl::Time before, int limit) -> absl::StatusOr<int> {
        absl::StatusOr<PrunedSagas> pruned = store_.PruneTerminalSagas(before, limit);
        if (!pruned.ok()) return pruned.status();
        counts.sagas = pruned->sagas;
        counts.steps = pruned->steps;
        counts.resolutions = pruned->resolutions;
        return pruned->sagas;
      },
      counts);
  PruneKind(
      "quotes", Cutoff(now, options_.quotes), options_.batch_max,
      [&](absl::Time before, int limit) -> absl::StatusOr<int> {
        absl::StatusOr<int> pruned = store_.PruneQuotes(before, limit);
        if (pruned.ok()) counts.quotes = *pruned;
        return pruned;
      },
      counts);
  PruneKind(
      "outbox", Cutoff(now, options_.sent_outbox), options_.batch_max,
      [&](absl::Time before, int limit) -> absl::StatusOr<int> {
        absl::StatusOr<int> pruned = store_.PruneSentOutbox(before, limit);
        if (pruned.ok()) counts.outbox = *pruned;
        return pruned;
      },
      counts);
  PruneKind(
      "dead_letters", Cutoff(now, options_.replayed_dead_letters), options_.batch_max,
      [&](absl::Time before, int limit) -> absl::StatusOr<int> {
        absl::StatusOr<int> pruned = store_.PruneReplayedDeadLetters(before, limit);
        if (pruned.ok()) counts.dead_letters = *pruned;
        return pruned;
      },
      counts);
  sagas_pruned_.Increment(counts.sagas);
  steps_pruned_.Increment(counts.steps);
  resolutions_pruned_.Increment(counts.resolutions);
  quotes_pruned_.Increment(counts.quotes);
  outbox_pruned_.Increment(counts.outbox);
  dead_letters_pruned_.Increment(counts.dead_letters);
  if (counts.sagas + counts.quotes + counts.outbox + counts.dead_letters > 0) {
    LogDebug("pruned")
        .With("sagas", counts.sagas)
        .With("steps", counts.steps)
        .With("quotes", counts.quotes)
        .With("outbox", counts.outbox)
        .With("dead_letters", counts.dead_letters);
  }
  return counts;
}

}  // namespace fxmesh::coordinator
