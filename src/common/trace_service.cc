#include "common/trace_service.h"

#include "common/grpc_status.h"
#include "common/ids.h"

namespace fxmesh {

grpc::ServerUnaryReactor* TraceService::ListSpans(grpc::CallbackServerContext* context,
                                                  const v1::ListSpansRequest* request,
                                                  v1::ListSpansResponse* response) {
  // Reading memory only: answered on the gRPC thread.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status valid = ValidateSagaId(request->trace_id());
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("trace_id must be a saga id (32 hex digits): ", valid.message()))));
    return reactor;
  }
  for (v1::Span& span : tracer_.SpansOf(request->trace_id()))
    *response->add_spans() = std::move(span);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace fxmesh
