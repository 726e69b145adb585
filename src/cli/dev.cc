#include "cli/dev.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli/dev_certificates.h"
#include "cli/internal/restart_policy.h"
#include "common/grpc_channel.h"
#include "common/limits.h"
#include "common/tls.h"
#include "grpc/health/v1/health.grpc.pb.h"

extern char** environ;

namespace fxmesh::cli {
namespace {

struct ServiceSpec {
  std::string name;
  std::string binary;
  std::vector<std::string> args;
  int grpc_port;
  const char* color;
};

// One service running as a child, its output read line by line and prefixed.
class Child {
 public:
  Child(const ServiceSpec& spec, const std::string& bin_dir, bool tty, absl::Mutex& out_mu)
      : spec_(spec), out_mu_(out_mu) {
    // Close-on-exec, so no other service inherits this pipe (dup2 clears it for the child's own
    // stdout and stderr).
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    // Its own process group: Ctrl-C reaches only `fxmesh dev`, which stops the services in order.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attributes, &none);
    const std::string path = absl::StrCat(bin_dir, "/", spec.binary);
    std::vector<std::string> argv_text = {path};
    argv_text.insert(argv_text.end(), spec.args.begin(), spec.args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_text) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, path.c_str(), &actions, &attributes, argv.data(), environ) != 0)
      pid_ = -1;
    started_pid_ = pid_;
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(fds[1]);
    prefix_ = tty ? absl::StrFormat("%s%-11s|\033[0m ", spec.color, spec.name)
                  : absl::StrFormat("%-11s| ", spec.name);
    reader_ = std::thread([this, fd = fds[0]] { Relay(fd); });
  }
  ~Child() {
    Stop();
    if (reader_.joinable()) reader_.join();
  }

  bool started() const { return started_pid_ > 0; }
  pid_t pid() const { return started_pid_; }
  // Whether it is still running (reaps it if not).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      exit_ = WIFSIGNALED(status) ? absl::StrCat("was killed by signal ", WTERMSIG(status), " (",
                                                 strsignal(WTERMSIG(status)), ")")
                                  : absl::StrCat("exited with code ", WEXITSTATUS(status));
      return false;
    }
    return true;
  }
  // How it ended, once Running() said it had.
  std::string ExitDescription() const { return started() ? exit_ : "could not be started"; }
  // SIGTERM, then waits for the graceful drain (SIGKILL after that).
  void Stop() {
    if (!Running()) return;
    kill(pid_, SIGTERM);
    const absl::Time give_up = absl::Now() + absl::Milliseconds(2 * limits::kShutdownGraceMs);
    while (Running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));
    if (Running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

 private:
  void Relay(int fd) {
    FILE* in = fdopen(fd, "r");
    char* line = nullptr;
    size_t size = 0;
    while (getline(&line, &size, in) > 0) {
      absl::MutexLock lock(&out_mu_);
      fputs(prefix_.c_str(), stdout);
      fputs(line, stdout);
      fflush(stdout);
    }
    free(line);
    fclose(in);
  }

  const ServiceSpec spec_;
  absl::Mutex& out_mu_;
  pid_t pid_ = -1;
  pid_t started_pid_ = -1;
  std::string exit_;
  std::string prefix_;
  std::thread reader_;
};

// A service under supervision: its current child (none while it waits to be started again), and
// what the restart rule needs to know.
struct Supervised {
  ServiceSpec spec;
  std::unique_ptr<Child> child;
  absl::Time started_at;
  bool serving = false;
  int crashes_in_row = 0;
  absl::Time restart_at = absl::InfiniteFuture();
};

bool Serving(int port, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  auto health =
      grpc::health::v1::Health::NewStub(NewChannel(absl::StrCat("127.0.0.1:", port), credentials));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckResponse response;
  return health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok() &&
         response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

int RunDev(const DevOptions& options) {
  const bool tty = isatty(STDOUT_FILENO) != 0 && getenv("NO_COLOR") == nullptr;
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  const std::string data = std::filesystem::absolute(options.data_dir).string();
  const std::string bootstrap_file = absl::StrCat(data, "/kafka-bootstrap");
  std::filesystem::remove(bootstrap_file, error);
  // Every well-known port, moved by --port-offset so a second mesh (or a test) fits beside one.
  const auto port = [&](int well_known) { return well_known + options.port_offset; };
  const int kafka_port = options.kafka_port != 0 ? options.kafka_port : port(kDevKafkaPort);
  const auto loopback = [](int port_number) { return absl::StrCat("127.0.0.1:", port_number); };
  // With --tls, each service presents its own certificate, and the launcher asks for health as
  // an operator.
  const std::string tls_dir = options.tls_dir.empty()
                                  ? (std::filesystem::path(data).parent_path() / "tls").string()
                                  : std::filesystem::absolute(options.tls_dir).string();
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  const auto tls_flags = [&](const std::string& name) -> std::vector<std::string> {
    if (!options.tls) return {};
    const std::string base = absl::StrCat(tls_dir, "/", name);
    return {absl::StrCat("--tls_cert=", base, ".crt"), absl::StrCat("--tls_key=", base, ".key"),
            absl::StrCat("--tls_ca=", tls_dir, "/ca.crt")};
  };
  if (options.tls) {
    if (absl::Status made = MakeDevCertificates(tls_dir); !made.ok()) {
      fprintf(stderr, "fxmesh dev: %s\n", std::string(made.message()).c_str());
      return 1;
    }
    TlsOptions operator_tls;
    operator_tls.certificate_file = tls_dir + "/operator.crt";
    operator_tls.key_file = tls_dir + "/operator.key";
    operator_tls.ca_file = tls_dir + "/ca.crt";
    credentials = NewChannelCredentials(operator_tls);
  }

  // Ctrl-C and SIGTERM are waited for below, not delivered.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::Mutex out_mu;
  // The launcher's own lines carry its name, like the services' lines.
  const auto say = [&](const std::string& line) {
    absl::MutexLock lock(&out_mu);
    printf("%-11s| %s\n", "fxmesh dev", line.c_str());
    fflush(stdout);
  };
  std::vector<Supervised> services;
  auto stop_all = [&] {
    {
      absl::MutexLock lock(&out_mu);
      printf("\nstopping...\n");
      fflush(stdout);
    }
    for (auto it = services.rbegin(); it != services.rend(); ++it) it->child.reset();
    services.clear();
    printf("stopped; data kept in %s\n", data.c_str());
  };
  auto fail = [&](const std::string& why) {
    {
      absl::MutexLock lock(&out_mu);
      fprintf(stderr, "fxmesh dev: %s\n", why.c_str());
    }
    stop_all();
    return 1;
  };
  auto spawn = [&](Supervised& service) {
    service.child = std::make_unique<Child>(service.spec, options.bin_dir, tty, out_mu);
    service.started_at = absl::Now();
    service.serving = false;
    service.restart_at = absl::InfiniteFuture();
  };
  // Starts a service for the first time and waits until it serves.
  auto start = [&](const ServiceSpec& spec) -> bool {
    Supervised& service = services.emplace_back();
    service.spec = spec;
    spawn(service);
    if (!service.child->started()) return false;
    const absl::Time give_up = absl::Now() + absl::Milliseconds(limits::kDevStartTimeoutMs);
    while (absl::Now() < give_up) {
      if (!service.child->Running()) return false;
      if (Serving(spec.grpc_port, credentials)) {
        service.serving = true;
        say(absl::StrCat(spec.name, " is serving (pid ", service.child->pid(), ")"));
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };

  ServiceSpec kafka{"kafka",
                    "fxmesh-kafka",
                    {absl::StrCat("--listen=", loopback(port(50071))),
                     absl::StrCat("--bootstrap_port=", kafka_port),
                     absl::StrCat("--bootstrap_file=", bootstrap_file)},
                    port(50071),
                    "\033[34m"};
  for (std::string& flag : tls_flags("kafka")) kafka.args.push_back(std::move(flag));
  if (!start(kafka)) {
    return fail(absl::StrCat("the embedded Kafka did not start (is port ", kafka_port,
                             " taken? --kafka-port picks another); see its log lines above"));
  }
  const std::string brokers = ReadFirstLine(bootstrap_file);
  if (brokers.empty()) return fail("the embedded Kafka wrote no bootstrap address");
  const std::string krw = loopback(port(50061));
  const std::string fx = loopback(port(50062));
  // The ledgers serve their dev fault switch (LedgerFaultService), which `fxmesh demo` uses to
  // leave an exchange stuck on purpose. This is a mesh of one developer's own; never production.
  std::vector<ServiceSpec> specs = {
      {"krw-ledger",
       "fxmesh-krw-ledger",
       {absl::StrCat("--listen=", krw), absl::StrCat("--db=sqlite:", data, "/krw-ledger.db"),
        absl::StrCat("--metrics_listen=", loopback(port(9061))), "--dev_faults"},
       port(50061),
       "\033[33m"},
      {"fx-ledger",
       "fxmesh-fx-ledger",
       {absl::StrCat("--listen=", fx), absl::StrCat("--db=sqlite:", data, "/fx-ledger.db"),
        absl::StrCat("--metrics_listen=", loopback(port(9062))), "--dev_faults"},
       port(50062),
       "\033[32m"},
      {"coordinator",
       "fxmesh-coordinator",
       {absl::StrCat("--listen=", loopback(port(50051))),
        absl::StrCat("--db=sqlite:", data, "/coordinator.db"),
        absl::StrCat("--rates=", options.rates), absl::StrCat("--krw_ledger=", krw),
        absl::StrCat("--fx_ledger=", fx), absl::StrCat("--kafka_brokers=", brokers),
        absl::StrCat("--metrics_listen=", loopback(port(9051)))},
       port(50051),
       "\033[36m"},
      {"relay",
       "fxmesh-relay",
       {absl::StrCat("--listen=", loopback(port(50081))), absl::StrCat("--kafka_brokers=", brokers),
        absl::StrCat("--krw_ledger=", krw), absl::StrCat("--fx_ledger=", fx),
        absl::StrCat("--metrics_listen=", loopback(port(9081)))},
       port(50081),
       "\033[35m"},
  };
  // Only a given --tier-delays-ms becomes the relay's flag: an empty flag would override
  // FXMESH_TIER_DELAYS_MS in the environment, which docs/kafka.md uses.
  if (!options.tier_delays_ms.empty())
    specs.back().args.push_back(absl::StrCat("--tier_delays_ms=", options.tier_delays_ms));
  for (ServiceSpec& spec : specs) {
    for (std::string& flag : tls_flags(spec.name)) spec.args.push_back(std::move(flag));
    // Over TLS customers are authenticated too: by tokens the tool signs with the local key.
    if (options.tls && spec.name == "coordinator") {
      spec.args.push_back(
          absl::StrCat("--customer_token_key=", tls_dir, "/", kDevCustomerTokenKey, ".pub"));
    }
  }
  for (const ServiceSpec& spec : specs) {
    if (!start(spec)) {
      return fail(absl::StrCat(spec.name, " did not become healthy on port ", spec.grpc_port,
                               "; see its log lines above"));
    }
  }
  {
    absl::MutexLock lock(&out_mu);
    printf(
        "\n%sfxmesh is running%s\n"
        "  coordinator 127.0.0.1:%-5d   ExchangeService, OpsService   metrics :%d\n"
        "  krw-ledger  127.0.0.1:%-5d   KRW                           metrics :%d\n"
        "  fx-ledger   127.0.0.1:%-5d   USD EUR JPY CNY               metrics :%d\n"
        "  relay       127.0.0.1:%-5d   (works from Kafka)            metrics :%d\n"
        "  kafka       %s   (the same every run; control: 127.0.0.1:%d)\n"
        "  dev faults  on both ledgers (LedgerFaultService): for fxmesh demo; never in production\n"
        "  data        %s\n"
        "%s\n"
        "Try it in another terminal:\n"
        "  fxmesh demo                 # a scripted tour: exchanges, a compensation, operators\n"
        "  fxmesh sagas                # every exchange; fxmesh history <saga>, fxmesh trace "
        "<saga>\n"
        "  kcat -b %s -t fxmesh.saga.events -C -f '%%k %%s\\n'\n\n"
        "A service that dies is started again (the log says so); Ctrl-C stops everything and\n"
        "the data is kept for the next run.\n",
        tty ? "\033[1;32m" : "", tty ? "\033[0m" : "", port(50051), port(9051), port(50061),
        port(9061), port(50062), port(9062), port(50081), port(9081), brokers.c_str(), port(50071),
        data.c_str(),
        options.tls
            ? absl::StrCat("  mutual TLS  certificates in ", tls_dir, "\n",
                           "              fxmesh --tls-dir ", tls_dir, " ...\n",
                           "              buf curl --cert ", tls_dir, "/operator.crt --key ",
                           tls_dir, "/operator.key --cacert ", tls_dir,
                           "/ca.crt https://localhost:", port(50051), "/...\n",
                           "  customers   tokens signed with ", tls_dir, "/", kDevCustomerTokenKey,
                           ".key: fxmesh --tls-dir ", tls_dir, " token alice\n")
                  .c_str()
            : "",
        brokers.c_str());
    fflush(stdout);
  }
  // librdkafka's consumers keep talking to the old cluster's group coordinator (its ports are
  // gone) rather than bootstrapping again, so after a Kafka restart the services that consume
  // from it are restarted too, gracefully and at once; that is no crash of theirs.
  auto restart_kafka_clients = [&] {
    for (Supervised& client : services) {
      const bool uses_kafka =
          std::any_of(client.spec.args.begin(), client.spec.args.end(),
                      [](const std::string& arg) { return arg.rfind("--kafka_brokers=", 0) == 0; });
      if (!uses_kafka || client.child == nullptr) continue;
      say(absl::StrCat("restarting ", client.spec.name,
                       " so that its Kafka consumers join the new "
                       "cluster"));
      client.child.reset();
      client.restart_at = absl::Now();
    }
  };
  // Wait for Ctrl-C or SIGTERM, starting again (with backoff) every service that dies.
  const timespec tick{0, limits::kDevSupervisePollMs * 1'000'000};
  while (sigtimedwait(&stop_signals, nullptr, &tick) <= 0) {
    const absl::Time now = absl::Now();
    for (Supervised& service : services) {
      const std::string& name = service.spec.name;
      if (service.child == nullptr) {
        if (now < service.restart_at) continue;
        spawn(service);
        say(absl::StrCat("restarted ", name, " (pid ", service.child->pid(), ")"));
        continue;
      }
      if (service.child->Running()) {
        if (service.serving) continue;
        if (Serving(service.spec.grpc_port, credentials)) {
          service.serving = true;
          say(absl::StrCat(name, " is serving again (pid ", service.child->pid(), ")"));
          if (name == "kafka") restart_kafka_clients();
        } else if (now - service.started_at > absl::Milliseconds(limits::kDevStartTimeoutMs)) {
          say(absl::StrCat(name, " did not become healthy in time; stopping it"));
          service.child->Stop();
        }
        continue;
      }
      const internal::RestartDecision decision = internal::DecideRestart(
          service.crashes_in_row, absl::ToInt64Milliseconds(now - service.started_at));
      service.crashes_in_row = decision.crashes_in_row;
      const std::string ended = absl::StrCat(name, " (pid ", service.child->pid(), ") ",
                                             service.child->ExitDescription());
      service.child.reset();
      if (decision.give_up) {
        return fail(absl::StrCat(ended, ", its crash ", decision.crashes_in_row,
                                 " in a row; giving up. See its log lines"));
      }
      say(absl::StrCat(ended, "; restarting it in ", decision.delay_ms, " ms (crash ",
                       decision.crashes_in_row, " in a row; the launcher gives up after ",
                       limits::kDevCrashesInRowMax, ")"));
      if (name == "kafka") {
        say(absl::StrCat("kafka keeps its log in memory: it comes back at ", brokers,
                         " with every topic empty and no consumer offsets"));
      }
      service.restart_at = now + absl::Milliseconds(decision.delay_ms);
    }
  }
  stop_all();
  return 0;
}

}  // namespace fxmesh::cli
