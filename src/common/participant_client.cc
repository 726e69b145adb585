#include "common/participant_client.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/proto_time.h"
#include "fxmesh/v1/ledger.grpc.pb.h"

namespace fxmesh {
namespace {

class GrpcParticipantClient final : public ParticipantClient {
 public:
  GrpcParticipantClient(std::shared_ptr<grpc::Channel> channel, Tracer* tracer,
                        absl::string_view peer)
      : stub_(v1::LedgerService::NewStub(std::move(channel))), tracer_(tracer), peer_(peer) {}

  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request,
                                         absl::Time deadline) override {
    return Call("Try", request.branch(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Try(context, request, response);
                });
  }
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                             absl::Time deadline) override {
    return Call("Confirm", request.branch(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Confirm(context, request, response);
                });
  }
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request,
                                            absl::Time deadline) override {
    return Call("Cancel", request.branch(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Cancel(context, request, response);
                });
  }

  void StartTry(const v1::TryRequest& request, absl::Time deadline, Done done) override {
    Start<v1::TryRequest>("Try", request, deadline, std::move(done),
                          [this](auto* context, auto* sent, auto* response, auto callback) {
                            stub_->async()->Try(context, sent, response, std::move(callback));
                          });
  }
  void StartConfirm(const v1::BranchRequest& request, absl::Time deadline, Done done) override {
    Start<v1::BranchRequest>("Confirm", request, deadline, std::move(done),
                             [this](auto* context, auto* sent, auto* response, auto callback) {
                               stub_->async()->Confirm(context, sent, response,
                                                       std::move(callback));
                             });
  }
  void StartCancel(const v1::BranchRequest& request, absl::Time deadline, Done done) override {
    Start<v1::BranchRequest>("Cancel", request, deadline, std::move(done),
                             [this](auto* context, auto* sent, auto* response, auto callback) {
                               stub_->async()->Cancel(context, sent, response, std::move(callback));
                             });
  }

 private:
  // One call in flight without a thread: what gRPC reads and writes until it answers, and the
  // span that call makes (recorded when the answer comes, on gRPC's thread, so it is not a
  // ScopedSpan of the starting thread).
  template <typename Request>
  struct InFlight {
    grpc::ClientContext context;
    Request request;
    v1::BranchResponse response;
    v1::Span span;
    Done done;
  };

  template <typename Request, typename Rpc>
  void Start(absl::string_view call, const Request& request, absl::Time deadline, Done done,
             Rpc rpc) {
    const std::string& trace_id = request.branch().saga_id();
    auto flight = std::make_shared<InFlight<Request>>();
    flight->request = request;
    flight->done = std::move(done);
    flight->span =
        MakeSpan(tracer_ == nullptr ? "" : tracer_->service(), absl::StrCat(peer_, " ", call),
                 trace_id, NewSpanId(), ParentSpanIdFor(trace_id), absl::Now(), absl::Now());
    (*flight->span.mutable_attributes())["branch"] = request.branch().branch();
    flight->context.set_deadline(absl::ToChronoTime(deadline));
    flight->context.AddMetadata("traceparent",
                                TraceContext{trace_id, flight->span.span_id()}.ToTraceparent());
    rpc(&flight->context, &flight->request, &flight->response, [this, flight](grpc::Status status) {
      absl::StatusOr<v1::BranchResponse> answer = flight->response;
      if (!status.ok()) {
        answer = FromGrpcStatus(status);
        flight->span.set_error(answer.status().ToString());
      } else {
        (*flight->span.mutable_attributes())["outcome"] =
            v1::Outcome_Name(flight->response.outcome());
      }
      if (tracer_ != nullptr && ValidateSagaId(flight->span.trace_id()).ok()) {
        *flight->span.mutable_end() = ToTimestamp(absl::Now());
        tracer_->Record(std::move(flight->span));
      }
      flight->done(std::move(answer));
    });
  }

  template <typename Rpc>
  absl::StatusOr<v1::BranchResponse> Call(absl::string_view call, const v1::BranchRef& branch,
                                          absl::Time deadline, Rpc rpc) {
    ScopedSpan span(tracer_, absl::StrCat(peer_, " ", call), branch.saga_id(),
                    ParentSpanIdFor(branch.saga_id()));
    span.SetAttribute("branch", branch.branch());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    context.AddMetadata("traceparent", span.traceparent());
    v1::BranchResponse response;
    grpc::Status status = rpc(&context, &response);
    if (!status.ok()) {
      absl::Status failed = FromGrpcStatus(status);
      span.SetStatus(failed);
      return failed;
    }
    span.SetAttribute("outcome", v1::Outcome_Name(response.outcome()));
    return response;
  }

  std::unique_ptr<v1::LedgerService::Stub> stub_;
  Tracer* const tracer_;
  const std::string peer_;
};

}  // namespace

std::unique_ptr<ParticipantClient> NewGrpcParticipantClient(std::shared_ptr<grpc::Channel> channel,
                                                            Tracer* tracer,
                                                            absl::string_view peer) {
  return std::make_unique<GrpcParticipantClient>(std::move(channel), tracer, peer);
}

std::string LedgerTarget(const std::string& address) {
  for (absl::string_view scheme : {"dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:"}) {
    if (absl::StartsWith(address, scheme)) return address;
  }
  if (absl::StrContains(address, "://")) return address;
  return absl::StrCat("dns:///", address);
}

std::shared_ptr<grpc::Channel> NewLedgerChannel(const std::string& address, const TlsOptions& tls) {
  grpc::ChannelArguments arguments;
  arguments.SetServiceConfigJSON(kLedgerServiceConfig);
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMax));
  return NewChannel(LedgerTarget(address), NewChannelCredentials(tls), std::move(arguments));
}

}  // namespace fxmesh
