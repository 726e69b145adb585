#include "common/participant_client.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/limits.h"
#include "fxmesh/v1/ledger.grpc.pb.h"

namespace fxmesh {
namespace {

class GrpcParticipantClient final : public ParticipantClient {
 public:
  explicit GrpcParticipantClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::LedgerService::NewStub(std::move(channel))) {}

  absl::StatusOr<v1::BranchResponse> Try(const v1::TryRequest& request,
                                         absl::Time deadline) override {
    return Call(request.branch().saga_id(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Try(context, request, response);
                });
  }
  absl::StatusOr<v1::BranchResponse> Confirm(const v1::BranchRequest& request,
                                             absl::Time deadline) override {
    return Call(request.branch().saga_id(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Confirm(context, request, response);
                });
  }
  absl::StatusOr<v1::BranchResponse> Cancel(const v1::BranchRequest& request,
                                            absl::Time deadline) override {
    return Call(request.branch().saga_id(), deadline,
                [&](grpc::ClientContext* context, v1::BranchResponse* response) {
                  return stub_->Cancel(context, request, response);
                });
  }

 private:
  template <typename Rpc>
  absl::StatusOr<v1::BranchResponse> Call(const std::string& saga_id, absl::Time deadline,
                                          Rpc rpc) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    context.AddMetadata("traceparent", TraceParentFor(saga_id));
    v1::BranchResponse response;
    grpc::Status status = rpc(&context, &response);
    if (!status.ok()) return FromGrpcStatus(status);
    return response;
  }

  std::unique_ptr<v1::LedgerService::Stub> stub_;
};

}  // namespace

std::string TraceParentFor(absl::string_view saga_id) {
  return absl::StrCat("00-", saga_id, "-", NewSagaId().substr(0, 16), "-01");
}

std::unique_ptr<ParticipantClient> NewGrpcParticipantClient(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcParticipantClient>(std::move(channel));
}

std::shared_ptr<grpc::Channel> NewLedgerChannel(const std::string& address) {
  grpc::ChannelArguments arguments;
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMin));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(limits::kLedgerReconnectBackoffMsMax));
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments);
}

}  // namespace fxmesh
