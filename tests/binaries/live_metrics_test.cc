// Proves what Prometheus sees of a running mesh, with Prometheus' own tools: the four services
// (both ledgers, the coordinator, the relay over the embedded Kafka) run as processes, each one's
// /metrics passes `promtool check metrics` (the text format and its naming lint), and Debian's real
// Prometheus server, scraping all four every second from a config of its own, reports every target
// "up" through its HTTP API (/api/v1/targets).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "tests/binaries/mesh_processes.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

// A loopback port nothing listens on right now (the OS's choice for port 0).
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  close(fd);
  return ntohs(address.sin_port);
}

bool Listening(int port) {
  HttpClient client(port);
  return client.connected();
}

// How many times `needle` occurs in `text`.
int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST_CASE("every service's /metrics passes promtool and Prometheus scrapes all four up",
          "[binary][kafka][metrics]") {
  MeshProcesses mesh;
  mesh.StartKafka();
  mesh.StartCoordinator();
  mesh.StartRelay(0);
  const std::map<std::string, int> services = {
      {"krw-ledger", MeshProcesses::MetricsPort(mesh.ledger_process("krw"))},
      {"fx-ledger", MeshProcesses::MetricsPort(mesh.ledger_process("fx"))},
      {"coordinator", MeshProcesses::MetricsPort(mesh.coordinator())},
      {"relay", MeshProcesses::MetricsPort(mesh.relay(0))},
  };
  const std::string temp = MakeTempDir("fxmesh-prometheus");

  for (const auto& [name, port] : services) {
    const HttpResponse response = HttpGet(port, "/metrics");
    REQUIRE(response.status_line == "HTTP/1.1 200 OK");
    const std::string file = absl::StrCat(temp, "/", name, ".prom");
    std::ofstream(file) << response.body;
    const CommandResult lint =
        RunCommand("/bin/sh", {"-c", absl::StrCat("promtool check metrics < '", file, "'")});
    INFO(name << ": promtool says\n" << lint.out << lint.err);
    CHECK(lint.exit_code == 0);
    CHECK(lint.out + lint.err == "");
  }

  // Prometheus itself, on loopback, scraping the four every second.
  std::vector<std::string> jobs;
  for (const auto& [name, port] : services) {
    jobs.push_back(absl::StrCat("  - job_name: ", name, "\n    static_configs:\n",
                                "      - targets: ['127.0.0.1:", port, "']\n"));
  }
  const std::string config = temp + "/prometheus.yml";
  std::ofstream(config) << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        << "scrape_configs:\n"
                        << absl::StrJoin(jobs, "");
  const CommandResult checked = RunCommand("/usr/bin/promtool", {"check", "config", config});
  INFO(checked.out << checked.err);
  REQUIRE(checked.exit_code == 0);
  const int prometheus_port = FreePort();
  ServiceProcess prometheus(
      "/usr/bin/prometheus",
      {"--config.file=" + config, "--storage.tsdb.path=" + temp + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", prometheus_port), "--log.level=warn"},
      {});

  std::string targets;
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  while (absl::Now() < give_up) {
    if (Listening(prometheus_port)) {
      targets = HttpGet(prometheus_port, "/api/v1/targets?state=active").body;
      if (Count(targets, "\"health\":\"up\"") == 4) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO("Prometheus /api/v1/targets: " << targets << "\nPrometheus: " << prometheus.Output());
  CHECK(Count(targets, "\"health\":\"up\"") == 4);
  CHECK(Count(targets, "\"health\":") == 4);
  for (const auto& [name, port] : services) {
    CHECK(targets.find(absl::StrCat("\"job\":\"", name, "\"")) != std::string::npos);
  }
  CHECK(prometheus.Terminate() == 0);
}

}  // namespace
}  // namespace fxmesh::testing
