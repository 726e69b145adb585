// Starts a gRPC server the way every fxmesh service needs it: the given services, the standard
// health service, server reflection, a port that may be chosen by the OS ("127.0.0.1:0"), and the
// request size and per-connection stream limits of limits.h.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/metrics.h"
#include "common/readiness.h"
#include "common/tls.h"
#include "common/tracing.h"

namespace fxmesh {

// The health service name that reports SERVING for as long as the process serves at all.
inline constexpr char kLivenessService[] = "fxmesh.liveness";

class GrpcServer {
 public:
  // Listens on `address` (host:port, port 0 for any free one): with `tls` files, mutual TLS with
  // the AccessPolicy table enforced on every call; without, plaintext (said loudly in the log on
  // an address other than loopback). `services` must outlive the server. With `metrics`, every
  // call is measured into it (fxmesh_rpc_duration_seconds; see rpc_metrics.h); with `tracer`,
  // fxmesh.v1.TraceService serves its spans. Both must outlive the server too.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const std::string& address, const std::vector<grpc::Service*>& services,
      MetricsRegistry* metrics = nullptr, const Tracer* tracer = nullptr,
      const TlsOptions& tls = {});

  ~GrpcServer();

  // The port actually bound.
  int port() const { return port_; }
  // Sets the overall health status (service ""), which readiness probes check, and why it is not
  // SERVING (`reason`, for readiness(); ignored when serving). The status of kLivenessService,
  // which liveness probes check, stays SERVING until shutdown: a service that cannot reach its
  // database is not ready, but restarting it would not help. Thread-safe.
  void SetServing(bool serving, absl::string_view reason = "not serving");
  // The overall status as last set: not ready ("starting") until the first SetServing, and
  // ("shutting down") from Shutdown on. Thread-safe; the metrics port's /readyz serves it.
  Readiness readiness() const;
  // Stops accepting calls, lets calls in flight finish for up to `grace`, then cancels the rest.
  void Shutdown(absl::Duration grace);

 private:
  GrpcServer() = default;

  std::unique_ptr<grpc::Service> trace_service_;  // Outlives server_.
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  mutable absl::Mutex readiness_mu_;
  Readiness readiness_ ABSL_GUARDED_BY(readiness_mu_) = {false, "starting"};
  bool shut_down_ ABSL_GUARDED_BY(readiness_mu_) = false;
};

}  // namespace fxmesh
