#include "tests/chaos/report.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace fxmesh::chaos {
namespace {

std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(duration));
}

}  // namespace

std::vector<Violation> RunReport::AllViolations() const {
  std::vector<Violation> all = findings.violations;
  if (!quiescence.reached) {
    all.push_back({"8. quiet within the bound", "",
                   absl::StrCat("after ", Seconds(quiescence.took), ": ", quiescence.active_sagas,
                                " sagas active, ", quiescence.held_holds, " holds HELD, lag ",
                                quiescence.relay_lag, " (relay) ", quiescence.coordinator_lag,
                                " (coordinator)")});
  }
  for (const std::string& crash : crashes)
    all.push_back({"services only stop when killed", "", crash});
  if (!heal_error.empty()) all.push_back({"the mesh heals", "", heal_error});
  return all;
}

std::string RunReport::Transport() const {
  return tls ? "gRPC over mutual TLS" : "gRPC in plaintext";
}

std::string RunReport::Format() const {
  std::string text;
  const absl::Duration run = plan.duration;
  absl::StrAppend(&text, "chaos run: seed ", plan.seed, ", backend ",
                  BackendName(plan.shape.backend), ", ", Transport(), ", commit ", commit,
                  ", plan ", plan.Digest(), ", ", Seconds(run), " of workload\n");

  // What the clients saw.
  int64_t sent = 0, resubmitted = 0, same_saga = 0, timeouts = 0, unavailable = 0, refused = 0;
  int64_t failovers = 0, failovers_same_saga = 0;
  std::map<std::string, int64_t> answers;
  std::map<std::string, std::string> first_saga_of_key;
  for (const ExchangeCall& call : history.exchanges) {
    ++sent;
    if (call.code == grpc::StatusCode::OK) {
      ++answers[v1::ExchangeStatus_Name(call.answer.status()).substr(16)];
      auto [saga, fresh] =
          first_saga_of_key.emplace(call.request.idempotency_key(), call.answer.saga_id());
      if (call.resubmission && !fresh && saga->second == call.answer.saga_id()) ++same_saga;
      if (call.failover && !fresh && saga->second == call.answer.saga_id()) ++failovers_same_saga;
    } else if (call.code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++timeouts;
    } else if (call.code == grpc::StatusCode::UNAVAILABLE) {
      ++unavailable;
    } else {
      ++refused;
    }
    if (call.resubmission) ++resubmitted;
    if (call.failover) ++failovers;
  }
  absl::StrAppend(&text, "  sagas: ", findings.sagas, " started, ", findings.completed,
                  " completed, ", findings.cancelled, " cancelled, ", findings.non_terminal,
                  " not finished, ", findings.parked, " parked by ", findings.dead_letters,
                  " dead letters (", quiescence.dead_letters_replayed, " replayed)\n");
  absl::StrAppend(&text, "  client calls: ", sent, " exchanges sent;");
  for (const auto& [status, count] : answers) absl::StrAppend(&text, " ", count, " ", status, ";");
  absl::StrAppend(&text, " ", timeouts, " timed out; ", unavailable, " unavailable; ", refused,
                  " refused\n");
  absl::StrAppend(&text, "  duplicates: ", resubmitted, " resubmissions, ", same_saga,
                  " answered with the key's earlier saga\n");
  if (plan.shape.backend == Backend::kPostgres) {
    absl::StrAppend(&text, "  failovers: ", failovers,
                    " calls sent again to the other coordinator, ", failovers_same_saga,
                    " answered with the key's earlier saga\n");
  }
  absl::StrAppend(&text, "  reads: ", history.snapshots, " snapshots (", history.snapshots_failed,
                  " failed), ", history.quotes_failed, " quotes failed\n");
  absl::StrAppend(&text, "  throughput under faults: ",
                  absl::StrFormat("%.1f", findings.completed / absl::ToDoubleSeconds(run)),
                  " completed exchanges/s, ",
                  absl::StrFormat("%.1f", sent / absl::ToDoubleSeconds(run)), " calls/s\n");
  absl::StrAppend(&text, "  quiet after healing: ",
                  quiescence.reached ? Seconds(quiescence.took) : "NOT REACHED", " (bound ",
                  Seconds(quiescence_bound), ")\n");

  // What the nemesis did.
  struct KindTotals {
    int count = 0;
    absl::Duration total;
    int errors = 0;
  };
  std::map<std::string, KindTotals> kinds;
  for (const AppliedFault& fault : faults) {
    KindTotals& totals = kinds[FaultKindName(fault.fault.kind)];
    totals.count++;
    totals.total += fault.ended - fault.began;
    if (!fault.error.empty()) totals.errors++;
  }
  absl::StrAppend(&text, "  faults: ", faults.size(), " applied of ", plan.faults.size(),
                  " planned\n");
  for (const auto& [kind, totals] : kinds) {
    absl::StrAppend(&text, absl::StrFormat("    %-20s %3d, %6.1f s in all", kind, totals.count,
                                           absl::ToDoubleSeconds(totals.total)));
    if (totals.errors > 0) absl::StrAppend(&text, ", ", totals.errors, " could not be applied");
    absl::StrAppend(&text, "\n");
  }
  for (const AppliedFault& fault : faults) {
    if (!fault.error.empty()) {
      absl::StrAppend(&text, "    ", fault.fault.Describe(), ": ", fault.error, "\n");
    }
  }

  if (!failed_starts.empty()) {
    absl::StrAppend(&text, "  failed starts, started again: ", absl::StrJoin(failed_starts, ", "),
                    "\n");
  }

  // What the checker found.
  const std::vector<Violation> violations = AllViolations();
  std::map<std::string, std::pair<int, const Violation*>> by_invariant;
  for (const Violation& violation : violations) {
    auto& [count, first] = by_invariant[violation.invariant];
    if (count++ == 0) first = &violation;
  }
  if (violations.empty()) {
    absl::StrAppend(&text, "  invariants: all held\n");
  } else {
    absl::StrAppend(&text, "  VIOLATIONS: ", violations.size(), "\n");
    for (const auto& [invariant, found] : by_invariant) {
      absl::StrAppend(&text, "    ", invariant, ": ", found.first, ", first: saga ",
                      found.second->saga_id.empty() ? "-" : found.second->saga_id, ": ",
                      found.second->detail, "\n");
    }
    absl::StrAppend(&text, "  replay with: ", replay_command, "\n");
    absl::StrAppend(&text, "  logs, databases and history: ", run_dir, "\n");
  }
  return text;
}

std::string RunReport::Summary() const {
  const std::vector<Violation> violations = AllViolations();
  return absl::StrFormat(
      "seed %4d  plan %s  faults %3d  sagas %5d  completed %5d  cancelled %5d"
      "  parked %3d  quiet %6s  %s%s",
      plan.seed, plan.Digest(), faults.size(), findings.sagas, findings.completed,
      findings.cancelled, findings.parked, quiescence.reached ? Seconds(quiescence.took) : "never",
      violations.empty() ? "ok" : absl::StrCat(violations.size(), " VIOLATIONS"),
      tls ? "  (mTLS)" : "");
}

}  // namespace fxmesh::chaos
