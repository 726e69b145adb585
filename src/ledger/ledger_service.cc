#include "ledger/ledger_service.h"

#include "common/grpc_dispatch.h"
#include "common/ids.h"
#include "common/log.h"

namespace fxmesh::ledger {
namespace {

// The caller's span, from its traceparent, when it is of this saga's trace; "" (the saga's root)
// otherwise.
std::string ParentSpanId(const grpc::CallbackServerContext& context, const std::string& saga_id) {
  auto found = context.client_metadata().find("traceparent");
  if (found == context.client_metadata().end()) return "";
  return TraceContext::SpanIdIn(absl::string_view(found->second.data(), found->second.size()),
                                saga_id);
}

void RecordBranchCall(ScopedSpan& span, absl::string_view call, const v1::BranchRef& branch,
                      const absl::Status& status, const v1::BranchResponse& response) {
  span.SetAttribute("branch", branch.branch());
  span.SetStatus(status);
  if (status.ok()) span.SetAttribute("outcome", v1::Outcome_Name(response.outcome()));
  // A malformed saga id (any size) is not repeated here: the refusal's message quotes it, cut.
  LogInfo("branch call")
      .With("saga_id", ValidateSagaId(branch.saga_id()).ok() ? branch.saga_id() : "(malformed)")
      .With("call", call)
      .With("branch", branch.branch())
      .With("outcome", status.ok() ? v1::Outcome_Name(response.outcome()) : status.ToString());
}

}  // namespace

// Each handler captures the request and response pointers: gRPC keeps both alive until the
// reactor finishes.
#define FXMESH_LEDGER_HANDLER(Method, Request, Response)                                        \
  grpc::ServerUnaryReactor* LedgerService::Method(grpc::CallbackServerContext* context,         \
                                                  const Request* request, Response* response) { \
    return RunOnExecutor(executor_, context, [this, request, response] {                        \
      return engine_.Method(*request, response);                                                \
    });                                                                                         \
  }

// A TCC branch call: traced and logged as well. The traceparent is read on the gRPC thread, where
// the call's metadata is safe to read. The call goes to `branches_` inside the span, so that an
// answer from a layer in front of the engine shows in traces and logs like any other.
#define FXMESH_LEDGER_BRANCH_HANDLER(Method, Request)                                   \
  grpc::ServerUnaryReactor* LedgerService::Method(grpc::CallbackServerContext* context, \
                                                  const Request* request,               \
                                                  v1::BranchResponse* response) {       \
    std::string parent = ParentSpanId(*context, request->branch().saga_id());           \
    return RunOnExecutor(                                                               \
        executor_, context, [this, request, response, parent = std::move(parent)] {     \
          ScopedSpan span(&tracer_, #Method, request->branch().saga_id(), parent);      \
          absl::Status status = branches_.Method(*request, response);                   \
          RecordBranchCall(span, #Method, request->branch(), status, *response);        \
          return status;                                                                \
        });                                                                             \
  }

FXMESH_LEDGER_BRANCH_HANDLER(Try, v1::TryRequest)
FXMESH_LEDGER_BRANCH_HANDLER(Confirm, v1::BranchRequest)
FXMESH_LEDGER_BRANCH_HANDLER(Cancel, v1::BranchRequest)

#undef FXMESH_LEDGER_BRANCH_HANDLER
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
