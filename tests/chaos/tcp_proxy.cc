#include "tests/chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fxmesh::chaos {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string ErrnoText(int error) { return std::strerror(error); }

// Nagle's algorithm would hold the small chunks the proxy writes (HTTP/2 frames) until the
// previous ones are acknowledged, adding delays no real network has.
void SetNoDelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Closes `fd` so that the peer sees a reset (RST) rather than an orderly end (FIN).
void CloseWithReset(int fd) {
  const linger no_linger{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
  close(fd);
}

// accept() failures that mean "out of resources for now": trying again at once would spin.
bool LacksResources(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

absl::StatusOr<int> ListenOnLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  // A test that restarts a proxy on the port it had rebinds at once, while the old connections
  // sit in TIME_WAIT.
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, kProxyListenBacklog) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on 127.0.0.1:", port, ": ", ErrnoText(error)));
  }
  return fd;
}

absl::StatusOr<int> BoundPort(int fd) {
  sockaddr_in bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", ErrnoText(errno)));
  }
  return ntohs(bound.sin_port);
}

}  // namespace

// One direction of a connection: client to upstream ("up") or upstream to client ("down").
struct TcpProxy::Direction {
  // Bytes read from the source, waiting to be written to the destination; or, with `fin`, the end
  // of the stream, passed on as a half-close in its place in the order.
  struct Chunk {
    std::string bytes;
    size_t written = 0;
    bool fin = false;
    SteadyClock::time_point due;
  };

  std::deque<Chunk> chunks;
  size_t buffered_bytes = 0;
  // The source side has ended its stream; its fin chunk is queued or already passed on.
  bool eof_read = false;
  // The destination's write side has been shut down (the fin chunk was delivered).
  bool fin_sent = false;
  // The destination's send buffer was full: nothing more is written until poll says it drained.
  bool write_blocked = false;

  // Whether the source should be read: not after its end, and not past the buffer limit.
  bool WantsRead() const { return !eof_read && buffered_bytes < kProxyBufferedBytesMax; }
  bool HasDue(SteadyClock::time_point now) const {
    return !chunks.empty() && chunks.front().due <= now;
  }
};

struct TcpProxy::Connection {
  enum class Upstream { kHeld, kConnecting, kOpen };

  int client_fd = -1;
  int upstream_fd = -1;
  Upstream upstream = Upstream::kHeld;
  Direction up;
  Direction down;
  bool closed = false;
};

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int listen_port,
                                                          std::string upstream_host,
                                                          int upstream_port) {
  return Start(listen_port, std::move(upstream_host), std::vector<int>{upstream_port});
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int listen_port,
                                                          std::string upstream_host,
                                                          std::vector<int> upstream_ports) {
  bool ports_valid = listen_port >= 0 && listen_port <= 65535 && !upstream_ports.empty();
  for (int upstream_port : upstream_ports)
    ports_valid = ports_valid && upstream_port > 0 && upstream_port <= 65535;
  if (!ports_valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("ports must be in 0..65535 (the upstreams' not 0, at least one);"
                     " got listen ",
                     listen_port, ", upstreams ", absl::StrJoin(upstream_ports, ",")));
  }
  const int upstream_port = upstream_ports.front();
  // The upstream is resolved once, here: a test names it by a literal address or "localhost", and
  // each connection then connects without a lookup that could block the proxy's thread.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  const std::string service = absl::StrCat(upstream_port);
  const int resolve_error = getaddrinfo(upstream_host.c_str(), service.c_str(), &hints, &resolved);
  if (resolve_error != 0 || resolved == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve upstream '", upstream_host,
                                                   "': ", gai_strerror(resolve_error)));
  }
  sockaddr_storage upstream{};
  const socklen_t upstream_length = resolved->ai_addrlen;
  std::memcpy(&upstream, resolved->ai_addr, upstream_length);
  freeaddrinfo(resolved);
  // Every replica is on the same host: only the port differs.
  std::vector<sockaddr_storage> upstreams;
  for (int port : upstream_ports) {
    sockaddr_storage address = upstream;
    if (address.ss_family == AF_INET6) {
      reinterpret_cast<sockaddr_in6*>(&address)->sin6_port = htons(static_cast<uint16_t>(port));
    } else {
      reinterpret_cast<sockaddr_in*>(&address)->sin_port = htons(static_cast<uint16_t>(port));
    }
    upstreams.push_back(address);
  }

  absl::StatusOr<int> listen_fd = ListenOnLoopback(listen_port);
  if (!listen_fd.ok()) return listen_fd.status();
  absl::StatusOr<int> port = BoundPort(*listen_fd);
  const int wake_fd = port.ok() ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
  if (port.ok() && wake_fd < 0) {
    port = absl::InternalError(absl::StrCat("eventfd: ", ErrnoText(errno)));
  }
  if (!port.ok()) {
    close(*listen_fd);
    return port.status();
  }
  return std::unique_ptr<TcpProxy>(
      new TcpProxy(*listen_fd, wake_fd, *port, std::move(upstreams), upstream_length));
}

TcpProxy::TcpProxy(int listen_fd, int wake_fd, int port, std::vector<sockaddr_storage> upstreams,
                   socklen_t upstream_length)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      port_(port),
      upstreams_(std::move(upstreams)),
      upstream_length_(upstream_length) {
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

template <typename Change>
void TcpProxy::Configure(Change change) {
  absl::MutexLock lock(&mu_);
  change();
  const uint64_t generation = ++generation_requested_;
  Wake();
  // Waiting for the loop makes each call a clean cut: a test (or the nemesis) that turns on a
  // blackhole knows no byte is forwarded after the call returns.
  auto seen = [this, generation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return generation_applied_ >= generation || stopping_;
  };
  mu_.Await(absl::Condition(&seen));
}

void TcpProxy::SetLatency(absl::Duration one_way) {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    modes_.latency = std::max(one_way, absl::ZeroDuration());
  });
}

void TcpProxy::SetBlackhole(bool on) {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { modes_.blackhole = on; });
}

void TcpProxy::SetRefuse(bool on) {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { modes_.refuse = on; });
}

void TcpProxy::ResetAll() {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { reset_requested_ = true; });
}

void TcpProxy::SetDropReplies(bool on) {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { modes_.drop_replies = on; });
}

void TcpProxy::HealAll() {
  Configure([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { modes_ = Modes(); });
}

TcpProxy::Stats TcpProxy::stats() const {
  Stats stats;
  stats.connections_accepted = connections_accepted_.load();
  stats.connections_open = connections_open_.load();
  stats.connections_reset = connections_reset_.load();
  stats.bytes_up = bytes_up_.load();
  stats.bytes_down = bytes_down_.load();
  stats.replies_dropped = replies_dropped_.load();
  return stats;
}

void TcpProxy::Wake() {
  const uint64_t one = 1;
  // It can only fail if the counter is about to overflow, and then a wake-up is pending anyway.
  [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof(one));
}

TcpProxy::Modes TcpProxy::TakeModes(uint64_t* generation, bool* reset_requested, bool* stopping) {
  absl::MutexLock lock(&mu_);
  *generation = generation_requested_;
  *reset_requested = std::exchange(reset_requested_, false);
  *stopping = stopping_;
  return modes_;
}

void TcpProxy::Acknowledge(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  generation_applied_ = generation;
}

void TcpProxy::Loop() {
  // What each entry of the poll set stands for.
  struct Target {
    Connection* connection;  // Null for the listening socket and the wake-up eventfd.
    bool upstream_side;
  };
  std::vector<pollfd> poll_fds;
  std::vector<Target> targets;
  Modes modes;
  for (;;) {
    // The poll set: the eventfd always, the listening socket unless accepting is paused, and each
    // connection's sockets for what they can do now. A blackhole leaves the connections out
    // altogether, so even a close or a reset waits for the partition to heal.
    const SteadyClock::time_point now = SteadyClock::now();
    SteadyClock::time_point wake_at = now + std::chrono::milliseconds(kProxyPollIntervalMsMax);
    poll_fds.clear();
    targets.clear();
    poll_fds.push_back({.fd = wake_fd_, .events = POLLIN, .revents = 0});
    targets.push_back({nullptr, false});
    const bool accepting = accept_paused_until_ <= now;
    if (accepting) {
      poll_fds.push_back({.fd = listen_fd_, .events = POLLIN, .revents = 0});
      targets.push_back({nullptr, false});
    } else {
      wake_at = std::min(wake_at, accept_paused_until_);
    }
    for (const std::unique_ptr<Connection>& connection : connections_) {
      if (modes.blackhole) break;
      const short client_events = (connection->up.WantsRead() ? POLLIN : 0) |
                                  (connection->down.write_blocked ? POLLOUT : 0);
      short upstream_events = 0;
      if (connection->upstream == Connection::Upstream::kConnecting) {
        upstream_events = POLLOUT;
      } else if (connection->upstream == Connection::Upstream::kOpen) {
        upstream_events = (connection->down.WantsRead() ? POLLIN : 0) |
                          (connection->up.write_blocked ? POLLOUT : 0);
        // A chunk that is not due yet sets the time to wake up and write it.
        for (const Direction* direction : {&connection->up, &connection->down}) {
          if (!direction->chunks.empty() && !direction->write_blocked) {
            wake_at = std::min(wake_at, direction->chunks.front().due);
          }
        }
      }
      // A socket with nothing to wait for stays out of the set: poll would report a hang-up on it
      // again and again while, say, its last bytes wait out a latency.
      if (client_events != 0) {
        poll_fds.push_back({.fd = connection->client_fd, .events = client_events, .revents = 0});
        targets.push_back({connection.get(), false});
      }
      if (upstream_events != 0) {
        poll_fds.push_back(
            {.fd = connection->upstream_fd, .events = upstream_events, .revents = 0});
        targets.push_back({connection.get(), true});
      }
    }
    // Rounded up, so a chunk is never woken for a little before it is due.
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(wake_at - now);
    const int ready = poll(poll_fds.data(), poll_fds.size(),
                           static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (ready < 0 && errno != EINTR) {
      // poll fails only for a programming error (a bad set); the loop must still end on stop.
      std::this_thread::sleep_for(std::chrono::milliseconds(kProxyAcceptRetryMs));
    }

    // The eventfd is drained before the modes are read: a change made after this point wakes the
    // next poll at once, so no change waits for the safety-net interval.
    uint64_t wakes = 0;
    [[maybe_unused]] ssize_t drained = read(wake_fd_, &wakes, sizeof(wakes));
    uint64_t generation = 0;
    bool reset_requested = false;
    bool stopping = false;
    modes = TakeModes(&generation, &reset_requested, &stopping);
    if (stopping) break;

    // Connections the kernel has already completed are taken before a reset, so that ResetAll
    // also reaches a client whose connect() returned before the call.
    const bool listener_ready = accepting && poll_fds[1].revents != 0;
    if ((listener_ready || reset_requested) && accept_paused_until_ <= SteadyClock::now()) {
      AcceptPending(modes);
    }
    if (reset_requested) {
      for (const std::unique_ptr<Connection>& connection : connections_) {
        Close(*connection, /*reset_client=*/true);
      }
    }
    Acknowledge(generation);

    if (ready > 0 && !modes.blackhole) {
      for (size_t i = 0; i < poll_fds.size(); ++i) {
        Connection* connection = targets[i].connection;
        if (connection == nullptr || connection->closed || poll_fds[i].revents == 0) continue;
        const short asked = poll_fds[i].events;
        if (targets[i].upstream_side) {
          if (connection->upstream == Connection::Upstream::kConnecting) {
            FinishUpstreamConnect(*connection);
            continue;
          }
          if (asked & POLLOUT) connection->up.write_blocked = false;
          if (asked & POLLIN) ReadUpstream(*connection, modes);
        } else {
          if (asked & POLLOUT) connection->down.write_blocked = false;
          if (asked & POLLIN) ReadClient(*connection, modes);
        }
      }
    }
    if (!modes.blackhole) {
      for (const std::unique_ptr<Connection>& connection : connections_) Pump(*connection);
    }
    std::erase_if(connections_,
                  [](const std::unique_ptr<Connection>& connection) { return connection->closed; });
  }
  // Stopping: every connection ends with its sockets; the clients see the proxy go away.
  for (const std::unique_ptr<Connection>& connection : connections_) {
    Close(*connection, /*reset_client=*/false);
  }
  connections_.clear();
}

void TcpProxy::AcceptPending(const Modes& modes) {
  for (;;) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (LacksResources(errno)) {
        accept_paused_until_ = SteadyClock::now() + std::chrono::milliseconds(kProxyAcceptRetryMs);
      }
      return;
    }
    ++connections_accepted_;
    if (modes.refuse || static_cast<int>(connections_.size()) >= kProxyConnectionsMax) {
      ++connections_reset_;
      CloseWithReset(fd);
      continue;
    }
    SetNoDelay(fd);
    auto connection = std::make_unique<Connection>();
    connection->client_fd = fd;
    connections_.push_back(std::move(connection));
    ++connections_open_;
  }
}

void TcpProxy::StartUpstreamConnect(Connection& connection) {
  const sockaddr_storage& upstream = upstreams_[next_upstream_++ % upstreams_.size()];
  const int fd = socket(upstream.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    Close(connection, /*reset_client=*/true);
    return;
  }
  SetNoDelay(fd);
  connection.upstream_fd = fd;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&upstream), upstream_length_) == 0) {
    connection.upstream = Connection::Upstream::kOpen;
  } else if (errno == EINPROGRESS) {
    connection.upstream = Connection::Upstream::kConnecting;
  } else {
    // The upstream is down: the client sees its connection reset, as it would see a refusal.
    Close(connection, /*reset_client=*/true);
  }
}

void TcpProxy::FinishUpstreamConnect(Connection& connection) {
  int error = 0;
  socklen_t length = sizeof(error);
  if (getsockopt(connection.upstream_fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
    error = errno;
  }
  if (error == 0) {
    connection.upstream = Connection::Upstream::kOpen;
  } else {
    Close(connection, /*reset_client=*/true);
  }
}

void TcpProxy::ReadClient(Connection& connection, const Modes& modes) {
  ReadInto(connection, connection.client_fd, connection.up, modes);
}

void TcpProxy::ReadUpstream(Connection& connection, const Modes& modes) {
  if (ReadInto(connection, connection.upstream_fd, connection.down, modes) == ReadResult::kData &&
      modes.drop_replies) {
    // The upstream has answered, so it has acted on the request: losing the answer now is the
    // ambiguous failure the chaos test is after. Close drops the held bytes with the connection.
    ++replies_dropped_;
    Close(connection, /*reset_client=*/true);
  }
}

TcpProxy::ReadResult TcpProxy::ReadInto(Connection& connection, int fd, Direction& direction,
                                        const Modes& modes) {
  if (!direction.WantsRead()) return ReadResult::kNothing;
  const size_t room =
      std::min(kProxyReadBytesMax, kProxyBufferedBytesMax - direction.buffered_bytes);
  Direction::Chunk chunk;
  chunk.bytes.resize(room);
  const ssize_t received = recv(fd, chunk.bytes.data(), room, 0);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ReadResult::kNothing;
    // The peer reset the connection (or it failed): the other side learns of it by a reset too.
    Close(connection, /*reset_client=*/true);
    return ReadResult::kFailed;
  }
  chunk.due = SteadyClock::now() + absl::ToChronoNanoseconds(modes.latency);
  if (received == 0) {
    chunk.bytes.clear();
    chunk.fin = true;
    direction.eof_read = true;
    direction.chunks.push_back(std::move(chunk));
    return ReadResult::kEnd;
  }
  chunk.bytes.resize(static_cast<size_t>(received));
  direction.buffered_bytes += chunk.bytes.size();
  direction.chunks.push_back(std::move(chunk));
  return ReadResult::kData;
}

bool TcpProxy::Flush(Connection& connection, int fd, Direction& direction,
                     std::atomic<int64_t>& counter) {
  const SteadyClock::time_point now = SteadyClock::now();
  while (!direction.write_blocked && direction.HasDue(now)) {
    Direction::Chunk& chunk = direction.chunks.front();
    if (chunk.fin) {
      // A socket the peer has already reset refuses the shutdown; the next read or write on it
      // reports the reset, so the error needs no handling here.
      shutdown(fd, SHUT_WR);
      direction.fin_sent = true;
      direction.chunks.pop_front();
      continue;
    }
    const ssize_t sent = send(fd, chunk.bytes.data() + chunk.written,
                              chunk.bytes.size() - chunk.written, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        direction.write_blocked = true;
        break;
      }
      Close(connection, /*reset_client=*/true);
      return false;
    }
    chunk.written += static_cast<size_t>(sent);
    direction.buffered_bytes -= static_cast<size_t>(sent);
    counter += sent;
    if (chunk.written == chunk.bytes.size()) direction.chunks.pop_front();
  }
  return true;
}

void TcpProxy::Pump(Connection& connection) {
  if (connection.closed) return;
  if (connection.upstream == Connection::Upstream::kHeld) StartUpstreamConnect(connection);
  if (connection.closed || connection.upstream != Connection::Upstream::kOpen) return;
  if (!Flush(connection, connection.upstream_fd, connection.up, bytes_up_)) return;
  if (!Flush(connection, connection.client_fd, connection.down, bytes_down_)) return;
  // Both directions have ended and been passed on: the connection is over.
  if (connection.up.fin_sent && connection.down.fin_sent) {
    Close(connection, /*reset_client=*/false);
  }
}

void TcpProxy::Close(Connection& connection, bool reset_client) {
  if (connection.closed) return;
  connection.closed = true;
  // The counters change before the sockets do, so a client that sees its connection end finds
  // it counted.
  --connections_open_;
  if (reset_client) {
    ++connections_reset_;
    CloseWithReset(connection.client_fd);
  } else {
    close(connection.client_fd);
  }
  if (connection.upstream_fd >= 0) close(connection.upstream_fd);
  connection.client_fd = -1;
  connection.upstream_fd = -1;
  connection.up = Direction();
  connection.down = Direction();
}

}  // namespace fxmesh::chaos
