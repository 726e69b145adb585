// Measures every RPC a gRPC server answers, for every service alike, as the histogram
// fxmesh_rpc_duration_seconds{method="/fxmesh.v1.ExchangeService/Exchange", code="OK"}: from the
// call's arrival to its status being sent.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "common/metrics.h"

namespace fxmesh {

// An interceptor factory for grpc::ServerBuilder; `registry` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewRpcMetricsInterceptorFactory(MetricsRegistry& registry);

}  // namespace fxmesh
