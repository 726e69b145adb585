// The seam between a caller (the saga engine, the relay) and one participant (a ledger). Callers
// call Try, Confirm and Cancel only through this interface, so a test can make a participant slow,
// down, or lose a reply after the ledger committed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "common/tracing.h"
#include "fxmesh/v1/ledger.pb.h"

namespace fxmesh {

// Thread-safe.
class ParticipantClient {
 public:
  virtual ~ParticipantClient() = default;

  // Each returns the participant's answer (its business outcome), or a status when there is none:
  // UNAVAILABLE or DEADLINE_EXCEEDED mean the outcome is unknown and the call may be repeated;
  // INVALID_ARGUMENT means the coordinator built a malformed request (a bug).
  virtual absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request,
                                                 absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                                     absl::Time deadline) = 0;
  virtual absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request,
                                                    absl::Time deadline) = 0;

  // The same calls, started without waiting for the answer: `done` runs once with it, on whichever
  // thread the transport answers on (perhaps this one, before Start returns). A caller fans out a
  // saga's branches this way without a thread per call. The defaults make the blocking call on
  // this thread; the gRPC client sends the call and returns at once.
  using Done = std::function<void(absl::StatusOr<v1::BranchResponse>)>;
  virtual void StartTry(const v1::TryRequest& request, absl::Time deadline, Done done) {
    done(Try(request, deadline));
  }
  virtual void StartConfirm(const v1::BranchRequest& request, absl::Time deadline, Done done) {
    done(Confirm(request, deadline));
  }
  virtual void StartCancel(const v1::BranchRequest& request, absl::Time deadline, Done done) {
    done(Cancel(request, deadline));
  }
};

// A client of fxmesh.v1.LedgerService over `channel`. Every call carries its deadline and the
// saga's W3C traceparent (trace-id = saga id) in its metadata, and is recorded as a span
// "<peer> <Call>" into `tracer` (if not null; it must outlive the client), the child of the
// thread's current span.
std::unique_ptr<ParticipantClient> NewGrpcParticipantClient(std::shared_ptr<grpc::Channel> channel,
                                                            Tracer* tracer = nullptr,
                                                            absl::string_view peer = "ledger");

// A channel to a ledger at `address` (host:port, or a gRPC target with its scheme, see
// LedgerTarget). It balances calls round_robin over every address the name resolves to: a
// headless Kubernetes Service resolves to each ready ledger pod, so each call goes to the next pod
// rather than every call of this caller to the one pod its connection chose (gRPC's default,
// pick_first). Its reconnect backoff is capped at limits::kLedgerReconnectBackoffMsMax, so a
// ledger that comes back is used again within that time (gRPC's default cap is two minutes,
// longer than a relay's first retry tiers). With `tls` files, over mutual TLS presenting this
// process's certificate.
std::shared_ptr<grpc::Channel> NewLedgerChannel(const std::string& address,
                                                const TlsOptions& tls = {});

// The gRPC target NewLedgerChannel dials: "host:port" becomes "dns:///host:port" (every address
// of the name, re-resolved when connections fail); a target that names its resolver ("dns:",
// "ipv4:", "ipv6:", "unix:", or any "scheme://") is kept as it is.
std::string LedgerTarget(const std::string& address);

// The service config of the ledger channels: round_robin load balancing.
inline constexpr char kLedgerServiceConfig[] = R"({"loadBalancingConfig":[{"round_robin":{}}]})";

}  // namespace fxmesh
