#include "common/grpc_channel.h"

#include "common/limits.h"

namespace fxmesh {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          std::shared_ptr<grpc::ChannelCredentials> credentials,
                                          grpc::ChannelArguments arguments) {
  arguments.SetMaxReceiveMessageSize(limits::kGrpcResponseBytesMax);
  return grpc::CreateCustomChannel(address, std::move(credentials), arguments);
}

}  // namespace fxmesh
