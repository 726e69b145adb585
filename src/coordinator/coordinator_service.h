// The gRPC faces of the coordinator: ExchangeService for customers (over ExchangeIntake),
// OpsService for operators (over OperatorActions and DeadLetterActions). Unary handlers queue the
// call on the worker pool and return; no gRPC thread waits on a ledger or the database.
#pragma once

#include <atomic>

#include "common/clock.h"
#include "common/executor.h"
#include "coordinator/customer_gate.h"
#include "coordinator/dead_letter_actions.h"
#include "coordinator/exchange_intake.h"
#include "coordinator/operator_actions.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"

namespace fxmesh::coordinator {

// Every method but WatchExchange uses the callback API. WatchExchange is a long-lived stream that
// polls the saga; it runs as a synchronous method, on gRPC's own stream threads, so that a
// watching client never holds a worker of the pool that drives sagas. At most
// limits::kWatchStreamsMax watches run at once.
using ExchangeServiceBase = v1::ExchangeService::WithCallbackMethod_GetQuote<
    v1::ExchangeService::WithCallbackMethod_Exchange<
        v1::ExchangeService::WithCallbackMethod_GetExchange<
            v1::ExchangeService::WithCallbackMethod_ListExchanges<v1::ExchangeService::Service>>>>;

class ExchangeService final : public ExchangeServiceBase {
 public:
  // `gate` says which customer each call acts for, and rate-limits quotes and exchanges.
  ExchangeService(ExchangeIntake& intake, Executor& executor, const Clock& clock,
                  CustomerGate& gate)
      : intake_(intake), executor_(executor), clock_(clock), gate_(gate) {}

  grpc::ServerUnaryReactor* GetQuote(grpc::CallbackServerContext* context,
                                     const v1::GetQuoteRequest* request,
                                     v1::Quote* response) override;
  grpc::ServerUnaryReactor* Exchange(grpc::CallbackServerContext* context,
                                     const v1::ExchangeRequest* request,
                                     v1::ExchangeResponse* response) override;
  grpc::ServerUnaryReactor* GetExchange(grpc::CallbackServerContext* context,
                                        const v1::GetExchangeRequest* request,
                                        v1::Exchange* response) override;
  grpc::ServerUnaryReactor* ListExchanges(grpc::CallbackServerContext* context,
                                          const v1::ListExchangesRequest* request,
                                          v1::ListExchangesResponse* response) override;
  grpc::Status WatchExchange(grpc::ServerContext* context, const v1::WatchExchangeRequest* request,
                             grpc::ServerWriter<v1::Exchange>* writer) override;

 private:
  ExchangeIntake& intake_;
  Executor& executor_;
  const Clock& clock_;
  CustomerGate& gate_;
  std::atomic<int> watches_{0};
};

class OpsService final : public v1::OpsService::CallbackService {
 public:
  OpsService(OperatorActions& operators, DeadLetterActions& dead_letters, Executor& executor)
      : operators_(operators), dead_letters_(dead_letters), executor_(executor) {}

  grpc::ServerUnaryReactor* ListSagas(grpc::CallbackServerContext* context,
                                      const v1::ListSagasRequest* request,
                                      v1::ListSagasResponse* response) override;
  grpc::ServerUnaryReactor* GetSagaHistory(grpc::CallbackServerContext* context,
                                           const v1::GetSagaHistoryRequest* request,
                                           v1::SagaHistory* response) override;
  grpc::ServerUnaryReactor* RetrySaga(grpc::CallbackServerContext* context,
                                      const v1::RetrySagaRequest* request,
                                      v1::Saga* response) override;
  grpc::ServerUnaryReactor* PauseParticipant(grpc::CallbackServerContext* context,
                                             const v1::PauseParticipantRequest* request,
                                             v1::Participant* response) override;
  grpc::ServerUnaryReactor* ResumeParticipant(grpc::CallbackServerContext* context,
                                              const v1::ResumeParticipantRequest* request,
                                              v1::Participant* response) override;
  grpc::ServerUnaryReactor* ListParticipants(grpc::CallbackServerContext* context,
                                             const v1::ListParticipantsRequest* request,
                                             v1::ListParticipantsResponse* response) override;
  grpc::ServerUnaryReactor* ProposeResolution(grpc::CallbackServerContext* context,
                                              const v1::ProposeResolutionRequest* request,
                                              v1::Resolution* response) override;
  grpc::ServerUnaryReactor* ApproveResolution(grpc::CallbackServerContext* context,
                                              const v1::ApproveResolutionRequest* request,
                                              v1::Resolution* response) override;
  grpc::ServerUnaryReactor* ListAudit(grpc::CallbackServerContext* context,
                                      const v1::ListAuditRequest* request,
                                      v1::ListAuditResponse* response) override;
  grpc::ServerUnaryReactor* GetAlerts(grpc::CallbackServerContext* context,
                                      const v1::GetAlertsRequest* request,
                                      v1::Alerts* response) override;
  grpc::ServerUnaryReactor* ListDeadLetters(grpc::CallbackServerContext* context,
                                            const v1::ListDeadLettersRequest* request,
                                            v1::ListDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ReplayDeadLetters(grpc::CallbackServerContext* context,
                                              const v1::ReplayDeadLettersRequest* request,
                                              v1::ReplayDeadLettersResponse* response) override;
  grpc::ServerUnaryReactor* ProposeDismissal(grpc::CallbackServerContext* context,
                                             const v1::ProposeDismissalRequest* request,
                                             v1::DeadLetter* response) override;
  grpc::ServerUnaryReactor* ApproveDismissal(grpc::CallbackServerContext* context,
                                             const v1::ApproveDismissalRequest* request,
                                             v1::DeadLetter* response) override;

 private:
  OperatorActions& operators_;
  DeadLetterActions& dead_letters_;
  Executor& executor_;
};

}  // namespace fxmesh::coordinator
