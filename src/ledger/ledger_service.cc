#include "ledger/ledger_service.h"

#include "common/grpc_dispatch.h"

namespace fxmesh::ledger {

// Each handler captures the request and response pointers: gRPC keeps both alive until the
// reactor finishes.
#define FXMESH_LEDGER_HANDLER(Method, Request, Response)                                        \
  grpc::ServerUnaryReactor* LedgerService::Method(grpc::CallbackServerContext* context,         \
                                                  const Request* request, Response* response) { \
    return RunOnExecutor(executor_, context, [this, request, response] {                        \
      return engine_.Method(*request, response);                                                \
    });                                                                                         \
  }

FXMESH_LEDGER_HANDLER(Try, v1::TryRequest, v1::BranchResponse)
FXMESH_LEDGER_HANDLER(Confirm, v1::BranchRequest, v1::BranchResponse)
FXMESH_LEDGER_HANDLER(Cancel, v1::BranchRequest, v1::BranchResponse)
FXMESH_LEDGER_HANDLER(OpenAccount, v1::OpenAccountRequest, v1::AccountResponse)
FXMESH_LEDGER_HANDLER(GetAccount, v1::GetAccountRequest, v1::Account)
FXMESH_LEDGER_HANDLER(SetAccountFrozen, v1::SetAccountFrozenRequest, v1::AccountResponse)
FXMESH_LEDGER_HANDLER(Deposit, v1::ExternalTransferRequest, v1::ExternalTransferResponse)
FXMESH_LEDGER_HANDLER(Withdraw, v1::ExternalTransferRequest, v1::ExternalTransferResponse)
FXMESH_LEDGER_HANDLER(ListHolds, v1::ListHoldsRequest, v1::ListHoldsResponse)
FXMESH_LEDGER_HANDLER(ListJournal, v1::ListJournalRequest, v1::ListJournalResponse)

#undef FXMESH_LEDGER_HANDLER

grpc::ServerUnaryReactor* LedgerService::GetBalanceSheet(grpc::CallbackServerContext* context,
                                                         const v1::GetBalanceSheetRequest*,
                                                         v1::BalanceSheet* response) {
  return RunOnExecutor(executor_, context,
                       [this, response] { return engine_.GetBalanceSheet(response); });
}

}  // namespace fxmesh::ledger
