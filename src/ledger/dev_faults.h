// Dev-only fault injection for a ledger (`--dev_faults`, proto/fxmesh/v1/ledger_fault.proto), so
// that a demo or a developer can make a ledger look down on purpose and watch a saga get stuck.
// Never part of a production ledger: LedgerServer builds these only when asked to, and without
// them LedgerService has no fault to consult.
//
// DevFaults holds which branch calls are armed to fail. LedgerService consults Check() before each
// Try, Confirm and Cancel reaches the engine: the one place where a fault takes effect, so an
// armed call changes nothing in the database. LedgerFaultService arms and clears them over gRPC.
#pragma once

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"

namespace fxmesh::ledger {

// Thread-safe.
class DevFaults {
 public:
  // `clock` must outlive this.
  explicit DevFaults(const Clock& clock) : clock_(clock) {}

  // OK, or UNAVAILABLE when `call` is armed; the refusal is counted, and the caller must then not
  // run the call.
  absl::Status Check(v1::FaultCall call);
  // INVALID_ARGUMENT for FAULT_CALL_UNSPECIFIED or a number that is not a FaultCall.
  absl::Status Arm(v1::FaultCall call);
  // FAULT_CALL_UNSPECIFIED clears every fault.
  absl::Status Clear(v1::FaultCall call);
  v1::LedgerFaults Describe() const;

 private:
  const Clock& clock_;
  mutable absl::Mutex mu_;
  // By FaultCall number, so Describe() lists them in enum order.
  std::map<int, v1::LedgerFault> armed_ ABSL_GUARDED_BY(mu_);
};

// fxmesh.v1.LedgerFaultService over DevFaults. Each call is a quick in-memory change, done inline
// on the gRPC thread.
class LedgerFaultService final : public v1::LedgerFaultService::CallbackService {
 public:
  // `faults` must outlive the service.
  explicit LedgerFaultService(DevFaults& faults) : faults_(faults) {}

  grpc::ServerUnaryReactor* ArmFault(grpc::CallbackServerContext* context,
                                     const v1::ArmFaultRequest* request,
                                     v1::LedgerFaults* response) override;
  grpc::ServerUnaryReactor* ClearFaults(grpc::CallbackServerContext* context,
                                        const v1::ClearFaultsRequest* request,
                                        v1::LedgerFaults* response) override;
  grpc::ServerUnaryReactor* GetFaults(grpc::CallbackServerContext* context,
                                      const v1::GetFaultsRequest* request,
                                      v1::LedgerFaults* response) override;

 private:
  // Finishes the call with `status` and, when it is OK, the faults armed now.
  grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status,
                                   v1::LedgerFaults* response);

  DevFaults& faults_;
};

}  // namespace fxmesh::ledger
