// Runs the work of a unary callback RPC on an Executor, so the gRPC thread that received the call
// returns at once and never blocks on the database.
#pragma once

#include <grpcpp/grpcpp.h>

#include <utility>

#include "absl/status/status.h"
#include "common/executor.h"
#include "common/grpc_status.h"

namespace fxmesh {

// Queues `work` (an absl::Status() callable that fills the response) and returns the reactor that
// finishes the call with its status. A full queue finishes the call with UNAVAILABLE at once; a
// call the client has already abandoned is finished without running `work`.
template <typename Work>
grpc::ServerUnaryReactor* RunOnExecutor(Executor& executor, grpc::CallbackServerContext* context,
                                        Work work) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  bool queued = executor.Submit([reactor, context, work = std::move(work)]() mutable {
    if (context->IsCancelled()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "the caller gave up before the call ran"));
      return;
    }
    reactor->Finish(ToGrpcStatus(work()));
  });
  if (!queued) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::UNAVAILABLE,
                     "the service is overloaded (work queue full); retry with backoff"));
  }
  return reactor;
}

}  // namespace fxmesh
