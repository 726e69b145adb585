// The nemesis's fault plan: every fault of one chaos run, drawn from a seed. The same seed, run
// length and mesh shape give the same plan on every machine (the generator uses only the raw
// 64-bit output of std::mt19937_64, whose sequence the standard fixes), so a failing run is
// replayed with --seed. The plan is printed before the run starts, with a digest to compare.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fxmesh::chaos {

enum class FaultKind {
  kKill,              // SIGKILL a service; start it again (same port and data) when the fault ends
  kPause,             // SIGSTOP a service; SIGCONT when the fault ends
  kProxyLatency,      // a ledger's proxy delays every chunk by `value` ms each way
  kProxyRefuse,       // a ledger's proxy resets open connections and refuses new ones
  kProxyBlackhole,    // a ledger's proxy forwards nothing either way (bytes are held)
  kProxyReset,        // a ledger's proxy resets every open connection (instantaneous)
  kProxyDropReplies,  // requests reach the ledger; its replies are lost and the connection reset
  kBrokerDown,        // an embedded Kafka broker down (`target` is its id, or "all")
  kBrokerSlow,        // an embedded Kafka broker answers `value` ms late
  kKafkaErrors,       // the next `count` requests of Kafka API `value` fail with error `error`
  // PostgreSQL backend only:
  kPostgresKill,   // `pg_ctl stop -m immediate`; started again (crash recovery) when it ends
  kPostgresPause,  // SIGSTOP the postmaster and every backend; SIGCONT when the fault ends
  kClockSkew,      // a service restarted with its wall clock `value` ms off (libfaketime); and
                   // restarted with the true time when the fault ends
};

// How far a kClockSkew fault moves a clock, at most, either way: several seconds, as an NTP-less
// node drifts, and more than the leases' and quotes' margins are likely to absorb.
inline constexpr int64_t kClockSkewMsMax = 8'000;

// The name used in plans and reports, e.g. "proxy-latency".
std::string FaultKindName(FaultKind kind);
const std::vector<FaultKind>& AllFaultKinds();

struct Fault {
  FaultKind kind = FaultKind::kKill;
  // From the start of the workload.
  absl::Duration at;
  // Zero for an instantaneous fault (kProxyReset, kKafkaErrors).
  absl::Duration duration;
  // A service ("coordinator", "krw", "fx", "relay0", ...; with PostgreSQL "coordinator0",
  // "krw1", ...), a proxy ("krw", "fx", "postgres"), "postgres" itself, or a broker id ("1".."3",
  // "all").
  std::string target;
  int value = 0;
  int error = 0;
  int count = 0;

  // One line, e.g. "+12.300s kill coordinator for 2.100s".
  std::string Describe() const;
};

enum class Backend { kSqlite, kPostgres };
// "sqlite" or "postgres".
std::string BackendName(Backend backend);

// What the plan may aim at. With SQLite there is one coordinator and one process per ledger,
// named "coordinator", "krw" and "fx". With PostgreSQL the coordinator and each ledger run as
// kPostgresReplicas replicas ("coordinator0", "krw1", ...) over one database each.
struct MeshShape {
  int relays = 2;
  int brokers = 3;
  Backend backend = Backend::kSqlite;
};
inline constexpr int kPostgresReplicas = 2;

// The mesh's service processes the nemesis may kill or pause (Kafka apart), in start order after
// Kafka: the ledgers, the coordinators, the relays.
std::vector<std::string> LedgerServiceNames(const MeshShape& shape, const std::string& ledger);
std::vector<std::string> CoordinatorNames(const MeshShape& shape);

struct FaultPlan {
  uint64_t seed = 0;
  absl::Duration duration;
  MeshShape shape;
  std::vector<Fault> faults;  // ordered by `at`

  // Every fault, one per line, after a header line naming the seed and duration.
  std::string Describe() const;
  // A short hex digest of Describe(): two runs with equal digests ran the same plan.
  std::string Digest() const;
};

// Draws a plan for a workload of `duration`: a fault every few seconds, some overlapping, never
// two of the same kind on one target at once, and every fault over by `duration`. With PostgreSQL
// the plan draws the database's faults too, and never has both coordinator replicas down at once;
// a SQLite plan is the one it always was for its seed.
FaultPlan MakeFaultPlan(uint64_t seed, absl::Duration duration, const MeshShape& shape);

}  // namespace fxmesh::chaos
