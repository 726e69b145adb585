// The HTTP endpoint Prometheus scrapes: a minimal HTTP/1.1 server on plain POSIX sockets and one
// thread of its own.
//
//   GET /metrics  200, the registry in the text exposition format (kPrometheusTextContentType)
//   GET /healthz  200, "ok": the process serves (liveness)
//   GET /readyz   200 "SERVING" while the service is ready (the gRPC health service's overall
//                 status), 503 "NOT_SERVING: <why>" otherwise; 404 without a ReadinessCheck.
//                 Kubelet's gRPC probe speaks plaintext only, so under mutual TLS the readiness
//                 and startup probes ask here
//   GET other     404
//   other method  405
//
// It serves one connection at a time and closes it after each answer (Connection: close). A
// request head larger than limits::kMetricsRequestBytesMax gets 431, one that does not arrive
// within limits::kMetricsRequestTimeoutMs gets 408, and one that is not HTTP gets 400; none of
// them, nor a client that goes away mid-request, affects the next connection.
#pragma once

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics.h"
#include "common/readiness.h"

namespace fxmesh {

inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsHttpServer {
 public:
  // Listens on `address`, "host:port" ("127.0.0.1:9090", "[::1]:9090", ":9090" for every
  // interface; port 0 for any free one), and serves `registry`, which must outlive the server.
  // INVALID_ARGUMENT for an address that is not host:port, UNAVAILABLE when it cannot be bound
  // (e.g. the port is in use). `readiness`, if set, answers /readyz (see GrpcServer::readiness).
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      absl::string_view address, MetricsRegistry& registry, ReadinessCheck readiness = nullptr);

  // Stops the server.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound.
  int port() const { return port_; }

  // Closes the listening socket and any connection being served, and joins the thread. Returns
  // at once unless a scrape is running gauge callbacks, which it lets finish. Idempotent and
  // thread-safe.
  void Stop();

 private:
  enum class Wait { kReady, kTimedOut, kStopping };

  MetricsHttpServer(int listen_fd, int wake_read_fd, int wake_write_fd, int port,
                    MetricsRegistry& registry, ReadinessCheck readiness);

  void Loop();
  void Serve(int fd);
  // Waits until `fd` is ready for `events` (POLLIN, POLLOUT), `timeout_ms` passes, or Stop is
  // called. A negative timeout waits without limit.
  Wait WaitFor(int fd, short events, int64_t timeout_ms);
  absl::StatusOr<std::string> ReadRequestHead(int fd);
  void Respond(int fd, absl::string_view status, absl::string_view content_type,
               absl::string_view extra_headers, absl::string_view body);
  void CloseGracefully(int fd);

  const int listen_fd_;
  // Stop writes a byte here; every wait also watches the read end, so none outlasts Stop.
  const int wake_read_fd_;
  const int wake_write_fd_;
  const int port_;
  MetricsRegistry& registry_;
  const ReadinessCheck readiness_;
  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace fxmesh
