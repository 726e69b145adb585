// fxmesh.v1.TraceService over a Tracer: what `fxmesh trace` asks every service for.
#pragma once

#include "common/tracing.h"
#include "fxmesh/v1/trace.grpc.pb.h"

namespace fxmesh {

class TraceService final : public v1::TraceService::CallbackService {
 public:
  // `tracer` must outlive the service.
  explicit TraceService(const Tracer& tracer) : tracer_(tracer) {}

  grpc::ServerUnaryReactor* ListSpans(grpc::CallbackServerContext* context,
                                      const v1::ListSpansRequest* request,
                                      v1::ListSpansResponse* response) override;

 private:
  const Tracer& tracer_;
};

}  // namespace fxmesh
