// Dev-only fault injection for a ledger (`--dev_faults`, proto/fxmesh/v1/ledger_fault.proto), so
// that a demo or a developer can make a ledger look down on purpose and watch a saga get stuck.
// Never part of a production ledger: only the ledger binaries' wiring (ledger_main.cc) builds
// these, and only with the flag; the ledger library itself does not know about them.
//
// DevFaults holds which branch calls are armed to fail. FaultInjectingBranchCalls, in front of the
// engine's Try, Confirm and Cancel, consults Check() before each call reaches the engine: the one
// place where a fault takes effect, so an armed call changes nothing in the database.
// LedgerFaultService arms and clears them over gRPC.
#pragma once

#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"
#include "ledger/branch_calls.h"
#include "ledger/ledger_server.h"

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

// The engine's branch calls behind the fault switch: an armed call answers UNAVAILABLE and never
// reaches `inner`.
class FaultInjectingBranchCalls final : public BranchCalls {
 public:
  // `inner` and `faults` must outlive this.
  FaultInjectingBranchCalls(BranchCalls& inner, DevFaults& faults)
      : inner_(inner), faults_(faults) {}

  absl::Status Try(const v1::TryRequest& request, v1::BranchResponse* response) override;
  absl::Status Confirm(const v1::BranchRequest& request, v1::BranchResponse* response) override;
  absl::Status Cancel(const v1::BranchRequest& request, v1::BranchResponse* response) override;

 private:
  BranchCalls& inner_;
  DevFaults& faults_;
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

// The whole switch as `--dev_faults` wires it: the faults, their service, and the seams of
// LedgerServerOptions that put them in front of the engine. Must outlive the server.
class DevFaultSwitch {
 public:
  // `clock` must outlive this.
  explicit DevFaultSwitch(const Clock& clock) : faults_(clock), service_(faults_) {}

  // Sets `options`' branch-call layer and adds LedgerFaultService to its services.
  void ApplyTo(LedgerServerOptions& options);

 private:
  DevFaults faults_;
  LedgerFaultService service_;
};

}  // namespace fxmesh::ledger
