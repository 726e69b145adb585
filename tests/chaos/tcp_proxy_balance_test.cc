// Proves the chaos proxy in front of several replicas balances as a Kubernetes Service does: each
// new connection goes to the next replica in turn, over real loopback sockets (two listening
// sockets the test owns stand upstream), and a port list that cannot work is refused.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "tests/chaos/tcp_proxy.h"

namespace fxmesh::chaos {
namespace {

constexpr int kPatienceMs = 10'000;
constexpr int kConnectionsPerReplica = 3;

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// A listening socket on a free loopback port, and that port.
std::pair<int, int> Listen() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address = Loopback(0);
  REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t length = sizeof(address);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  return {fd, ntohs(address.sin_port)};
}

// Accepts one connection on `listener` within the patience; -1 if none came.
int AcceptOne(int listener) {
  pollfd entry{.fd = listener, .events = POLLIN, .revents = 0};
  if (poll(&entry, 1, kPatienceMs) <= 0) return -1;
  return accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
}

TEST_CASE("the proxy sends each new connection to the next replica in turn", "[unit]") {
  const auto [first, first_port] = Listen();
  const auto [second, second_port] = Listen();
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy =
      TcpProxy::Start(0, "127.0.0.1", std::vector<int>{first_port, second_port});
  REQUIRE(proxy.ok());

  std::vector<int> open;
  for (int round = 0; round < kConnectionsPerReplica; ++round) {
    for (const int listener : {first, second}) {
      const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      const sockaddr_in address = Loopback((*proxy)->port());
      REQUIRE(connect(client, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
      open.push_back(client);
      // Connections are taken in turn, so this one reaches this replica, and only it.
      const int upstream = AcceptOne(listener);
      CHECK(upstream >= 0);
      open.push_back(upstream);
    }
  }
  CHECK((*proxy)->stats().connections_accepted == 2 * kConnectionsPerReplica);
  for (const int fd : open) close(fd);
  close(first);
  close(second);
}

TEST_CASE("the proxy refuses an empty or out-of-range list of replicas", "[unit]") {
  CHECK(absl::IsInvalidArgument(TcpProxy::Start(0, "127.0.0.1", std::vector<int>{}).status()));
  CHECK(absl::IsInvalidArgument(
      TcpProxy::Start(0, "127.0.0.1", std::vector<int>{5000, 70000}).status()));
}

}  // namespace
}  // namespace fxmesh::chaos
