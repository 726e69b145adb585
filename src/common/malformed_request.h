// A request whose bytes do not parse as the RPC's request message (a proto3 string field that is
// not UTF-8, a truncated field) never reaches a handler. gRPC answers it UNIMPLEMENTED (callback
// handlers) or INTERNAL (synchronous ones) with no message, which tells the caller nothing and
// reads as a server fault. This interceptor answers it INVALID_ARGUMENT, naming the method.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace fxmesh {

// An interceptor factory for grpc::ServerBuilder.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewMalformedRequestInterceptorFactory();

}  // namespace fxmesh
