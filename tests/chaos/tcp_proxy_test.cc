// Proves the chaos proxy forwards bytes faithfully and injects each fault as its contract says,
// over real loopback sockets: a real echo server (or a listening socket the test drives itself)
// stands upstream, and the test is the client. Timing checks are lower bounds only, so a loaded
// machine cannot make them fail.
#include "tests/chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace fxmesh::chaos {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Long enough for anything that should happen to happen on a loaded machine; reached only when
// a test is about to fail.
constexpr milliseconds kPatience(10'000);
// How long a test watches for something that must not happen (bytes through a blackhole).
constexpr milliseconds kQuietPeriod(300);

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    Reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

int PortOf(int fd) {
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) == 0);
  return ntohs(bound.sin_port);
}

// A socket bound to a free loopback port; listening unless `listen_too` is false, in which case
// the port refuses connections yet stays reserved, so no other process can take it meanwhile.
Fd BindLoopback(bool listen_too = true) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  const sockaddr_in address = Loopback(0);
  REQUIRE(bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
  if (listen_too) REQUIRE(listen(fd.get(), 64) == 0);
  return fd;
}

// A blocking connection to 127.0.0.1:`port`; invalid if connect() fails.
Fd ConnectTo(int port) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.valid());
  const sockaddr_in address = Loopback(port);
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Fd();
  }
  return fd;
}

// Whether `fd` becomes ready for `events` within `timeout`.
bool AwaitReady(int fd, short events, milliseconds timeout) {
  pollfd entry{.fd = fd, .events = events, .revents = 0};
  return poll(&entry, 1, static_cast<int>(timeout.count())) > 0;
}

// The next connection on `listener`, or an invalid Fd if none comes within `timeout`.
Fd AcceptWithin(const Fd& listener, milliseconds timeout) {
  if (!AwaitReady(listener.get(), POLLIN, timeout)) return Fd();
  return Fd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
}

// Writes all of `bytes`; false if the connection fails first.
bool SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    if (!AwaitReady(fd, POLLOUT, kPatience)) return false;
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `size` bytes have come, the stream ends or fails, or `timeout` passes.
std::string ReadUpTo(int fd, size_t size, milliseconds timeout = kPatience) {
  std::string received;
  const steady_clock::time_point deadline = steady_clock::now() + timeout;
  char buffer[64 * 1024];
  while (received.size() < size) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0 || !AwaitReady(fd, POLLIN, left)) break;
    const ssize_t n = recv(fd, buffer, std::min(sizeof(buffer), size - received.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  return received;
}

enum class Ending { kEof, kReset, kData, kStillOpen };

// How the connection on `fd` goes on: it ends (EOF or reset), delivers bytes, or does neither
// within `timeout`.
Ending AwaitEnding(int fd, milliseconds timeout = kPatience) {
  if (!AwaitReady(fd, POLLIN, timeout)) return Ending::kStillOpen;
  char byte;
  const ssize_t n = recv(fd, &byte, 1, 0);
  if (n > 0) return Ending::kData;
  if (n == 0) return Ending::kEof;
  return errno == ECONNRESET ? Ending::kReset : Ending::kEof;
}

// Bytes that differ from one offset to the next and from one seed to the next, so a lost, doubled
// or misplaced chunk shows.
std::string Pattern(size_t size, int seed) {
  std::string bytes(size, '\0');
  uint32_t state = 2'654'435'761u * static_cast<uint32_t>(seed + 1);
  for (char& byte : bytes) {
    state = state * 1'664'525u + 1'013'904'223u;
    byte = static_cast<char>(state >> 24);
  }
  return bytes;
}

// Polls `condition` until it holds or kPatience passes; returns its last value.
bool Eventually(const std::function<bool()>& condition) {
  const steady_clock::time_point deadline = steady_clock::now() + kPatience;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// An echo server on a free loopback port: each connection gets back what it sends, and is closed
// when the client ends its side. It counts what it receives, so a test can tell whether a request
// reached it. Destroying it closes every connection (the upstream "dies").
class EchoServer {
 public:
  EchoServer() : listener_(BindLoopback()), port_(PortOf(listener_.get())) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~EchoServer() {
    stopping_ = true;
    accept_thread_.join();
    absl::MutexLock lock(&mu_);
    for (std::thread& thread : connection_threads_) thread.join();
  }

  int port() const { return port_; }
  int64_t bytes_received() const { return bytes_received_.load(); }
  int64_t connections_accepted() const { return connections_accepted_.load(); }
  int64_t connections_open() const { return connections_open_.load(); }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      Fd connection = AcceptWithin(listener_, milliseconds(20));
      if (!connection.valid()) continue;
      ++connections_accepted_;
      ++connections_open_;
      absl::MutexLock lock(&mu_);
      connection_threads_.emplace_back(
          [this, connection = std::move(connection)]() mutable { Echo(std::move(connection)); });
    }
  }

  // Echoes until the client ends its side or the server stops; then closes the connection.
  void Echo(Fd connection) {
    const int fd = connection.get();
    char buffer[64 * 1024];
    while (!stopping_) {
      if (!AwaitReady(fd, POLLIN, milliseconds(20))) continue;
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      bytes_received_ += n;
      if (!SendAll(fd, std::string(buffer, static_cast<size_t>(n)))) break;
    }
    connection.Reset();
    --connections_open_;
  }

  Fd listener_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> bytes_received_{0};
  std::atomic<int64_t> connections_accepted_{0};
  std::atomic<int64_t> connections_open_{0};
  absl::Mutex mu_;
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  std::thread accept_thread_;
};

std::unique_ptr<TcpProxy> StartProxy(int upstream_port) {
  absl::StatusOr<std::unique_ptr<TcpProxy>> proxy = TcpProxy::Start(0, "127.0.0.1", upstream_port);
  INFO(proxy.status().ToString());
  REQUIRE(proxy.ok());
  return *std::move(proxy);
}

// Sends `message` on `fd` and returns what comes back within kPatience.
std::string RoundTrip(int fd, const std::string& message) {
  REQUIRE(SendAll(fd, message));
  return ReadUpTo(fd, message.size());
}

// A new connection through `proxy` that has carried one round trip of `greeting`, so it is known
// to work end to end.
Fd WorkingClient(const TcpProxy& proxy, const std::string& greeting) {
  Fd client = ConnectTo(proxy.port());
  REQUIRE(client.valid());
  REQUIRE(RoundTrip(client.get(), greeting) == greeting);
  return client;
}

// One connection through a proxy to a listening socket the test drives itself, instead of an echo
// server, to control exactly what the upstream sends and when.
struct DrivenConnection {
  DrivenConnection()
      : listener(BindLoopback()),
        proxy(StartProxy(PortOf(listener.get()))),
        client(ConnectTo(proxy->port())),
        upstream(AcceptWithin(listener, kPatience)) {
    REQUIRE(client.valid());
    REQUIRE(upstream.valid());
  }

  Fd listener;
  std::unique_ptr<TcpProxy> proxy;
  Fd client;
  Fd upstream;  // The upstream's end of the connection.
};

size_t OpenFileDescriptors() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator()));
}

TEST_CASE("the proxy passes bytes through intact both ways including large transfers",
          "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  Fd client = WorkingClient(*proxy, "hello");

  // Far larger than the proxy's buffer and the kernels' socket buffers, written while it is read
  // back, so the proxy must keep both directions flowing under back-pressure.
  const std::string large = Pattern(24 * 1024 * 1024, 1);
  std::thread writer([&] { CHECK(SendAll(client.get(), large)); });
  const std::string echoed = ReadUpTo(client.get(), large.size(), milliseconds(60'000));
  writer.join();
  CHECK(echoed.size() == large.size());
  CHECK(echoed == large);
  // The counters are bumped just after the bytes are written, so they may trail the echo a little.
  const auto expected_bytes = static_cast<int64_t>(large.size() + 5);
  CHECK(Eventually([&] { return proxy->stats().bytes_up == expected_bytes; }));
  CHECK(Eventually([&] { return proxy->stats().bytes_down == expected_bytes; }));
  CHECK(proxy->stats().connections_accepted == 1);
  CHECK(proxy->stats().connections_reset == 0);
}

TEST_CASE("connections in parallel each get their own bytes back", "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  constexpr int kClients = 12;
  std::atomic<int> intact{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Fd client = ConnectTo(proxy->port());
      const std::string message = Pattern(512 * 1024, i);
      if (!client.valid() || !SendAll(client.get(), message)) return;
      if (ReadUpTo(client.get(), message.size()) == message) ++intact;
    });
  }
  for (std::thread& client : clients) client.join();
  CHECK(intact == kClients);
  CHECK(proxy->stats().connections_accepted == kClients);
}

TEST_CASE("latency delays each direction by at least the set amount and keeps order",
          "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  Fd client = WorkingClient(*proxy, "warm");

  constexpr absl::Duration kOneWay = absl::Milliseconds(150);
  proxy->SetLatency(kOneWay);
  const absl::Time sent = absl::Now();
  REQUIRE(RoundTrip(client.get(), "ping") == "ping");
  CHECK(absl::Now() - sent >= 2 * kOneWay);

  // A chunk read after the latency is lowered must not overtake one still waiting out the old
  // latency.
  proxy->SetLatency(absl::Milliseconds(300));
  REQUIRE(SendAll(client.get(), "first,"));
  // Gives the proxy time to read "first," under the high latency. Should a loaded machine delay
  // the read past the change, the order holds trivially: the test cannot fail for it.
  std::this_thread::sleep_for(milliseconds(50));
  proxy->SetLatency(absl::ZeroDuration());
  REQUIRE(SendAll(client.get(), "second"));
  CHECK(ReadUpTo(client.get(), 12) == "first,second");
}

TEST_CASE("a blackhole holds bytes and new connections and delivers them after healing",
          "[chaos][proxy]") {
  DrivenConnection driven;
  REQUIRE(SendAll(driven.client.get(), "ping"));
  REQUIRE(ReadUpTo(driven.upstream.get(), 4) == "ping");

  driven.proxy->SetBlackhole(true);
  REQUIRE(SendAll(driven.upstream.get(), "pong"));
  REQUIRE(SendAll(driven.client.get(), "more"));
  Fd late_client = ConnectTo(driven.proxy->port());
  REQUIRE(late_client.valid());  // Accepted, though held.
  REQUIRE(SendAll(late_client.get(), "late"));
  CHECK_FALSE(AwaitReady(driven.client.get(), POLLIN, kQuietPeriod));
  CHECK_FALSE(AwaitReady(driven.upstream.get(), POLLIN, kQuietPeriod));
  CHECK_FALSE(AcceptWithin(driven.listener, kQuietPeriod).valid());
  CHECK(driven.proxy->stats().bytes_up == 4);
  CHECK(driven.proxy->stats().bytes_down == 0);

  driven.proxy->HealAll();
  CHECK(ReadUpTo(driven.client.get(), 4) == "pong");
  CHECK(ReadUpTo(driven.upstream.get(), 4) == "more");
  Fd late_upstream = AcceptWithin(driven.listener, kPatience);
  REQUIRE(late_upstream.valid());
  CHECK(ReadUpTo(late_upstream.get(), 4) == "late");
}

TEST_CASE("refuse resets new connections at once and leaves open ones alone", "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  Fd open_before = WorkingClient(*proxy, "before");

  proxy->SetRefuse(true);
  Fd refused = ConnectTo(proxy->port());
  // The kernel completes the handshake before the proxy sees the connection, so connect() may
  // succeed; the reset follows at once.
  if (refused.valid()) CHECK(AwaitEnding(refused.get()) == Ending::kReset);
  CHECK(echo.connections_accepted() == 1);
  CHECK(RoundTrip(open_before.get(), "still") == "still");
  CHECK(proxy->stats().connections_reset == 1);

  proxy->SetRefuse(false);
  WorkingClient(*proxy, "after");
}

TEST_CASE("ResetAll resets every open connection and new ones work", "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  Fd first = ConnectTo(proxy->port());
  Fd second = ConnectTo(proxy->port());
  REQUIRE(first.valid());
  REQUIRE(second.valid());
  REQUIRE(RoundTrip(first.get(), "one") == "one");
  // The second connection may not even have been taken by the proxy yet: it is reset all the same.
  proxy->ResetAll();
  CHECK(AwaitEnding(first.get()) == Ending::kReset);
  CHECK(AwaitEnding(second.get()) == Ending::kReset);
  CHECK(proxy->stats().connections_reset == 2);
  CHECK(Eventually([&] { return echo.connections_open() == 0; }));

  WorkingClient(*proxy, "three");
}

TEST_CASE("dropped replies reach the upstream but the client gets a reset and no bytes",
          "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  Fd client = WorkingClient(*proxy, "open");

  proxy->SetDropReplies(true);
  const std::string request = "debit 100";
  REQUIRE(SendAll(client.get(), request));
  CHECK(Eventually(
      [&] { return echo.bytes_received() == 4 + static_cast<int64_t>(request.size()); }));
  CHECK(AwaitEnding(client.get()) == Ending::kReset);  // kData would mean the reply got through.
  CHECK(proxy->stats().replies_dropped == 1);
  CHECK(proxy->stats().bytes_down == 4);

  proxy->SetDropReplies(false);
  WorkingClient(*proxy, "credit 100");
}

TEST_CASE("an upstream that is down or goes away closes the client connection", "[chaos][proxy]") {
  SECTION("nothing listens upstream") {
    Fd reserved = BindLoopback(/*listen_too=*/false);
    std::unique_ptr<TcpProxy> proxy = StartProxy(PortOf(reserved.get()));
    Fd client = ConnectTo(proxy->port());
    REQUIRE(client.valid());
    const Ending ending = AwaitEnding(client.get());
    CHECK((ending == Ending::kReset || ending == Ending::kEof));
    CHECK(Eventually([&] { return proxy->stats().connections_open == 0; }));
  }
  SECTION("the upstream dies mid-connection") {
    auto echo = std::make_unique<EchoServer>();
    std::unique_ptr<TcpProxy> proxy = StartProxy(echo->port());
    Fd client = WorkingClient(*proxy, "alive");
    echo.reset();
    const Ending ending = AwaitEnding(client.get());
    CHECK((ending == Ending::kReset || ending == Ending::kEof));
    // The client has closed its side in answer, as a real one would, so the proxy is done too.
    client.Reset();
    CHECK(Eventually([&] { return proxy->stats().connections_open == 0; }));
  }
}

TEST_CASE("a half-close is passed on while the other direction keeps flowing", "[chaos][proxy]") {
  DrivenConnection driven;

  REQUIRE(SendAll(driven.client.get(), "request"));
  REQUIRE(shutdown(driven.client.get(), SHUT_WR) == 0);
  CHECK(ReadUpTo(driven.upstream.get(), 100) == "request");  // Stops at the end of the stream.
  CHECK(AwaitEnding(driven.upstream.get()) == Ending::kEof);

  REQUIRE(SendAll(driven.upstream.get(), "reply after the client finished"));
  CHECK(ReadUpTo(driven.client.get(), 31) == "reply after the client finished");
  driven.upstream.Reset();
  CHECK(AwaitEnding(driven.client.get()) == Ending::kEof);
  CHECK(Eventually([&] { return driven.proxy->stats().connections_open == 0; }));
  CHECK(driven.proxy->stats().connections_reset == 0);
}

TEST_CASE("a reader that does not read makes its writer wait instead of the proxy buffering",
          "[chaos][proxy]") {
  DrivenConnection driven;

  // Far more than the proxy's buffer and every socket buffer on the way together: an unbounded
  // proxy would take it all.
  const std::string data = Pattern(96 * 1024 * 1024, 7);
  size_t sent = 0;
  while (sent < data.size()) {
    if (!AwaitReady(driven.client.get(), POLLOUT, milliseconds(500))) break;  // The writer is held.
    const ssize_t n = send(driven.client.get(), data.data() + sent, data.size() - sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) sent += static_cast<size_t>(n);
  }
  CHECK(sent < data.size());
  CHECK(sent > 0);

  // Once the reader reads, everything written arrives, intact.
  CHECK(ReadUpTo(driven.upstream.get(), sent, milliseconds(60'000)) == data.substr(0, sent));
}

TEST_CASE("destroying the proxy with open and busy connections returns and closes them",
          "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  std::vector<Fd> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(WorkingClient(*proxy, "hi"));
  }
  // Bytes waiting out a long latency, and a connection the proxy has not connected upstream yet.
  proxy->SetLatency(absl::Seconds(30));
  REQUIRE(SendAll(clients[0].get(), Pattern(1024 * 1024, 3)));
  proxy->SetBlackhole(true);
  clients.push_back(ConnectTo(proxy->port()));
  REQUIRE(clients.back().valid());

  const steady_clock::time_point start = steady_clock::now();
  proxy.reset();
  // Generous: it takes milliseconds, and a hang would take forever.
  CHECK(steady_clock::now() - start < kPatience);
  for (const Fd& client : clients) {
    const Ending ending = AwaitEnding(client.get());
    CHECK((ending == Ending::kEof || ending == Ending::kReset));
  }
}

TEST_CASE("connections that come and go under every fault leave no file descriptors behind",
          "[chaos][proxy]") {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = StartProxy(echo.port());
  const size_t fds_before = OpenFileDescriptors();
  for (int round = 0; round < 20; ++round) {
    Fd plain = WorkingClient(*proxy, "plain");
    Fd to_reset = WorkingClient(*proxy, "reset");
    plain.Reset();  // An orderly close by the client.
    proxy->ResetAll();
    CHECK(AwaitEnding(to_reset.get()) == Ending::kReset);

    proxy->SetRefuse(true);
    Fd refused = ConnectTo(proxy->port());
    if (refused.valid()) CHECK(AwaitEnding(refused.get()) == Ending::kReset);
    proxy->SetRefuse(false);

    proxy->SetDropReplies(true);
    Fd dropped = ConnectTo(proxy->port());
    REQUIRE(dropped.valid());
    REQUIRE(SendAll(dropped.get(), "lost"));
    CHECK(AwaitEnding(dropped.get()) == Ending::kReset);
    proxy->HealAll();
  }
  CHECK(Eventually([&] { return proxy->stats().connections_open == 0; }));
  CHECK(Eventually([&] { return echo.connections_open() == 0; }));
  CHECK(Eventually([&] { return OpenFileDescriptors() == fds_before; }));
  CHECK(proxy->stats().connections_accepted == 20 * 4);
  CHECK(proxy->stats().replies_dropped == 20);
}

}  // namespace
}  // namespace fxmesh::chaos
