#include "tests/chaos/nemesis.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"

namespace fxmesh::chaos {
namespace {

constexpr absl::Duration kControlCallTimeout = absl::Seconds(5);
// How often, between faults, the nemesis restarts supervised services that failed to start.
constexpr absl::Duration kSupervisePollInterval = absl::Milliseconds(250);

std::vector<int> Brokers(const std::string& target, int brokers) {
  if (target != "all") return {std::stoi(target)};
  std::vector<int> all;
  for (int broker = 1; broker <= brokers; ++broker) all.push_back(broker);
  return all;
}

}  // namespace

Nemesis::Nemesis(ChaosMesh& mesh, FaultPlan plan)
    : mesh_(mesh),
      plan_(std::move(plan)),
      supervised_restarts_(plan_.shape.backend == Backend::kPostgres) {}

void Nemesis::Supervise() {
  if (!supervised_restarts_) return;
  for (const std::string& name : mesh_.service_names()) {
    // A failed start is seen again at the next poll; the heal reports what is still down.
    (void)mesh_.service(name).Supervise();
  }
}

Nemesis::~Nemesis() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void Nemesis::Start() {
  start_ = absl::Now();
  thread_ = std::thread([this] { Run(); });
}

void Nemesis::Run() {
  std::vector<Event> events;
  for (size_t i = 0; i < plan_.faults.size(); ++i) {
    const Fault& fault = plan_.faults[i];
    events.push_back({fault.at, i, true});
    if (fault.duration > absl::ZeroDuration())
      events.push_back({fault.at + fault.duration, i, false});
  }
  // Ends before beginnings at the same instant, so a resource is free before it is taken again.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && !a.begin && b.begin);
  });
  std::vector<int> record_of(plan_.faults.size(), -1);
  for (const Event& event : events) {
    // Waits for the event, acting meanwhile as the supervisor of services that failed to start.
    while (absl::Now() < start_ + event.at) {
      const absl::Time wake = std::min(start_ + event.at, absl::Now() + kSupervisePollInterval);
      if (stop_.WaitForNotificationWithDeadline(wake)) return;
      Supervise();
    }
    if (stop_.HasBeenNotified()) return;
    const Fault& fault = plan_.faults[event.fault];
    if (!event.begin && record_of[event.fault] < 0) continue;  // never began
    const std::string error = Apply(fault, event.begin);
    const absl::Duration now = absl::Now() - start_;
    absl::MutexLock lock(&mu_);
    if (event.begin) {
      record_of[event.fault] = static_cast<int>(applied_.size());
      applied_.push_back({fault, now, now, error});
    } else {
      AppliedFault& record = applied_[record_of[event.fault]];
      record.ended = now;
      if (record.error.empty()) record.error = error;
    }
  }
}

std::string Nemesis::Apply(const Fault& fault, bool begin) {
  absl::Status status;
  switch (fault.kind) {
    case FaultKind::kKill: {
      Service& service = mesh_.service(fault.target);
      if (begin) {
        service.Kill();
      } else if (supervised_restarts_) {
        // The database may be away now: the service is started without waiting for it to
        // serve, so the plan's clock (which ends that outage) keeps running.
        status = service.Spawn();
      } else {
        status = service.Start();
      }
      break;
    }
    case FaultKind::kPause: {
      Service& service = mesh_.service(fault.target);
      begin ? service.Pause() : service.Resume();
      break;
    }
    case FaultKind::kProxyLatency:
      mesh_.proxy(fault.target)
          .SetLatency(begin ? absl::Milliseconds(fault.value) : absl::ZeroDuration());
      break;
    case FaultKind::kProxyRefuse:
      mesh_.proxy(fault.target).SetRefuse(begin);
      if (begin) mesh_.proxy(fault.target).ResetAll();
      break;
    case FaultKind::kProxyBlackhole:
      mesh_.proxy(fault.target).SetBlackhole(begin);
      break;
    case FaultKind::kProxyReset:
      mesh_.proxy(fault.target).ResetAll();
      break;
    case FaultKind::kProxyDropReplies:
      mesh_.proxy(fault.target).SetDropReplies(begin);
      break;
    case FaultKind::kBrokerDown:
      for (int broker : Brokers(fault.target, plan_.shape.brokers)) {
        absl::Status set = mesh_.SetBrokerUp(broker, !begin);
        if (status.ok()) status = set;
      }
      break;
    case FaultKind::kBrokerSlow:
      for (int broker : Brokers(fault.target, plan_.shape.brokers)) {
        absl::Status set = mesh_.SetBrokerLatency(broker, begin ? fault.value : 0);
        if (status.ok()) status = set;
      }
      break;
    case FaultKind::kKafkaErrors: {
      v1::FailRequestsRequest request;
      request.set_api_key(fault.value);
      request.set_error_code(fault.error);
      request.set_count(fault.count);
      v1::KafkaCluster cluster;
      status = FromGrpcStatus(mesh_.kafka_control().FailRequests(
          ContextWithin(kControlCallTimeout).get(), request, &cluster));
      break;
    }
    case FaultKind::kPostgresKill:
      status = begin ? mesh_.postgres()->Kill() : mesh_.postgres()->Restart();
      break;
    case FaultKind::kPostgresPause:
      status = begin ? mesh_.postgres()->Pause() : mesh_.postgres()->Resume();
      break;
    case FaultKind::kClockSkew:
      status = mesh_.SetClockSkew(fault.target, begin ? fault.value : 0, !supervised_restarts_);
      break;
  }
  return status.ok() ? "" : std::string(status.message());
}

absl::Status Nemesis::Heal() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  const absl::Status healed = mesh_.HealAll();
  const absl::Duration now = absl::Now() - start_;
  absl::MutexLock lock(&mu_);
  // A fault still on when the plan stopped ends now.
  for (AppliedFault& record : applied_) {
    if (record.fault.duration > absl::ZeroDuration() && record.ended == record.began) {
      record.ended = now;
    }
  }
  return healed;
}

std::vector<AppliedFault> Nemesis::applied() const {
  absl::MutexLock lock(&mu_);
  return applied_;
}

}  // namespace fxmesh::chaos
