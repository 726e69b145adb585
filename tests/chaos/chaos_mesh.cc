#include "tests/chaos/chaos_mesh.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/faketime.h"
#include "tests/support/spawn.h"

namespace fxmesh::chaos {
namespace {

// A service that is not SERVING this long after its start has failed to start.
constexpr absl::Duration kStartTimeout = absl::Seconds(30);
constexpr absl::Duration kStopGrace = absl::Seconds(15);
constexpr absl::Duration kHealthCallTimeout = absl::Milliseconds(500);
constexpr absl::Duration kControlCallTimeout = absl::Seconds(5);
constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
// A supervised service that exited before serving is started again this long after its last
// start (Kubernetes backs off from 10 s; a run is short, so the harness is quicker).
constexpr absl::Duration kRespawnBackoff = absl::Milliseconds(500);
// How much of a service's log an error shows.
constexpr size_t kLogTailBytes = 2'000;
// One database per service on the PostgreSQL backend, as a deployment has.
constexpr const char* kPostgresDatabases[] = {"coordinator", "krw", "fx"};

// A port no one listens on right now. Services get fixed ports so a restarted one is found where
// its callers (and its proxy) expect it.
absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return absl::InternalError("could not find a free port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string LogTail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() <= kLogTailBytes ? all : all.substr(all.size() - kLogTailBytes);
}

// Dialled as 127.0.0.1, one of the names in every certificate of the run (chaos_tls.h).
std::shared_ptr<grpc::Channel> Channel(int port,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), std::move(credentials));
}

bool HealthSaysServing(grpc::health::v1::Health::Stub& health) {
  grpc::health::v1::HealthCheckResponse response;
  return health
             .Check(ContextWithin(kHealthCallTimeout).get(), grpc::health::v1::HealthCheckRequest(),
                    &response)
             .ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace

std::unique_ptr<grpc::ClientContext> ContextWithin(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

Service::Service(std::string name, std::string path, std::vector<std::string> args,
                 std::string log_path, int port, std::shared_ptr<grpc::ChannelCredentials> health)
    : name_(std::move(name)),
      path_(std::move(path)),
      args_(std::move(args)),
      log_path_(std::move(log_path)),
      port_(port),
      health_(std::move(health)) {}

Service::~Service() {
  if (pid_ > 0) Kill();
}

absl::Status Service::Start() {
  RETURN_IF_ERROR(Spawn());
  return AwaitServing();
}

absl::Status Service::Spawn() {
  if (Running()) return absl::FailedPreconditionError(absl::StrCat(name_, " already runs"));
  // JSON lines whatever the terminal: the logs are read by tools after the run. The child gets
  // its own process group: a Ctrl-C at the harness's terminal must not reach the services before
  // the harness has stopped them in order.
  std::vector<std::string> environment = {"FXMESH_LOG_FORMAT=json"};
  environment.insert(environment.end(), environment_.begin(), environment_.end());
  const pid_t pid = testing::Spawn(path_, args_, environment, log_path_, log_path_,
                                   {.append = true, .own_process_group = true});
  if (pid < 0) return absl::InternalError("fork() failed");
  pid_ = pid;
  paused_ = false;
  served_ = false;
  spawned_at_ = absl::Now();
  return absl::OkStatus();
}

bool Service::Serving() {
  if (served_) return true;
  auto health = grpc::health::v1::Health::NewStub(Channel(port_, health_));
  served_ = HealthSaysServing(*health);
  return served_;
}

absl::Status Service::AwaitServing() {
  const absl::Time give_up = absl::Now() + kStartTimeout;
  while (absl::Now() < give_up) {
    if (!Running()) {
      if (!supervised_) {
        return absl::InternalError(
            absl::StrCat(name_, " exited before serving; its log ends:\n", LogTail(log_path_)));
      }
      // As a supervisor (Kubernetes' kubelet) would: start it again after a pause.
      absl::SleepFor(kRespawnBackoff);
      RETURN_IF_ERROR(Spawn());
      continue;
    }
    if (Serving()) return absl::OkStatus();
    absl::SleepFor(kPollInterval);
  }
  return absl::DeadlineExceededError(absl::StrCat(name_, " not serving within ",
                                                  absl::FormatDuration(kStartTimeout),
                                                  "; its log ends:\n", LogTail(log_path_)));
}

absl::Status Service::Supervise() {
  if (!supervised_) return absl::OkStatus();
  if (Running()) {
    // Notes that it serves, so that a later exit counts as the crash it is.
    if (!served_ && !paused_) Serving();
    return absl::OkStatus();
  }
  if (served_ || absl::Now() < spawned_at_ + kRespawnBackoff) return absl::OkStatus();
  return Spawn();
}

void Service::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  paused_ = false;
}

void Service::Pause() {
  if (pid_ <= 0) return;
  kill(pid_, SIGSTOP);
  paused_ = true;
}

void Service::Resume() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  paused_ = false;
}

int Service::Stop() {
  if (pid_ <= 0) return 0;
  if (paused_) Resume();
  kill(pid_, SIGTERM);
  const absl::Time give_up = absl::Now() + kStopGrace;
  int status = 0;
  while (absl::Now() < give_up) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    absl::SleepFor(kPollInterval);
  }
  Kill();
  return 128 + SIGKILL;
}

bool Service::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    const std::string how = WIFEXITED(status) ? absl::StrCat("exit code ", WEXITSTATUS(status))
                                              : absl::StrCat("signal ", WTERMSIG(status));
    if (supervised_ && !served_) {
      // It never served since its start: a failed start, which its supervisor retries.
      ++failed_starts_;
    } else {
      ++crashes_;
      last_crash_ = how;
    }
    pid_ = -1;
    paused_ = false;
    return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<ChaosMesh>> ChaosMesh::Start(const MeshOptions& options) {
  std::unique_ptr<ChaosMesh> mesh(new ChaosMesh());
  absl::Status launched = mesh->Launch(options);
  if (!launched.ok()) {
    mesh->StopAll();
    return launched;
  }
  return mesh;
}

absl::Status ChaosMesh::LaunchPostgres(const MeshOptions& options) {
  // The server runs as the postgres user, which must reach its folder inside the run's.
  std::filesystem::permissions(options.run_dir, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::Start(options.postgres_script, absl::StrCat(options.run_dir, "/postgres"),
                            absl::StrCat(options.run_dir, "/postgres-ctl.log"));
  if (!server.ok()) return server.status();
  postgres_ = std::move(*server);
  for (const char* database : kPostgresDatabases) {
    absl::Status created = postgres_->CreateDatabase(database);
    if (!created.ok()) return created;
  }
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy =
      TcpProxy::Start(0, "127.0.0.1", postgres_->port());
  if (!proxy.ok()) return proxy.status();
  proxies_["postgres"] = std::move(*proxy);
  return absl::OkStatus();
}

absl::Status ChaosMesh::Launch(const MeshOptions& options) {
  shape_ = {options.relays, options.brokers, options.backend};
  const bool postgres = options.backend == Backend::kPostgres;
  const std::string& dir = options.run_dir;
  if (options.tls) {
    ASSIGN_OR_RETURN(tls_, ChaosTls::Make(absl::StrCat(dir, "/tls")));
  }
  const ChaosCredentials& as = tls_.credentials();
  auto add = [&](const std::string& name, const std::string& binary,
                 std::vector<std::string> args) -> absl::StatusOr<Service*> {
    absl::StatusOr<int> port = FreePort();
    if (!port.ok()) return port.status();
    args.insert(args.begin(), absl::StrCat("--listen=127.0.0.1:", *port));
    // A service presents the certificate named as its binary is: fxmesh-krw-ledger, krw-ledger.
    for (std::string& flag : tls_.ServiceFlags(binary.substr(binary.find('-') + 1)))
      args.push_back(std::move(flag));
    auto service =
        std::make_unique<Service>(name, absl::StrCat(options.bin_dir, "/", binary), std::move(args),
                                  absl::StrCat(dir, "/", name, ".log"), *port, as.operator_role);
    Service* raw = service.get();
    // On PostgreSQL a service may be started while its database is away, and exit: it is
    // started again, as its supervisor would. Kafka keeps its log in memory, so it never is.
    raw->set_supervised(postgres && name != "kafka");
    services_[name] = std::move(service);
    start_order_.push_back(name);
    absl::Status started = raw->Start();
    if (!started.ok()) return started;
    return raw;
  };
  // A service's database: its own SQLite file, or its PostgreSQL database through the proxy.
  auto db_flag = [&](const std::string& database) {
    return postgres
               ? absl::StrCat("--db=", PostgresServer::Url(database, proxies_["postgres"]->port()))
               : absl::StrCat("--db=sqlite:", dir, "/", database, ".db");
  };

  const std::string bootstrap_file = absl::StrCat(dir, "/kafka-bootstrap");
  absl::StatusOr<Service*> kafka =
      add("kafka", "fxmesh-kafka",
          {absl::StrCat("--brokers=", options.brokers), "--partitions=4",
           absl::StrCat("--bootstrap_file=", bootstrap_file)});
  if (!kafka.ok()) return kafka.status();
  std::ifstream(bootstrap_file) >> kafka_brokers_;
  if (kafka_brokers_.empty()) return absl::InternalError("the embedded Kafka wrote no bootstrap");
  kafka_control_ = v1::KafkaControlService::NewStub(Channel((*kafka)->port(), as.operator_role));
  if (postgres) {
    absl::Status launched = LaunchPostgres(options);
    if (!launched.ok()) return launched;
  }

  for (const std::string ledger : {"krw", "fx"}) {
    std::vector<int> ports;
    for (const std::string& name : LedgerServiceNames(shape_, ledger)) {
      absl::StatusOr<Service*> started =
          add(name, absl::StrCat("fxmesh-", ledger, "-ledger"), {db_flag(ledger)});
      if (!started.ok()) return started.status();
      ledgers_[ledger].push_back(
          v1::LedgerService::NewStub(Channel((*started)->port(), as.core_banking)));
      ports.push_back((*started)->port());
    }
    absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start(0, "127.0.0.1", ports);
    if (!proxy.ok()) return proxy.status();
    proxies_[ledger] = std::move(*proxy);
  }
  const std::string via_krw = absl::StrCat("--krw_ledger=127.0.0.1:", proxies_["krw"]->port());
  const std::string via_fx = absl::StrCat("--fx_ledger=127.0.0.1:", proxies_["fx"]->port());
  const std::string brokers = absl::StrCat("--kafka-brokers=", kafka_brokers_);

  const std::vector<std::string> coordinators = CoordinatorNames(shape_);
  for (size_t replica = 0; replica < coordinators.size(); ++replica) {
    std::vector<std::string> coordinator_flags = {
        db_flag("coordinator"), absl::StrCat("--rates=", options.rates_path), via_krw, via_fx,
        brokers,
        // A fixed replica id: after a SIGKILL the new process takes its own leases back at once
        // instead of waiting for them to expire. Replicas each have their own.
        postgres ? absl::StrCat("--replica_id=chaos", replica) : "--replica_id=chaos"};
    coordinator_flags.insert(coordinator_flags.end(), options.coordinator_flags.begin(),
                             options.coordinator_flags.end());
    absl::StatusOr<Service*> coordinator =
        add(coordinators[replica], "fxmesh-coordinator", coordinator_flags);
    if (!coordinator.ok()) return coordinator.status();
    exchanges_.push_back(v1::ExchangeService::NewStub(Channel((*coordinator)->port(), as.gateway)));
    if (replica == 0)
      ops_ = v1::OpsService::NewStub(Channel((*coordinator)->port(), as.operator_role));
  }

  for (int relay = 0; relay < options.relays; ++relay) {
    absl::StatusOr<Service*> started =
        add(absl::StrCat("relay", relay), "fxmesh-relay",
            {brokers, via_krw, via_fx, absl::StrCat("--tier_delays_ms=", options.tier_delays_ms)});
    if (!started.ok()) return started.status();
  }
  return absl::OkStatus();
}

ChaosMesh::~ChaosMesh() { StopAll(); }

std::vector<std::string> ChaosMesh::service_names() const { return start_order_; }

absl::Status ChaosMesh::HealAll() {
  absl::Status first;
  auto note = [&](const absl::Status& status) {
    if (first.ok() && !status.ok()) first = status;
  };
  for (auto& [name, proxy] : proxies_) proxy->HealAll();
  // The database first: the services need it to start.
  if (postgres_ != nullptr) {
    if (postgres_->paused()) note(postgres_->Resume());
    if (!postgres_->running()) note(postgres_->Restart());
  }
  // Kafka itself may be the paused one: resume it before asking it anything.
  if (services_["kafka"]->paused()) services_["kafka"]->Resume();
  for (int broker = 1; broker <= shape_.brokers; ++broker) {
    note(SetBrokerUp(broker, true));
    note(SetBrokerLatency(broker, 0));
  }
  for (const std::string& name : start_order_) {
    Service& service = *services_[name];
    if (service.paused()) service.Resume();
    if (!service.environment().empty()) note(SetClockSkew(name, 0, /*wait=*/true));
    note(service.Running() ? service.AwaitServing() : service.Start());
  }
  return first;
}

absl::Status ChaosMesh::SetClockSkew(const std::string& name, int skew_ms, bool wait) {
  Service& service = *services_.at(name);
  service.Stop();
  if (skew_ms == 0) {
    service.SetEnvironment({});
  } else {
    // The skewed process's monotonic clock is left true: gRPC's deadlines and timers run on it,
    // and a skewed node's kernel would not move it either.
    service.SetEnvironment({absl::StrCat("LD_PRELOAD=", testing::kFakeTimeLibrary),
                            absl::StrFormat("FAKETIME=%+.3f", skew_ms / 1000.0),
                            "FAKETIME_DONT_FAKE_MONOTONIC=1"});
  }
  return wait ? service.Start() : service.Spawn();
}

absl::Status ChaosMesh::SetBrokerUp(int broker, bool up) {
  v1::SetBrokerUpRequest request;
  request.set_broker_id(broker);
  request.set_up(up);
  v1::KafkaCluster cluster;
  return FromGrpcStatus(
      kafka_control_->SetBrokerUp(ContextWithin(kControlCallTimeout).get(), request, &cluster));
}

absl::Status ChaosMesh::SetBrokerLatency(int broker, int latency_ms) {
  v1::SetBrokerLatencyRequest request;
  request.set_broker_id(broker);
  request.set_latency_ms(latency_ms);
  v1::KafkaCluster cluster;
  return FromGrpcStatus(kafka_control_->SetBrokerLatency(ContextWithin(kControlCallTimeout).get(),
                                                         request, &cluster));
}

void ChaosMesh::StopAll() {
  for (auto name = start_order_.rbegin(); name != start_order_.rend(); ++name) {
    services_[*name]->Stop();
  }
  // The database last, once nothing uses it; its data stays in the run's folder.
  postgres_.reset();
}

}  // namespace fxmesh::chaos
