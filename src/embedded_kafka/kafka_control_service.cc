#include "embedded_kafka/kafka_control_service.h"

#include "common/grpc_status.h"

namespace fxmesh::kafka {

grpc::ServerUnaryReactor* KafkaControlService::Finish(grpc::CallbackServerContext* context,
                                                      const absl::Status& status,
                                                      v1::KafkaCluster* response) {
  if (status.ok()) *response = kafka_.Describe();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* KafkaControlService::Describe(grpc::CallbackServerContext* context,
                                                        const v1::DescribeKafkaRequest*,
                                                        v1::KafkaCluster* response) {
  return Finish(context, absl::OkStatus(), response);
}

grpc::ServerUnaryReactor* KafkaControlService::SetBrokerUp(grpc::CallbackServerContext* context,
                                                           const v1::SetBrokerUpRequest* request,
                                                           v1::KafkaCluster* response) {
  return Finish(context, kafka_.SetBrokerUp(request->broker_id(), request->up()), response);
}

grpc::ServerUnaryReactor* KafkaControlService::SetBrokerLatency(
    grpc::CallbackServerContext* context, const v1::SetBrokerLatencyRequest* request,
    v1::KafkaCluster* response) {
  return Finish(context, kafka_.SetBrokerLatency(request->broker_id(), request->latency_ms()),
                response);
}

grpc::ServerUnaryReactor* KafkaControlService::FailRequests(grpc::CallbackServerContext* context,
                                                            const v1::FailRequestsRequest* request,
                                                            v1::KafkaCluster* response) {
  return Finish(context,
                kafka_.FailRequests(request->api_key(), request->error_code(), request->count()),
                response);
}

}  // namespace fxmesh::kafka
