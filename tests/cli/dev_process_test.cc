// Proves `fxmesh dev` supervises the mesh it starts: run as a child process on free ports (its
// --port-offset) with its own data folder, it brings up Kafka, both ledgers, the coordinator and
// the relay; a coordinator killed with SIGKILL is started again, the launcher's log says so, and an
// exchange then completes and settles through Kafka and the relay; a killed Kafka comes back on
// the same port and a compensation still settles through the relay; and the embedded Kafka's
// bootstrap address is the same fixed port in two runs of the launcher; and the relay gets no
// --tier_delays_ms of the launcher's unless one was given, so FXMESH_TIER_DELAYS_MS reaches it.
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/dev.h"
#include "common/limits.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

// Every port `fxmesh dev` uses, before its offset.
constexpr int kWellKnownPorts[] = {50051, 50061, 50062, 50071, 50081, cli::kDevKafkaPort,
                                   9051,  9061,  9062,  9081};

bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return free;
}

// An offset at which every port is free now. The offsets move 50051..50092 above the kernel's
// ephemeral range (32768-60999), so no other test's port-0 socket can take one meanwhile.
int FreePortOffset() {
  std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> offsets(11'000, 65'535 - cli::kDevKafkaPort);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int offset = offsets(random);
    bool all_free = true;
    for (int port : kWellKnownPorts) all_free = all_free && PortFree(port + offset);
    if (all_free) return offset;
  }
  FAIL("no port offset with every port free");
  return 0;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// `fxmesh dev` as a child process; stopped with SIGTERM when the test ends, however it ends (its
// services are in their own process groups, so a SIGKILL would leave them running).
class DevLauncher {
 public:
  // The relay's short retry tiers come from --tier-delays-ms, or with `tiers_from_environment`
  // from FXMESH_TIER_DELAYS_MS, as docs/kafka.md sets them.
  DevLauncher(const std::string& data_dir, int port_offset, bool tiers_from_environment = false)
      : process_(FXMESH_CLI_PATH, Arguments(data_dir, port_offset, tiers_from_environment),
                 tiers_from_environment
                     ? std::vector<std::string>{"FXMESH_TIER_DELAYS_MS=1000,1000"}
                     : std::vector<std::string>{}) {}
  ~DevLauncher() { process_.Terminate(); }

  // Waits up to `seconds` for the launcher's output to match `pattern`; returns the match.
  std::smatch WaitFor(const std::string& pattern, int seconds = 120) {
    const std::regex expression(pattern);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < give_up) {
      output_ = process_.Output();
      std::smatch match;
      if (std::regex_search(output_, match, expression)) return match;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("no '" << pattern << "' within " << seconds << " s:\n" << process_.Output());
    return {};
  }
  int Terminate() { return process_.Terminate(); }
  std::string Output() const { return process_.Output(); }

 private:
  static std::vector<std::string> Arguments(const std::string& data_dir, int port_offset,
                                            bool tiers_from_environment) {
    std::vector<std::string> args = {"dev",
                                     "--bin",
                                     std::filesystem::path(FXMESH_COORDINATOR_PATH).parent_path(),
                                     "--data",
                                     data_dir,
                                     "--rates",
                                     std::string(FXMESH_SOURCE_DIR) + "/config/rates.txt",
                                     "--port-offset",
                                     std::to_string(port_offset)};
    if (!tiers_from_environment) args.insert(args.end(), {"--tier-delays-ms", "1000,1000"});
    return args;
  }

  ServiceProcess process_;
  std::string output_;  // The text the last match points into.
};

// Runs the tool against the mesh at `offset`, whatever it exits.
CommandResult RunFxmesh(int offset, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"--coordinator", absl::StrCat("127.0.0.1:", 50051 + offset),
                                  "--krw-ledger",  absl::StrCat("127.0.0.1:", 50061 + offset),
                                  "--fx-ledger",   absl::StrCat("127.0.0.1:", 50062 + offset)};
  all.insert(all.end(), args.begin(), args.end());
  return RunCommand(FXMESH_CLI_PATH, all);
}

// Runs the tool against the mesh at `offset`; it must exit `expected_exit_code`.
CommandResult Fxmesh(int offset, std::vector<std::string> args, int expected_exit_code = 0) {
  CommandResult result = RunFxmesh(offset, args);
  INFO("fxmesh " << absl::StrJoin(args, " ") << "\nexit " << result.exit_code << "\n"
                 << result.out << result.err);
  REQUIRE(result.exit_code == expected_exit_code);
  return result;
}

int64_t Available(int port, const std::string& account) {
  auto ledger = v1::LedgerService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetAccountRequest request;
  request.set_account_id(account);
  v1::Account answer;
  REQUIRE(ledger->GetAccount(&context, request, &answer).ok());
  return answer.available_minor();
}

TEST_CASE("fxmesh dev restarts a killed coordinator and keeps Kafka's bootstrap port",
          "[binary][dev]") {
  const std::string data = MakeTempDir("fxmesh-dev") + "/data";
  const int offset = FreePortOffset();
  const std::string bootstrap = absl::StrCat("127.0.0.1:", cli::kDevKafkaPort + offset);
  {
    DevLauncher dev(data, offset);
    dev.WaitFor("fxmesh is running");
    CHECK(FirstLine(data + "/kafka-bootstrap") == bootstrap);
    const pid_t coordinator =
        std::stoi(dev.WaitFor("coordinator is serving \\(pid ([0-9]+)\\)")[1]);
    REQUIRE(kill(coordinator, SIGKILL) == 0);

    const std::string pid = std::to_string(coordinator);
    dev.WaitFor("coordinator \\(pid " + pid + "\\) was killed by signal 9.*; restarting it in " +
                std::to_string(limits::kDevRestartDelayMsMin) + " ms \\(crash 1 in a row");
    const pid_t restarted =
        std::stoi(dev.WaitFor("coordinator is serving again \\(pid ([0-9]+)\\)")[1]);
    CHECK(restarted != coordinator);

    // An exchange through the restarted coordinator completes, and its Confirms settle through
    // Kafka (bootstrapped at the fixed port) and the relay. The answer may be PENDING: the relay's
    // answers reach the restarted coordinator only once the killed one's member of the results
    // group has timed out (session.timeout.ms, 6 s) and the group has rebalanced, which on a
    // loaded machine can take longer than the call's deadline; the exchange then completes.
    Fxmesh(offset, {"accounts", "open", "alice-krw", "KRW", "--owner", "alice"});
    Fxmesh(offset, {"accounts", "open", "alice-usd", "USD", "--owner", "alice"});
    Fxmesh(offset, {"deposit", "alice-krw", "1000000", "KRW", "--request-id", "dep-1"});
    Fxmesh(offset, {"deposit", "position:USD", "100000", "USD", "--request-id", "fund-usd"});
    const std::string quote_out = Fxmesh(offset, {"quote", "KRW", "USD", "--buy", "100"}).out;
    std::smatch quote;
    REQUIRE(std::regex_search(quote_out, quote, std::regex("q-[0-9a-f]{20}")));
    const std::string quote_id = quote[0];
    const CommandResult exchanged =
        RunFxmesh(offset, {"exchange", "--quote", quote_id, "--from", "alice-krw", "--to",
                           "alice-usd", "--customer", "alice", "--key", "ex-1"});
    INFO(exchanged.out << exchanged.err);
    REQUIRE((exchanged.exit_code == 0 || exchanged.exit_code == 5));  // COMPLETED or PENDING
    std::string completed = exchanged.out;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (completed.find("COMPLETED") == std::string::npos &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      completed = RunFxmesh(offset, {"get", "--key", "ex-1", "--customer", "alice"}).out;
    }
    INFO(completed);
    CHECK(completed.find("COMPLETED") != std::string::npos);
    while (Available(50062 + offset, "alice-usd") != 10'000 &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    CHECK(Available(50062 + offset, "alice-usd") == 10'000);

    // Kafka killed too: it comes back on the same port, and the services that consume from it
    // are restarted so their consumers find the new cluster. A compensation then settles through
    // the relay: the failing exchange's saga reaches CANCELLED.
    const pid_t kafka = std::stoi(dev.WaitFor("kafka is serving \\(pid ([0-9]+)\\)")[1]);
    REQUIRE(kill(kafka, SIGKILL) == 0);
    dev.WaitFor("kafka is serving again");
    dev.WaitFor(
        "restarting relay so that its Kafka consumers join the new cluster[\\s\\S]*"
        "relay is serving again");
    CHECK(FirstLine(data + "/kafka-bootstrap") == bootstrap);
    const std::string failing_quote =
        Fxmesh(offset, {"quote", "KRW", "USD", "--sell", "5000000"}).out;
    REQUIRE(std::regex_search(failing_quote, quote, std::regex("q-[0-9a-f]{20}")));
    Fxmesh(offset,
           {"exchange", "--quote", quote[0], "--from", "alice-krw", "--to", "alice-usd",
            "--customer", "alice", "--key", "ex-2"},
           /*expected_exit_code=*/1);
    std::string cancelled;
    const auto settle_by = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (cancelled.find("CANCELLED") == std::string::npos &&
           std::chrono::steady_clock::now() < settle_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      cancelled =
          Fxmesh(offset, {"get", "--key", "ex-2", "--customer", "alice"}, /*expected_exit_code=*/1)
              .out;
    }
    INFO(cancelled);
    CHECK(cancelled.find("CANCELLED") != std::string::npos);
    INFO(dev.Output());
    CHECK(dev.Terminate() == 0);
  }
  // A second run hands out the same bootstrap address. It leaves the relay's tiers to
  // FXMESH_TIER_DELAYS_MS, which an (empty) --tier_delays_ms on the relay's command line would
  // override.
  {
    DevLauncher dev(data, offset, /*tiers_from_environment=*/true);
    dev.WaitFor("fxmesh is running");
    const std::string relay = dev.WaitFor("relay is serving \\(pid ([0-9]+)\\)")[1];
    std::ifstream cmdline("/proc/" + relay + "/cmdline");
    const std::string relay_args((std::istreambuf_iterator<char>(cmdline)),
                                 std::istreambuf_iterator<char>());
    CHECK(relay_args.find("--kafka_brokers") != std::string::npos);
    CHECK(relay_args.find("--tier_delays_ms") == std::string::npos);
    CHECK(FirstLine(data + "/kafka-bootstrap") == bootstrap);
    CHECK(dev.Output().find("kafka       " + bootstrap) != std::string::npos);
    CHECK(dev.Terminate() == 0);
  }
}

}  // namespace
}  // namespace fxmesh::testing
