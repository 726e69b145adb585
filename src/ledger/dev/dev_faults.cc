#include "ledger/dev/dev_faults.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/proto_time.h"
#include "common/status_macros.h"

namespace fxmesh::ledger {
namespace {

// The call as the ledger's RPC names it: "Try".
absl::string_view CallName(v1::FaultCall call) {
  switch (call) {
    case v1::FAULT_CALL_TRY:
      return "Try";
    case v1::FAULT_CALL_CONFIRM:
      return "Confirm";
    case v1::FAULT_CALL_CANCEL:
      return "Cancel";
    default:
      return "";
  }
}

}  // namespace

absl::Status DevFaults::Check(v1::FaultCall call) {
  absl::MutexLock lock(&mu_);
  auto armed = armed_.find(call);
  if (armed == armed_.end()) return absl::OkStatus();
  armed->second.set_calls_refused(armed->second.calls_refused() + 1);
  // Worded so that whoever meets it in a saga's last error or a trace knows it was on purpose.
  return absl::UnavailableError(
      absl::StrCat("dev fault armed on ", CallName(call), " (LedgerFaultService)"));
}

absl::Status DevFaults::Arm(v1::FaultCall call) {
  if (CallName(call).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("call must be FAULT_CALL_TRY, FAULT_CALL_CONFIRM or FAULT_CALL_CANCEL; got ",
                     static_cast<int>(call)));
  }
  absl::MutexLock lock(&mu_);
  if (armed_.count(call) > 0) return absl::OkStatus();
  v1::LedgerFault& fault = armed_[call];
  fault.set_call(call);
  *fault.mutable_armed_at() = ToTimestamp(clock_.Now());
  LogWarning("dev fault armed: calls answer UNAVAILABLE").With("call", CallName(call));
  return absl::OkStatus();
}

absl::Status DevFaults::Clear(v1::FaultCall call) {
  if (call != v1::FAULT_CALL_UNSPECIFIED && CallName(call).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "call must be unset (every fault) or a FaultCall; got ", static_cast<int>(call)));
  }
  absl::MutexLock lock(&mu_);
  for (auto fault = armed_.begin(); fault != armed_.end();) {
    if (call != v1::FAULT_CALL_UNSPECIFIED && fault->first != call) {
      ++fault;
      continue;
    }
    LogWarning("dev fault cleared")
        .With("call", CallName(fault->second.call()))
        .With("calls_refused", fault->second.calls_refused());
    fault = armed_.erase(fault);
  }
  return absl::OkStatus();
}

v1::LedgerFaults DevFaults::Describe() const {
  absl::MutexLock lock(&mu_);
  v1::LedgerFaults faults;
  for (const auto& [call, fault] : armed_) *faults.add_faults() = fault;
  return faults;
}

grpc::ServerUnaryReactor* LedgerFaultService::Finish(grpc::CallbackServerContext* context,
                                                     const absl::Status& status,
                                                     v1::LedgerFaults* response) {
  if (status.ok()) *response = faults_.Describe();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* LedgerFaultService::ArmFault(grpc::CallbackServerContext* context,
                                                       const v1::ArmFaultRequest* request,
                                                       v1::LedgerFaults* response) {
  return Finish(context, faults_.Arm(request->call()), response);
}

grpc::ServerUnaryReactor* LedgerFaultService::ClearFaults(grpc::CallbackServerContext* context,
                                                          const v1::ClearFaultsRequest* request,
                                                          v1::LedgerFaults* response) {
  return Finish(context, faults_.Clear(request->call()), response);
}

grpc::ServerUnaryReactor* LedgerFaultService::GetFaults(grpc::CallbackServerContext* context,
                                                        const v1::GetFaultsRequest*,
                                                        v1::LedgerFaults* response) {
  return Finish(context, absl::OkStatus(), response);
}

absl::Status FaultInjectingBranchCalls::Try(const v1::TryRequest& request,
                                            v1::BranchResponse* response) {
  RETURN_IF_ERROR(faults_.Check(v1::FAULT_CALL_TRY));
  return inner_.Try(request, response);
}

absl::Status FaultInjectingBranchCalls::Confirm(const v1::BranchRequest& request,
                                                v1::BranchResponse* response) {
  RETURN_IF_ERROR(faults_.Check(v1::FAULT_CALL_CONFIRM));
  return inner_.Confirm(request, response);
}

absl::Status FaultInjectingBranchCalls::Cancel(const v1::BranchRequest& request,
                                               v1::BranchResponse* response) {
  RETURN_IF_ERROR(faults_.Check(v1::FAULT_CALL_CANCEL));
  return inner_.Cancel(request, response);
}

void DevFaultSwitch::ApplyTo(LedgerServerOptions& options) {
  options.decorate_branch_calls = [this](BranchCalls& engine) -> std::unique_ptr<BranchCalls> {
    return std::make_unique<FaultInjectingBranchCalls>(engine, faults_);
  };
  options.extra_services.push_back(&service_);
}

}  // namespace fxmesh::ledger
