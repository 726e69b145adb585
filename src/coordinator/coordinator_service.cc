#include "coordinator/coordinator_service.h"

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/access_policy.h"
#include "common/grpc_dispatch.h"
#include "common/grpc_status.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/printable.h"
#include "common/status_macros.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {
namespace {

// Runs `work` (returning absl::StatusOr<T>) on the pool and moves its value into `response`.
template <typename Response, typename Work>
grpc::ServerUnaryReactor* Answer(Executor& executor, grpc::CallbackServerContext* context,
                                 Response* response, Work work) {
  return RunOnExecutor(executor, context,
                       [response, work = std::move(work)]() mutable -> absl::Status {
                         auto result = work();
                         if (!result.ok()) return result.status();
                         *response = std::move(*result);
                         return absl::OkStatus();
                       });
}

// `request` as the operator the call is authenticated as. With mutual TLS, that is the operator
// its certificate names (spiffe://.../operator/<name>): a request naming none acts as them, one
// naming someone else is refused. In plaintext (development) nobody is authenticated, and the
// request's `operator` stands.
template <typename Request>
absl::StatusOr<Request> ActingOperator(const grpc::CallbackServerContext& context,
                                       const Request& request) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  std::optional<std::string> identity = auth ? CallerIdentity(*auth) : std::nullopt;
  if (!identity) return request;
  absl::string_view name = *identity;
  if (!absl::ConsumePrefix(&name, "operator/")) {
    return absl::PermissionDeniedError(absl::StrCat(*identity, " is not an operator"));
  }
  if (!request.operator_().empty() && request.operator_() != name) {
    return absl::PermissionDeniedError(
        absl::StrCat("this call is authenticated as operator ", name, "; it cannot act as ",
                     PrintableText(request.operator_(), limits::kQuotedTextBytesMax)));
  }
  Request acting = request;
  acting.set_operator_(std::string(name));
  return acting;
}

// `request` as the customer the call acts for (see CustomerGate::Customer).
template <typename Request>
absl::StatusOr<Request> ActingCustomer(CustomerGate& gate, const grpc::ServerContextBase& context,
                                       const Request& request, absl::Time now) {
  ASSIGN_OR_RETURN(std::string customer, gate.Customer(context, request.customer_id(), now));
  Request acting = request;
  acting.set_customer_id(std::move(customer));
  return acting;
}

}  // namespace

grpc::ServerUnaryReactor* ExchangeService::GetQuote(grpc::CallbackServerContext* context,
                                                    const v1::GetQuoteRequest* request,
                                                    v1::Quote* response) {
  return Answer(executor_, context, response,
                [this, context, request]() -> absl::StatusOr<v1::Quote> {
                  const absl::Time now = clock_.Now();
                  ASSIGN_OR_RETURN(v1::GetQuoteRequest acting,
                                   ActingCustomer(gate_, *context, *request, now));
                  RETURN_IF_ERROR(gate_.Admit(acting.customer_id(), now));
                  return intake_.GetQuote(acting);
                });
}

grpc::ServerUnaryReactor* ExchangeService::Exchange(grpc::CallbackServerContext* context,
                                                    const v1::ExchangeRequest* request,
                                                    v1::ExchangeResponse* response) {
  // Answer by the caller's deadline (or within the wait limit when it set none): the final outcome
  // if reached by then, PENDING otherwise.
  absl::Time respond_by = clock_.Now() + absl::Milliseconds(limits::kExchangeWaitMsMax);
  if (context->deadline() != std::chrono::system_clock::time_point::max()) {
    respond_by = std::min(respond_by, absl::FromChrono(context->deadline()));
  }
  return RunOnExecutor(
      executor_, context, [this, context, request, response, respond_by]() -> absl::Status {
        const absl::Time now = clock_.Now();
        ASSIGN_OR_RETURN(v1::ExchangeRequest acting,
                         ActingCustomer(gate_, *context, *request, now));
        RETURN_IF_ERROR(gate_.Admit(acting.customer_id(), now));
        absl::StatusOr<v1::Exchange> exchange = intake_.Exchange(acting, respond_by);
        if (!exchange.ok()) return exchange.status();
        *response->mutable_exchange() = std::move(*exchange);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ExchangeService::GetExchange(grpc::CallbackServerContext* context,
                                                       const v1::GetExchangeRequest* request,
                                                       v1::Exchange* response) {
  return Answer(executor_, context, response,
                [this, context, request]() -> absl::StatusOr<v1::Exchange> {
                  ASSIGN_OR_RETURN(v1::GetExchangeRequest acting,
                                   ActingCustomer(gate_, *context, *request, clock_.Now()));
                  return intake_.GetExchange(acting);
                });
}

grpc::ServerUnaryReactor* ExchangeService::ListExchanges(grpc::CallbackServerContext* context,
                                                         const v1::ListExchangesRequest* request,
                                                         v1::ListExchangesResponse* response) {
  return Answer(executor_, context, response,
                [this, context, request]() -> absl::StatusOr<v1::ListExchangesResponse> {
                  ASSIGN_OR_RETURN(v1::ListExchangesRequest acting,
                                   ActingCustomer(gate_, *context, *request, clock_.Now()));
                  return intake_.ListExchanges(acting);
                });
}

grpc::Status ExchangeService::WatchExchange(grpc::ServerContext* context,
                                            const v1::WatchExchangeRequest* request,
                                            grpc::ServerWriter<v1::Exchange>* writer) {
  absl::Status valid = ValidateSagaId(request->saga_id());
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<v1::WatchExchangeRequest> acting =
      ActingCustomer(gate_, *context, *request, clock_.Now());
  if (!acting.ok()) return ToGrpcStatus(acting.status());
  if (++watches_ > limits::kWatchStreamsMax) {
    --watches_;
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        "too many exchanges are being watched; poll GetExchange instead");
  }
  v1::GetExchangeRequest get;
  get.set_saga_id(request->saga_id());
  get.set_customer_id(acting->customer_id());
  std::string last_sent;
  grpc::Status result = grpc::Status::OK;
  while (!context->IsCancelled()) {
    absl::StatusOr<v1::Exchange> exchange = intake_.GetExchange(get);
    if (!exchange.ok()) {
      result = ToGrpcStatus(exchange.status());
      break;
    }
    std::string current = exchange->SerializeAsString();
    if (current != last_sent) {
      if (!writer->Write(*exchange)) break;
      last_sent = std::move(current);
    }
    if (IsTerminal(exchange->state())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(limits::kWatchPollMs));
  }
  --watches_;
  return result;
}

#define FXMESH_OPS_HANDLER(Method, Request, Response, call)                                  \
  grpc::ServerUnaryReactor* OpsService::Method(grpc::CallbackServerContext* context,         \
                                               const Request* request, Response* response) { \
    return Answer(executor_, context, response, [this, request] { return call; });           \
  }

FXMESH_OPS_HANDLER(ListSagas, v1::ListSagasRequest, v1::ListSagasResponse,
                   operators_.ListSagas(*request))
FXMESH_OPS_HANDLER(GetSagaHistory, v1::GetSagaHistoryRequest, v1::SagaHistory,
                   operators_.GetSagaHistory(*request))
// A handler of an operator action: `call` sees `acting`, the request as the authenticated operator.
#define FXMESH_OPS_ACTION(Method, Request, Response, call)                                   \
  grpc::ServerUnaryReactor* OpsService::Method(grpc::CallbackServerContext* context,         \
                                               const Request* request, Response* response) { \
    return Answer(executor_, context, response,                                              \
                  [this, context, request]() -> absl::StatusOr<Response> {                   \
                    ASSIGN_OR_RETURN(Request acting, ActingOperator(*context, *request));    \
                    return call;                                                             \
                  });                                                                        \
  }

FXMESH_OPS_ACTION(RetrySaga, v1::RetrySagaRequest, v1::Saga, operators_.RetrySaga(acting))
FXMESH_OPS_ACTION(PauseParticipant, v1::PauseParticipantRequest, v1::Participant,
                  operators_.SetParticipantPaused(acting.participant(), acting.operator_(),
                                                  acting.reason(), true))
FXMESH_OPS_ACTION(ResumeParticipant, v1::ResumeParticipantRequest, v1::Participant,
                  operators_.SetParticipantPaused(acting.participant(), acting.operator_(), "",
                                                  false))
FXMESH_OPS_HANDLER(ListParticipants, v1::ListParticipantsRequest, v1::ListParticipantsResponse,
                   ((void)request, operators_.ListParticipants()))
FXMESH_OPS_ACTION(ProposeResolution, v1::ProposeResolutionRequest, v1::Resolution,
                  operators_.ProposeResolution(acting))
FXMESH_OPS_ACTION(ApproveResolution, v1::ApproveResolutionRequest, v1::Resolution,
                  operators_.ApproveResolution(acting))
FXMESH_OPS_HANDLER(ListAudit, v1::ListAuditRequest, v1::ListAuditResponse,
                   operators_.ListAudit(*request))
FXMESH_OPS_HANDLER(GetAlerts, v1::GetAlertsRequest, v1::Alerts,
                   ((void)request, operators_.GetAlerts()))
FXMESH_OPS_HANDLER(ListDeadLetters, v1::ListDeadLettersRequest, v1::ListDeadLettersResponse,
                   dead_letters_.ListDeadLetters(*request))
FXMESH_OPS_ACTION(ReplayDeadLetters, v1::ReplayDeadLettersRequest, v1::ReplayDeadLettersResponse,
                  dead_letters_.ReplayDeadLetters(acting))
FXMESH_OPS_ACTION(ProposeDismissal, v1::ProposeDismissalRequest, v1::DeadLetter,
                  dead_letters_.ProposeDismissal(acting))
FXMESH_OPS_ACTION(ApproveDismissal, v1::ApproveDismissalRequest, v1::DeadLetter,
                  dead_letters_.ApproveDismissal(acting))

#undef FXMESH_OPS_HANDLER
#undef FXMESH_OPS_ACTION

}  // namespace fxmesh::coordinator
