// A fault-injecting userspace TCP proxy for chaos tests. It listens on 127.0.0.1 and forwards each
// accepted connection to one upstream (a ledger's gRPC port, say), byte for byte, while a nemesis
// thread turns faults on and off: added latency, a blackhole (a partition that TCP survives),
// refused connections, resets, and replies lost after the upstream acted on the request.
//
// Thread-safety: every public method may be called from any thread, concurrently with traffic and
// with each other, except the destructor. Each Set*, ResetAll and HealAll returns once the proxy
// has taken the change into account: bytes read from a socket after it returns see the new mode.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fxmesh::chaos {

// Bytes held per connection and direction (read but not yet written, late or blackholed). Past it
// the proxy stops reading that side, so a slow reader slows its writer, as TCP would, instead of
// making the proxy buffer without bound.
inline constexpr size_t kProxyBufferedBytesMax = 4 * 1024 * 1024;
// The most bytes taken from a socket in one read; also the largest chunk a latency delays.
inline constexpr size_t kProxyReadBytesMax = 64 * 1024;
// Connections open at once; more are refused (reset) at once. With kProxyBufferedBytesMax this
// bounds the proxy's memory at 2 GiB in the worst case, far above what a test opens.
inline constexpr int kProxyConnectionsMax = 256;
// The longest the proxy's thread sleeps without looking at its state, whatever else happens; a
// safety net only, since every change wakes it at once.
inline constexpr int64_t kProxyPollIntervalMsMax = 1'000;
// After accept() fails for lack of resources (file descriptors, memory), it is tried again after
// this, rather than at once in a busy loop.
inline constexpr int64_t kProxyAcceptRetryMs = 100;
inline constexpr int kProxyListenBacklog = 128;

static_assert(kProxyReadBytesMax <= kProxyBufferedBytesMax);
static_assert(kProxyAcceptRetryMs < kProxyPollIntervalMsMax);

class TcpProxy {
 public:
  // Listens on 127.0.0.1:`listen_port` (0 picks a free port) and forwards each accepted
  // connection to `upstream_host`:`upstream_port`. The upstream need not be up: it is connected
  // for each accepted connection, and a connection it refuses is closed (reset) on the client
  // side. INVALID_ARGUMENT for a port out of range or a host that does not resolve; UNAVAILABLE
  // when the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int listen_port, std::string upstream_host,
                                                         int upstream_port);
  // The same in front of several replicas of one service on `upstream_host`: each accepted
  // connection goes to the next port in turn (round robin per connection, as a Kubernetes Service
  // balances), and every fault applies to all of them alike.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int listen_port, std::string upstream_host,
                                                         std::vector<int> upstream_ports);

  // Stops accepting, closes every connection and joins the proxy's thread. Returns promptly
  // whatever the connections are doing.
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // The port the proxy listens on.
  int port() const { return port_; }

  // Every chunk, both directions, is delivered `one_way` after the proxy read it (a zero or
  // negative duration turns latency off). Order is kept: a chunk never overtakes an earlier one,
  // even after the latency is lowered. Chunks already read keep the delay they were read with.
  void SetLatency(absl::Duration one_way);
  // While on, nothing is forwarded either way: bytes stay where they are (in the proxy and in the
  // kernels' buffers), and so do closes and resets, like a partition that TCP survives. New
  // connections are accepted but held too (the upstream is not contacted). When turned off,
  // everything held flows again, in order.
  void SetBlackhole(bool on);
  // While on, each new connection is closed at once with a reset, and the upstream is not
  // contacted. Open connections are untouched.
  void SetRefuse(bool on);
  // Resets every open connection now: the client side gets a reset, the upstream side is closed.
  // Bytes held for either side are dropped.
  void ResetAll();
  // Models "the reply was lost after the server committed": while on, requests still reach the
  // upstream, but on any connection where the upstream sends bytes back, those bytes (and any
  // still held for the client) are discarded and the connection is reset as by ResetAll.
  // Any bytes count, protocol chatter too: a gRPC server acknowledges the client's HTTP/2
  // bandwidth probes (PINGs) as soon as a request arrives, before its handler runs, so for every
  // dropped reply to be one the server acted on, the client turns probing off
  // (GRPC_ARG_HTTP2_BDP_PROBE = 0). Otherwise some calls are reset before the handler ran.
  void SetDropReplies(bool on);
  // Turns every fault above off.
  void HealAll();

  struct Stats {
    // Connections taken from the listening socket, refused ones included.
    int64_t connections_accepted = 0;
    // Connections open now (accepted and not yet closed on both sides).
    int64_t connections_open = 0;
    // Connections the proxy ended with a reset on the client side: refused, ResetAll, a dropped
    // reply, the upstream refusing or failing, or the proxy's connection limit.
    int64_t connections_reset = 0;
    // Bytes written to the upstream and to clients.
    int64_t bytes_up = 0;
    int64_t bytes_down = 0;
    // Connections reset because the upstream replied while replies were dropped.
    int64_t replies_dropped = 0;
  };
  Stats stats() const;

 private:
  struct Connection;
  struct Direction;
  struct Modes {
    absl::Duration latency = absl::ZeroDuration();
    bool blackhole = false;
    bool refuse = false;
    bool drop_replies = false;
  };

  TcpProxy(int listen_fd, int wake_fd, int port, std::vector<sockaddr_storage> upstreams,
           socklen_t upstream_length);

  // Applies `change` to the modes under mu_, wakes the loop and waits until it has seen them.
  template <typename Change>
  void Configure(Change change);
  void Wake();

  // The proxy's thread: one poll loop over every socket, so no connection has a thread of its own.
  void Loop();
  enum class ReadResult { kNothing, kData, kEnd, kFailed };

  // Takes the modes the loop must act on next, the generation they stand for, and whether a reset
  // or a stop was asked for.
  Modes TakeModes(uint64_t* generation, bool* reset_requested, bool* stopping);
  // Lets the setters that asked for `generation` (or earlier) return.
  void Acknowledge(uint64_t generation);
  void AcceptPending(const Modes& modes);
  void StartUpstreamConnect(Connection& connection);
  void FinishUpstreamConnect(Connection& connection);
  void ReadClient(Connection& connection, const Modes& modes);
  // Reads what the upstream sent; drops it, and resets the connection, while replies are dropped.
  void ReadUpstream(Connection& connection, const Modes& modes);
  // Reads once from `fd` into `direction`, unless its buffer is full; kFailed when the read
  // failed and the connection was reset.
  ReadResult ReadInto(Connection& connection, int fd, Direction& direction, const Modes& modes);
  // Writes to `fd` every chunk of `direction` that is due, until the socket is full; false when a
  // write failed and the connection was reset. `counter` counts the bytes written.
  bool Flush(Connection& connection, int fd, Direction& direction, std::atomic<int64_t>& counter);
  // Connects the upstream if not yet done, then writes what is due both ways; closes the
  // connection once both directions have ended.
  void Pump(Connection& connection);
  // Closes both sides and drops what they hold; the client side with a reset if `reset_client`.
  void Close(Connection& connection, bool reset_client);

  const int listen_fd_;
  const int wake_fd_;
  const int port_;
  const std::vector<sockaddr_storage> upstreams_;
  const socklen_t upstream_length_;

  mutable absl::Mutex mu_;
  Modes modes_ ABSL_GUARDED_BY(mu_);
  // Changes asked for, and the last one the loop has seen; setters wait for the second to catch
  // up with the first.
  uint64_t generation_requested_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t generation_applied_ ABSL_GUARDED_BY(mu_) = 0;
  // ResetAll calls not yet carried out.
  bool reset_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Counters, written by the loop and read by stats() without a lock.
  std::atomic<int64_t> connections_accepted_{0};
  std::atomic<int64_t> connections_open_{0};
  std::atomic<int64_t> connections_reset_{0};
  std::atomic<int64_t> bytes_up_{0};
  std::atomic<int64_t> bytes_down_{0};
  std::atomic<int64_t> replies_dropped_{0};

  // Only the loop's thread touches these.
  std::vector<std::unique_ptr<Connection>> connections_;
  // While accept() lacks resources, the listening socket is left alone until this time.
  std::chrono::steady_clock::time_point accept_paused_until_;
  // The upstream the next connection goes to.
  size_t next_upstream_ = 0;

  std::thread thread_;
};

}  // namespace fxmesh::chaos
