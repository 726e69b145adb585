#include "common/participant_client.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_channel.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/limits.h"
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

 private:
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

std::shared_ptr<grpc::Channel> NewLedgerChannel(const std::string& address, const TlsOptions& tls) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMax));
  return NewChannel(address, NewChannelCredentials(tls), std::move(arguments));
}

}  // namespace fxmesh
