// fxmesh.v1.KafkaControlService over an EmbeddedKafka: fault injection for tests and the chaos
// harness. Each call is a quick in-memory change to the mock cluster, done inline.
#pragma once

#include "embedded_kafka/embedded_kafka.h"
#include "fxmesh/v1/kafka_control.grpc.pb.h"

namespace fxmesh::kafka {

class KafkaControlService final : public v1::KafkaControlService::CallbackService {
 public:
  // `kafka` must outlive the service.
  explicit KafkaControlService(EmbeddedKafka& kafka) : kafka_(kafka) {}

  grpc::ServerUnaryReactor* Describe(grpc::CallbackServerContext* context,
                                     const v1::DescribeKafkaRequest* request,
                                     v1::KafkaCluster* response) override;
  grpc::ServerUnaryReactor* SetBrokerUp(grpc::CallbackServerContext* context,
                                        const v1::SetBrokerUpRequest* request,
                                        v1::KafkaCluster* response) override;
  grpc::ServerUnaryReactor* SetBrokerLatency(grpc::CallbackServerContext* context,
                                             const v1::SetBrokerLatencyRequest* request,
                                             v1::KafkaCluster* response) override;
  grpc::ServerUnaryReactor* FailRequests(grpc::CallbackServerContext* context,
                                         const v1::FailRequestsRequest* request,
                                         v1::KafkaCluster* response) override;

 private:
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status,
                                   v1::KafkaCluster* response);

  EmbeddedKafka& kafka_;
};

}  // namespace fxmesh::kafka
