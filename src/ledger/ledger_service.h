// The gRPC face of LedgerEngine: each handler queues the engine call on the worker pool and
// finishes with the engine's status. No handler blocks a gRPC thread. Try, Confirm and Cancel are
// each recorded as a span (the child of the caller's traceparent) and logged with the saga's
// trace and span ids.
//
// With DevFaults (dev only, `--dev_faults`), each Try, Confirm and Cancel first asks them whether
// it is armed to fail; an armed call answers UNAVAILABLE without reaching the engine.
#pragma once

#include "common/executor.h"
#include "common/tracing.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/dev_faults.h"
#include "ledger/ledger_engine.h"

namespace fxmesh::ledger {

class LedgerService final : public v1::LedgerService::CallbackService {
 public:
  // `engine`, `executor`, `tracer` and `faults` must outlive the service; `faults` is null except
  // in development.
  LedgerService(LedgerEngine& engine, Executor& executor, Tracer& tracer,
                DevFaults* faults = nullptr)
      : engine_(engine), executor_(executor), tracer_(tracer), faults_(faults) {}

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
  // The fault seam: OK unless a dev fault is armed for `call`.
  absl::Status InjectedFault(v1::FaultCall call) const {
    return faults_ == nullptr ? absl::OkStatus() : faults_->Check(call);
  }

  LedgerEngine& engine_;
  Executor& executor_;
  Tracer& tracer_;
  DevFaults* const faults_;
};

}  // namespace fxmesh::ledger
