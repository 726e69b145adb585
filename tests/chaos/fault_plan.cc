#include "tests/chaos/fault_plan.h"

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fxmesh::chaos {
namespace {

// The gap between two faults' starts, and how long each kind lasts. Faults start every ~2.3 s on
// average and last 0.3-6 s, so about a third of them overlap another.
constexpr int64_t kGapMsMin = 700, kGapMsMax = 4'000;
constexpr int64_t kFirstFaultMs = 2'000;
// The end of the run is kept quiet so the last fault has ended before the nemesis heals.
constexpr int64_t kQuietEndMs = 1'000;

// Kafka (API key, error code) pairs the nemesis injects: all retriable, as a real cluster's
// leader moves, timeouts and coordinator moves are. 0 Produce, 1 Fetch, 8 OffsetCommit,
// 12 Heartbeat; 6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT, 14 COORDINATOR_LOAD_IN_PROGRESS,
// 15 COORDINATOR_NOT_AVAILABLE, 16 NOT_COORDINATOR, 19 NOT_ENOUGH_REPLICAS.
constexpr int kKafkaErrors[][2] = {{0, 6},  {0, 7},  {0, 19}, {1, 6},
                                   {8, 14}, {8, 15}, {8, 16}, {12, 16}};

struct KindShape {
  FaultKind kind;
  int weight;
  int64_t duration_ms_min, duration_ms_max;  // both 0: instantaneous
};

constexpr KindShape kKinds[] = {
    {FaultKind::kKill, 3, 500, 4'000},
    {FaultKind::kPause, 2, 500, 4'000},
    {FaultKind::kProxyLatency, 2, 1'000, 6'000},
    {FaultKind::kProxyRefuse, 2, 500, 4'000},
    {FaultKind::kProxyBlackhole, 1, 500, 4'000},
    {FaultKind::kProxyReset, 2, 0, 0},
    {FaultKind::kProxyDropReplies, 2, 300, 2'000},
    {FaultKind::kBrokerDown, 1, 1'000, 6'000},
    {FaultKind::kBrokerSlow, 1, 1'000, 6'000},
    {FaultKind::kKafkaErrors, 2, 0, 0},
};
// Drawn beside kKinds only with the PostgreSQL backend, so a SQLite seed draws the plan it always
// drew. Weighted so that a one-minute plan almost always has each of them.
constexpr KindShape kPostgresKinds[] = {
    {FaultKind::kPostgresKill, 2, 500, 4'000},
    {FaultKind::kPostgresPause, 2, 500, 4'000},
    {FaultKind::kClockSkew, 2, 3'000, 10'000},
};
// How far a skewed clock is off, either way, at least (at most: kClockSkewMsMax).
constexpr int64_t kClockSkewMsMin = 2'000;
static_assert(kClockSkewMsMin < kClockSkewMsMax);

// Draws from the engine's raw output only, so the plan is the same with every standard library.
class Draw {
 public:
  explicit Draw(uint64_t seed) : engine_(seed) {}
  // Uniform in [low, high]; the modulo bias is far below anything a plan could show.
  int64_t Between(int64_t low, int64_t high) {
    return low + static_cast<int64_t>(engine_() % static_cast<uint64_t>(high - low + 1));
  }
  template <typename T>
  const T& OneOf(const std::vector<T>& items) {
    return items[Between(0, static_cast<int64_t>(items.size()) - 1)];
  }

 private:
  std::mt19937_64 engine_;
};

bool Instantaneous(FaultKind kind) {
  return kind == FaultKind::kProxyReset || kind == FaultKind::kKafkaErrors;
}

std::string Seconds(absl::Duration duration) {
  return absl::StrFormat("%.3fs", absl::ToDoubleSeconds(duration));
}

// What a fault occupies while it lasts: two faults on one resource never overlap. A service's
// kill and pause share one resource; each proxy mode of a ledger is its own.
std::vector<std::string> Resources(const Fault& fault, const MeshShape& shape) {
  switch (fault.kind) {
    case FaultKind::kKill:
    case FaultKind::kPause:
    case FaultKind::kClockSkew:
      // With replicas, one coordinator is always left to carry on.
      if (shape.backend == Backend::kPostgres && fault.target.rfind("coordinator", 0) == 0)
        return {absl::StrCat("process:", fault.target), "coordinators"};
      return {absl::StrCat("process:", fault.target)};
    case FaultKind::kPostgresKill:
    case FaultKind::kPostgresPause:
      return {"process:postgres"};
    case FaultKind::kBrokerDown:
    case FaultKind::kBrokerSlow: {
      const std::string prefix = absl::StrCat(FaultKindName(fault.kind), ":");
      if (fault.target != "all") return {prefix + fault.target};
      std::vector<std::string> all;
      for (int broker = 1; broker <= shape.brokers; ++broker)
        all.push_back(prefix + std::to_string(broker));
      return all;
    }
    default:
      return {absl::StrCat(FaultKindName(fault.kind), ":", fault.target)};
  }
}

}  // namespace

std::string FaultKindName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kPause:
      return "pause";
    case FaultKind::kProxyLatency:
      return "proxy-latency";
    case FaultKind::kProxyRefuse:
      return "proxy-refuse";
    case FaultKind::kProxyBlackhole:
      return "proxy-blackhole";
    case FaultKind::kProxyReset:
      return "proxy-reset";
    case FaultKind::kProxyDropReplies:
      return "proxy-drop-replies";
    case FaultKind::kBrokerDown:
      return "broker-down";
    case FaultKind::kBrokerSlow:
      return "broker-slow";
    case FaultKind::kKafkaErrors:
      return "kafka-errors";
    case FaultKind::kPostgresKill:
      return "pg-kill";
    case FaultKind::kPostgresPause:
      return "pg-pause";
    case FaultKind::kClockSkew:
      return "clock-skew";
  }
  return "unknown";
}

const std::vector<FaultKind>& AllFaultKinds() {
  static const std::vector<FaultKind> kAll = [] {
    std::vector<FaultKind> all;
    for (const KindShape& shape : kKinds) all.push_back(shape.kind);
    for (const KindShape& shape : kPostgresKinds) all.push_back(shape.kind);
    return all;
  }();
  return kAll;
}

std::string BackendName(Backend backend) {
  return backend == Backend::kPostgres ? "postgres" : "sqlite";
}

std::vector<std::string> LedgerServiceNames(const MeshShape& shape, const std::string& ledger) {
  if (shape.backend == Backend::kSqlite) return {ledger};
  std::vector<std::string> names;
  for (int replica = 0; replica < kPostgresReplicas; ++replica)
    names.push_back(absl::StrCat(ledger, replica));
  return names;
}

std::vector<std::string> CoordinatorNames(const MeshShape& shape) {
  if (shape.backend == Backend::kSqlite) return {"coordinator"};
  std::vector<std::string> names;
  for (int replica = 0; replica < kPostgresReplicas; ++replica)
    names.push_back(absl::StrCat("coordinator", replica));
  return names;
}

std::string Fault::Describe() const {
  std::string line = absl::StrCat("+", Seconds(at), " ", FaultKindName(kind), " ", target);
  switch (kind) {
    case FaultKind::kProxyLatency:
    case FaultKind::kBrokerSlow:
      absl::StrAppend(&line, " ", value, "ms");
      break;
    case FaultKind::kClockSkew:
      absl::StrAppend(&line, " ", value > 0 ? "+" : "", value, "ms");
      break;
    case FaultKind::kKafkaErrors:
      absl::StrAppend(&line, " api=", value, " error=", error, " count=", count);
      break;
    default:
      break;
  }
  if (duration > absl::ZeroDuration()) absl::StrAppend(&line, " for ", Seconds(duration));
  return line;
}

std::string FaultPlan::Describe() const {
  // A SQLite plan's header is what it always was, so its digest is too.
  const std::string backend =
      shape.backend == Backend::kSqlite
          ? ""
          : absl::StrCat(", postgres with ", kPostgresReplicas, " replicas of each service");
  std::string text = absl::StrCat("fault plan: seed ", seed, ", ", Seconds(duration), ", ",
                                  shape.relays, " relays, ", shape.brokers, " brokers", backend,
                                  ", ", faults.size(), " faults\n");
  for (const Fault& fault : faults) absl::StrAppend(&text, "  ", fault.Describe(), "\n");
  return text;
}

std::string FaultPlan::Digest() const {
  // FNV-1a: short, stable and dependency-free; this is an identity check, not security.
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : Describe()) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", hash);
}

FaultPlan MakeFaultPlan(uint64_t seed, absl::Duration duration, const MeshShape& shape) {
  FaultPlan plan;
  plan.seed = seed;
  plan.duration = duration;
  plan.shape = shape;
  Draw draw(seed);

  std::vector<std::string> services;
  for (const std::string ledger : {"krw", "fx"}) {
    for (const std::string& name : LedgerServiceNames(shape, ledger)) services.push_back(name);
  }
  for (const std::string& name : CoordinatorNames(shape)) services.push_back(name);
  for (int relay = 0; relay < shape.relays; ++relay)
    services.push_back(absl::StrCat("relay", relay));
  // The embedded Kafka keeps its log in memory, so it is paused but never killed: a real cluster
  // replicates, and losing every broker's log at once is not a fault fxmesh can be asked to mask.
  std::vector<std::string> pausable = services;
  pausable.push_back("kafka");
  // The proxies: one per ledger, and with PostgreSQL one in front of the database.
  std::vector<std::string> proxies = {"krw", "fx"};
  if (shape.backend == Backend::kPostgres) proxies.push_back("postgres");
  std::vector<KindShape> kinds(std::begin(kKinds), std::end(kKinds));
  if (shape.backend == Backend::kPostgres)
    kinds.insert(kinds.end(), std::begin(kPostgresKinds), std::end(kPostgresKinds));
  std::vector<std::string> brokers;
  for (int broker = 1; broker <= shape.brokers; ++broker) brokers.push_back(std::to_string(broker));
  int total_weight = 0;
  for (const KindShape& kind : kinds) total_weight += kind.weight;

  const int64_t end_ms = absl::ToInt64Milliseconds(duration) - kQuietEndMs;
  std::map<std::string, int64_t> busy_until_ms;
  for (int64_t at_ms = kFirstFaultMs; at_ms < end_ms; at_ms += draw.Between(kGapMsMin, kGapMsMax)) {
    int64_t pick = draw.Between(0, total_weight - 1);
    const KindShape* kind = kinds.data();
    while (pick >= kind->weight) pick -= (kind++)->weight;

    Fault fault;
    fault.kind = kind->kind;
    fault.at = absl::Milliseconds(at_ms);
    int64_t duration_ms =
        kind->duration_ms_max == 0 ? 0 : draw.Between(kind->duration_ms_min, kind->duration_ms_max);
    duration_ms = std::min(duration_ms, end_ms - at_ms);
    fault.duration = absl::Milliseconds(duration_ms);
    switch (fault.kind) {
      case FaultKind::kKill:
        fault.target = draw.OneOf(services);
        break;
      case FaultKind::kPause:
        fault.target = draw.OneOf(pausable);
        break;
      case FaultKind::kProxyLatency:
        fault.target = draw.OneOf(proxies);
        fault.value = static_cast<int>(draw.Between(20, 600));
        break;
      case FaultKind::kProxyRefuse:
      case FaultKind::kProxyBlackhole:
      case FaultKind::kProxyReset:
      case FaultKind::kProxyDropReplies:
        fault.target = draw.OneOf(proxies);
        break;
      case FaultKind::kPostgresKill:
      case FaultKind::kPostgresPause:
        fault.target = "postgres";
        break;
      case FaultKind::kClockSkew: {
        fault.target = draw.OneOf(services);
        const int64_t skew_ms = draw.Between(kClockSkewMsMin, kClockSkewMsMax);
        fault.value = static_cast<int>(draw.Between(0, 1) == 0 ? skew_ms : -skew_ms);
        break;
      }
      case FaultKind::kBrokerDown:
        // One broker in four draws is every broker at once: Kafka entirely away.
        fault.target = draw.Between(0, 3) == 0 ? "all" : draw.OneOf(brokers);
        break;
      case FaultKind::kBrokerSlow:
        fault.target = draw.OneOf(brokers);
        fault.value = static_cast<int>(draw.Between(50, 1'000));
        break;
      case FaultKind::kKafkaErrors: {
        const auto& pair = kKafkaErrors[draw.Between(0, std::size(kKafkaErrors) - 1)];
        fault.target = "all";
        fault.value = pair[0];
        fault.error = pair[1];
        fault.count = static_cast<int>(draw.Between(1, 5));
        break;
      }
    }
    if (!Instantaneous(fault.kind) && duration_ms <= 0) continue;

    // A fault whose target is still busy is dropped, not moved: the draw sequence stays the
    // same, so the rest of the plan does not depend on this one.
    const std::vector<std::string> resources = Resources(fault, shape);
    bool free = true;
    for (const std::string& resource : resources) free = free && busy_until_ms[resource] <= at_ms;
    if (!free) continue;
    for (const std::string& resource : resources) busy_until_ms[resource] = at_ms + duration_ms;
    plan.faults.push_back(fault);
  }
  return plan;
}

}  // namespace fxmesh::chaos
