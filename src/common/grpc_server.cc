#include "common/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/malformed_request.h"
#include "common/rpc_metrics.h"
#include "common/trace_service.h"
#include "grpc/health/v1/health.pb.h"

namespace fxmesh {

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const std::string& address, const std::vector<grpc::Service*>& services,
    MetricsRegistry* metrics, const Tracer* tracer, const TlsOptions& tls) {
  // gRPC's health service encodes its messages without the protobuf descriptor pool; naming the
  // generated type links health.proto's descriptor in, so reflection can describe the service.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> server(new GrpcServer());
  grpc::ServerBuilder builder;
  int port = 0;
  if (absl::Status checked = CheckTlsOptions(tls); !checked.ok()) return checked;
  WarnIfExposedInPlaintext(tls, address);
  builder.AddListeningPort(address, NewServerCredentials(tls), &port);
  // A request over the size is refused with RESOURCE_EXHAUSTED before any handler runs; streams
  // past the cap are not opened on that connection until others end (limits.h says why).
  builder.SetMaxReceiveMessageSize(limits::kGrpcRequestBytesMax);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits::kGrpcConcurrentStreamsMax);
  for (grpc::Service* service : services) builder.RegisterService(service);
  if (tracer != nullptr) {
    server->trace_service_ = std::make_unique<TraceService>(*tracer);
    builder.RegisterService(server->trace_service_.get());
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  creators.push_back(NewMalformedRequestInterceptorFactory());
  if (metrics != nullptr) creators.push_back(NewRpcMetricsInterceptorFactory(*metrics));
  builder.experimental().SetInterceptorCreators(std::move(creators));
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address, " (address in use, or not a host:port?)"));
  }
  server->port_ = port;
  server->server_->GetHealthCheckService()->SetServingStatus(kLivenessService, true);
  return server;
}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

void GrpcServer::SetServing(bool serving, absl::string_view reason) {
  absl::MutexLock lock(&readiness_mu_);
  // Once shut down the health service answers NOT_SERVING for good; a late probe result must not
  // make /readyz say otherwise.
  if (shut_down_) return;
  server_->GetHealthCheckService()->SetServingStatus("", serving);
  readiness_ = {serving, serving ? "" : std::string(reason)};
}

Readiness GrpcServer::readiness() const {
  absl::MutexLock lock(&readiness_mu_);
  return readiness_;
}

void GrpcServer::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&readiness_mu_);
    if (shut_down_ || server_ == nullptr) return;
    shut_down_ = true;
    readiness_ = {false, "shutting down"};
  }
  server_->GetHealthCheckService()->Shutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace fxmesh
