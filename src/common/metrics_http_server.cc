#include "common/metrics_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"
#include "common/log.h"

namespace fxmesh {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

SteadyTime DeadlineIn(int64_t ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

// Milliseconds left until `deadline`, at least 0.
int64_t MsUntil(SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max<int64_t>(0, left.count());
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Binds and listens on the first address `host:port` resolves to that accepts it; returns the
// listening socket.
absl::StatusOr<int> Listen(absl::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address must be host:port; got '", address, "'"));
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port(address.substr(colon + 1));
  int port_number = 0;
  if (!absl::SimpleAtoi(port, &port_number) || port_number < 0 || port_number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address must end in a port from 0 to 65535; got '", address, "'"));
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* resolved = nullptr;
  const int resolve_error =
      getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &resolved);
  if (resolve_error != 0) {
    const std::string message = absl::StrCat("cannot resolve metrics address '", address,
                                             "': ", gai_strerror(resolve_error));
    return resolve_error == EAI_AGAIN ? absl::UnavailableError(message)
                                      : absl::InvalidArgumentError(message);
  }
  int last_error = EADDRNOTAVAIL;
  int fd = -1;
  for (addrinfo* candidate = resolved; candidate != nullptr; candidate = candidate->ai_next) {
    fd = socket(candidate->ai_family, candidate->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                candidate->ai_protocol);
    if (fd < 0) {
      last_error = errno;
      continue;
    }
    // A restarted process may rebind at once, while its old connections sit in TIME_WAIT. On
    // Linux this never lets two processes listen on one port.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, candidate->ai_addr, candidate->ai_addrlen) == 0 &&
        listen(fd, limits::kMetricsListenBacklog) == 0) {
      break;
    }
    last_error = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(resolved);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " for metrics: ", ErrnoText(last_error)));
  }
  return fd;
}

absl::StatusOr<int> BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", ErrnoText(errno)));
  }
  if (bound.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

// Where the request head ends: a blank line, CRLF as HTTP says or bare LF as some tools send.
bool HasWholeHead(absl::string_view received) {
  return received.find("\r\n\r\n") != absl::string_view::npos ||
         received.find("\n\n") != absl::string_view::npos;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    absl::string_view address, MetricsRegistry& registry, ReadinessCheck readiness) {
  absl::StatusOr<int> listen_fd = Listen(address);
  if (!listen_fd.ok()) return listen_fd.status();
  absl::StatusOr<int> port = BoundPort(*listen_fd);
  int wake[2] = {-1, -1};
  if (port.ok() && pipe2(wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    port = absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
  }
  if (!port.ok()) {
    close(*listen_fd);
    return port.status();
  }
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(*listen_fd, wake[0], wake[1], *port, registry, std::move(readiness)));
}

MetricsHttpServer::MetricsHttpServer(int listen_fd, int wake_read_fd, int wake_write_fd, int port,
                                     MetricsRegistry& registry, ReadinessCheck readiness)
    : listen_fd_(listen_fd),
      wake_read_fd_(wake_read_fd),
      wake_write_fd_(wake_write_fd),
      port_(port),
      registry_(registry),
      readiness_(std::move(readiness)) {
  thread_ = std::thread([this] { Loop(); });
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Stop() {
  absl::MutexLock lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  const char byte = 0;
  // The pipe is empty (nothing else writes to it), so this write cannot fail for lack of room.
  (void)write(wake_write_fd_, &byte, 1);
  thread_.join();
  close(listen_fd_);
  close(wake_read_fd_);
  close(wake_write_fd_);
}

MetricsHttpServer::Wait MetricsHttpServer::WaitFor(int fd, short events, int64_t timeout_ms) {
  const SteadyTime deadline = DeadlineIn(std::max<int64_t>(timeout_ms, 0));
  while (true) {
    pollfd fds[2] = {{wake_read_fd_, POLLIN, 0}, {fd, events, 0}};
    // A signal may cut poll short; the deadline keeps the total wait what was asked.
    const int ready = poll(fds, 2, timeout_ms < 0 ? -1 : static_cast<int>(MsUntil(deadline)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) {
      // Only a broken process (no memory, a closed descriptor) gets here; serving cannot go on.
      LogError("metrics endpoint stops: poll failed").With("error", ErrnoText(errno));
      return Wait::kStopping;
    }
    if (fds[0].revents != 0) return Wait::kStopping;
    if (ready == 0) return Wait::kTimedOut;
    // Errors and hang-ups count as ready: the recv or send that follows reports them.
    return Wait::kReady;
  }
}

void MetricsHttpServer::Loop() {
  while (true) {
    if (WaitFor(listen_fd_, POLLIN, -1) == Wait::kStopping) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      Serve(fd);
      close(fd);
      continue;
    }
    const int error = errno;
    if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
      // The pending connection stays queued, so the listening socket stays readable: pause
      // rather than spin until resources come back.
      LogWarning("metrics endpoint cannot accept").With("error", ErrnoText(error));
      if (WaitFor(wake_read_fd_, POLLIN, limits::kMetricsAcceptRetryMs) == Wait::kStopping) {
        return;
      }
    }
    // Anything else (EAGAIN, ECONNABORTED) concerns one connection only: wait for the next.
  }
}

absl::StatusOr<std::string> MetricsHttpServer::ReadRequestHead(int fd) {
  const SteadyTime deadline = DeadlineIn(limits::kMetricsRequestTimeoutMs);
  std::string received;
  char buffer[1024];
  while (!HasWholeHead(received)) {
    if (received.size() > limits::kMetricsRequestBytesMax) {
      return absl::ResourceExhaustedError("request head too large");
    }
    const Wait wait = WaitFor(fd, POLLIN, MsUntil(deadline));
    if (wait == Wait::kTimedOut) return absl::DeadlineExceededError("request head too slow");
    if (wait == Wait::kStopping) return absl::CancelledError("stopping");
    // Never more than one byte past the limit, which is then reported above.
    const size_t room = limits::kMetricsRequestBytesMax + 1 - received.size();
    const ssize_t n = recv(fd, buffer, std::min(sizeof(buffer), room), 0);
    if (n == 0) return absl::UnavailableError("client closed the connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return absl::UnavailableError(ErrnoText(errno));
    }
    received.append(buffer, static_cast<size_t>(n));
  }
  return received;
}

void MetricsHttpServer::Serve(int fd) {
  absl::StatusOr<std::string> head = ReadRequestHead(fd);
  if (absl::IsResourceExhausted(head.status())) {
    Respond(fd, "431 Request Header Fields Too Large", "text/plain; charset=utf-8", "",
            "request head too large\n");
    return;
  }
  if (absl::IsDeadlineExceeded(head.status())) {
    Respond(fd, "408 Request Timeout", "text/plain; charset=utf-8", "", "request too slow\n");
    return;
  }
  // The client went away or the server is stopping: there is no one to answer.
  if (!head.ok()) return;

  // The request line: METHOD SP request-target SP HTTP-version. Headers are not needed.
  absl::string_view line = absl::string_view(*head).substr(0, head->find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[1][0] != '/' ||
      !absl::StartsWith(parts[2], "HTTP/1.")) {
    Respond(fd, "400 Bad Request", "text/plain; charset=utf-8", "", "not an HTTP/1 request\n");
    return;
  }
  if (parts[0] != "GET") {
    Respond(fd, "405 Method Not Allowed", "text/plain; charset=utf-8", "Allow: GET\r\n",
            "only GET is allowed\n");
    return;
  }
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path == "/metrics") {
    Respond(fd, "200 OK", kPrometheusTextContentType, "", registry_.RenderPrometheusText());
  } else if (path == "/healthz") {
    Respond(fd, "200 OK", "text/plain; charset=utf-8", "", "ok");
  } else if (path == "/readyz" && readiness_ != nullptr) {
    const Readiness readiness = readiness_();
    if (readiness.ready) {
      Respond(fd, "200 OK", "text/plain; charset=utf-8", "", "SERVING\n");
    } else {
      Respond(fd, "503 Service Unavailable", "text/plain; charset=utf-8", "",
              absl::StrCat("NOT_SERVING: ", readiness.reason, "\n"));
    }
  } else {
    Respond(fd, "404 Not Found", "text/plain; charset=utf-8", "", "not found\n");
  }
}

void MetricsHttpServer::Respond(int fd, absl::string_view status, absl::string_view content_type,
                                absl::string_view extra_headers, absl::string_view body) {
  const std::string response = absl::StrCat(
      "HTTP/1.1 ", status, "\r\nContent-Type: ", content_type, "\r\nContent-Length: ", body.size(),
      "\r\nConnection: close\r\n", extra_headers, "\r\n", body);
  const SteadyTime deadline = DeadlineIn(limits::kMetricsResponseTimeoutMs);
  size_t sent = 0;
  while (sent < response.size()) {
    if (WaitFor(fd, POLLOUT, MsUntil(deadline)) != Wait::kReady) return;
    // MSG_NOSIGNAL: a client that has gone away must cost an EPIPE, not the process.
    const ssize_t n = send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    sent += static_cast<size_t>(n);
  }
  CloseGracefully(fd);
}

void MetricsHttpServer::CloseGracefully(int fd) {
  // Closing a socket with unread input makes the kernel reset the connection, and a reset can
  // discard the answer before the client has read it. So: signal the end of the answer, then
  // read (and drop) what the client still sends until it closes, for a bounded time.
  shutdown(fd, SHUT_WR);
  const SteadyTime deadline = DeadlineIn(limits::kMetricsCloseWaitMs);
  char buffer[1024];
  size_t drained = 0;
  while (drained <= limits::kMetricsRequestBytesMax) {
    if (WaitFor(fd, POLLIN, MsUntil(deadline)) != Wait::kReady) return;
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return;
    }
    drained += static_cast<size_t>(n);
  }
}

}  // namespace fxmesh
