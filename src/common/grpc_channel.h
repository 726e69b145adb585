// The gRPC client channels of fxmesh: every one takes answers of at most
// limits::kGrpcResponseBytesMax (a larger one fails its call with RESOURCE_EXHAUSTED).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace fxmesh {

// A channel to `address` with `credentials` and `arguments`, plus the limits above.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          std::shared_ptr<grpc::ChannelCredentials> credentials,
                                          grpc::ChannelArguments arguments = {});

}  // namespace fxmesh
