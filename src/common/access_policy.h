// Who may call what, on a service that runs with mutual TLS. Every caller presents a certificate
// whose URI SAN is a SPIFFE ID, spiffe://<trust domain>/<role>[/<name>]; its role decides which
// RPCs it may call. The table is default deny: an RPC it does not name is refused to everyone.
//
//   role          may call
//   coordinator   LedgerService Try, Confirm, Cancel
//   relay         LedgerService Try, Confirm, Cancel
//   core-banking  LedgerService OpenAccount, SetAccountFrozen, Deposit, Withdraw, and its reads
//   operator      OpsService, TraceService, KafkaControlService, LedgerFaultService, ledger reads
//   gateway       ExchangeService (customer-facing gateways)
//   any of them   grpc.health.v1.Health and server reflection
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

enum class Role { kCoordinator, kRelay, kCoreBanking, kOperator, kGateway };

// "coordinator", "core-banking", ...: the role's path segment in a SPIFFE ID.
absl::string_view RoleName(Role role);

struct Identity {
  Role role = Role::kGateway;
  std::string name;  // "kim" in spiffe://fxmesh.local/operator/kim; may be empty for a service.

  // "operator/kim", or "coordinator": how logs and audit rows name the caller.
  std::string ToString() const;
};

// The identity in `spiffe_id`, which must be in `trust_domain`; INVALID_ARGUMENT saying what is
// wrong otherwise. An operator must have a name: maker-checker tells operators apart by it.
absl::StatusOr<Identity> ParseIdentity(absl::string_view spiffe_id, absl::string_view trust_domain);

// Whether `role` may call `method` ("/fxmesh.v1.LedgerService/Try").
bool MayCall(Role role, absl::string_view method);

// The AuthContext property in which an admitted call carries its caller's Identity::ToString().
inline constexpr char kIdentityProperty[] = "fxmesh_identity";

// Enforces the table on a TLS server: a call without a client certificate in the trust domain is
// refused with UNAUTHENTICATED, one whose role may not call the method with PERMISSION_DENIED,
// before any handler runs; an admitted call carries its identity in kIdentityProperty.
class AccessPolicy final : public grpc::AuthMetadataProcessor {
 public:
  explicit AccessPolicy(std::string trust_domain) : trust_domain_(std::move(trust_domain)) {}

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed, OutputMetadata* response) override;

 private:
  const std::string trust_domain_;
};

// The identity an admitted call carries, or none (a plaintext server admits everyone).
std::optional<std::string> CallerIdentity(const grpc::AuthContext& context);

}  // namespace fxmesh
