#include "cli/dev.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/limits.h"
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
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
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

  bool started() const { return pid_ > 0; }
  const ServiceSpec& spec() const { return spec_; }
  // Whether it is still running (reaps it if not).
  bool Running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
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
  std::string prefix_;
  std::thread reader_;
};

bool Serving(int port) {
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
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

  // Ctrl-C and SIGTERM are waited for below, not delivered.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::Mutex out_mu;
  std::vector<std::unique_ptr<Child>> children;
  auto stop_all = [&] {
    {
      absl::MutexLock lock(&out_mu);
      printf("\nstopping...\n");
      fflush(stdout);
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) (*it)->Stop();
    children.clear();
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
  auto start = [&](const ServiceSpec& spec) -> bool {
    children.push_back(std::make_unique<Child>(spec, options.bin_dir, tty, out_mu));
    if (!children.back()->started()) return false;
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (absl::Now() < give_up) {
      if (!children.back()->Running()) return false;
      if (Serving(spec.grpc_port)) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };

  if (!start({"kafka",
              "fxmesh-kafka",
              {"--listen=127.0.0.1:50071", absl::StrCat("--bootstrap_file=", bootstrap_file)},
              50071,
              "\033[34m"})) {
    return fail("the embedded Kafka did not start; see its log lines above");
  }
  const std::string brokers = ReadFirstLine(bootstrap_file);
  if (brokers.empty()) return fail("the embedded Kafka wrote no bootstrap address");
  // The ledgers serve their dev fault switch (LedgerFaultService), which `fxmesh demo` uses to
  // leave an exchange stuck on purpose. This is a mesh of one developer's own; never production.
  const std::vector<ServiceSpec> services = {
      {"krw-ledger",
       "fxmesh-krw-ledger",
       {"--listen=127.0.0.1:50061", absl::StrCat("--db=sqlite:", data, "/krw-ledger.db"),
        "--metrics_listen=127.0.0.1:9061", "--dev_faults"},
       50061,
       "\033[33m"},
      {"fx-ledger",
       "fxmesh-fx-ledger",
       {"--listen=127.0.0.1:50062", absl::StrCat("--db=sqlite:", data, "/fx-ledger.db"),
        "--metrics_listen=127.0.0.1:9062", "--dev_faults"},
       50062,
       "\033[32m"},
      {"coordinator",
       "fxmesh-coordinator",
       {"--listen=127.0.0.1:50051", absl::StrCat("--db=sqlite:", data, "/coordinator.db"),
        absl::StrCat("--rates=", options.rates), "--krw_ledger=127.0.0.1:50061",
        "--fx_ledger=127.0.0.1:50062", absl::StrCat("--kafka_brokers=", brokers),
        "--metrics_listen=127.0.0.1:9051"},
       50051,
       "\033[36m"},
      {"relay",
       "fxmesh-relay",
       {"--listen=127.0.0.1:50081", absl::StrCat("--kafka_brokers=", brokers),
        "--krw_ledger=127.0.0.1:50061", "--fx_ledger=127.0.0.1:50062",
        "--metrics_listen=127.0.0.1:9081",
        absl::StrCat("--tier_delays_ms=", options.tier_delays_ms)},
       50081,
       "\033[35m"},
  };
  for (const ServiceSpec& spec : services) {
    if (!start(spec)) {
      return fail(absl::StrCat(spec.name, " did not become healthy on port ", spec.grpc_port,
                               "; see its log lines above"));
    }
  }
  {
    absl::MutexLock lock(&out_mu);
    printf(
        "\n%sfxmesh is running%s\n"
        "  coordinator 127.0.0.1:50051   ExchangeService, OpsService   metrics :9051\n"
        "  krw-ledger  127.0.0.1:50061   KRW                           metrics :9061\n"
        "  fx-ledger   127.0.0.1:50062   USD EUR JPY CNY               metrics :9062\n"
        "  relay       127.0.0.1:50081   (works from Kafka)            metrics :9081\n"
        "  kafka       %s   (control: 127.0.0.1:50071)\n"
        "  dev faults  on both ledgers (LedgerFaultService): for fxmesh demo; never in production\n"
        "  data        %s\n\n"
        "Try it in another terminal:\n"
        "  fxmesh demo                 # a scripted tour: exchanges, a compensation, operators\n"
        "  fxmesh sagas                # every exchange; fxmesh history <saga>, fxmesh trace "
        "<saga>\n"
        "  kcat -b %s -t fxmesh.saga.events -C -f '%%k %%s\\n'\n\n"
        "Ctrl-C stops everything; the data is kept for the next run.\n",
        tty ? "\033[1;32m" : "", tty ? "\033[0m" : "", brokers.c_str(), data.c_str(),
        brokers.c_str());
    fflush(stdout);
  }
  // Wait for Ctrl-C or SIGTERM, checking that every service stays up.
  const timespec tick{0, 200'000'000};
  while (true) {
    if (sigtimedwait(&stop_signals, nullptr, &tick) > 0) break;
    for (const auto& child : children) {
      if (!child->Running())
        return fail(absl::StrCat(child->spec().name, " stopped on its own; see its log lines"));
    }
  }
  stop_all();
  return 0;
}

}  // namespace fxmesh::cli
