// The gRPC face of LedgerEngine: each handler queues the engine call on the worker pool and
// finishes with the engine's status. No handler blocks a gRPC thread. Try, Confirm and Cancel are
// each recorded as a span (the child of the caller's traceparent) and logged with the saga's
// trace and span ids. Try, Confirm and Cancel go to `branches`: the engine itself, or a layer in
// front of it that the service does not know about (branch_calls.h).
#pragma once

#include "common/executor.h"
#include "common/tracing.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/branch_calls.h"
#include "ledger/ledger_engine.h"

namespace fxmesh::ledger {

class LedgerService final : public v1::LedgerService::CallbackService {
 public:
  // `engine`, `branches`, `executor` and `tracer` must outlive the service.
  LedgerService(LedgerEngine& engine, BranchCalls& branches, Executor& executor, Tracer& tracer)
      : engine_(engine), branches_(branches), executor_(executor), tracer_(tracer) {}

  grpc::ServerUnaryReactor* Try(grpc::CallbackServerContext* context, const v1::TryRequest* request,
                                v1::BranchResponse* response) override;
  grpc::ServerUnaryReactor* Confirm(grpc::CallbackServerContext* context,
                                    const v1::BranchRequest* request,
                                    v1::BranchResponse* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::BranchRequest* request,
                                   v1::BranchResponse* response) override;
  grpc::ServerUnaryReactor* OpenAccount(grpc::CallbackServerContext* context,
                                        const v1::OpenAccountRequest* request,
                                        v1::AccountResponse* response) override;
  grpc::ServerUnaryReactor* GetAccount(grpc::CallbackServerContext* context,
                                       const v1::GetAccountRequest* request,
                                       v1::Account* response) override;
  grpc::ServerUnaryReactor* SetAccountFrozen(grpc::CallbackServerContext* context,
                                             const v1::SetAccountFrozenRequest* request,
                                             v1::AccountResponse* response) override;
  grpc::ServerUnaryReactor* Deposit(grpc::CallbackServerContext* context,
                                    const v1::ExternalTransferRequest* request,
                                    v1::ExternalTransferResponse* response) override;
  grpc::ServerUnaryReactor* Withdraw(grpc::CallbackServerContext* context,
                                     const v1::ExternalTransferRequest* request,
                                     v1::ExternalTransferResponse* response) override;
  grpc::ServerUnaryReactor* ListHolds(grpc::CallbackServerContext* context,
                                      const v1::ListHoldsRequest* request,
                                      v1::ListHoldsResponse* response) override;
  grpc::ServerUnaryReactor* ListJournal(grpc::CallbackServerContext* context,
                                        const v1::ListJournalRequest* request,
                                        v1::ListJournalResponse* response) override;
  grpc::ServerUnaryReactor* GetBalanceSheet(grpc::CallbackServerContext* context,
                                            const v1::GetBalanceSheetRequest* request,
                                            v1::BalanceSheet* response) override;

 private:
  LedgerEngine& engine_;
  BranchCalls& branches_;
  Executor& executor_;
  Tracer& tracer_;
};

}  // namespace fxmesh::ledger
