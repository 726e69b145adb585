#include "common/access_policy.h"

#include <grpc/grpc_security_constants.h>

#include <array>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/printable.h"

namespace fxmesh {
namespace {

constexpr std::array<std::pair<Role, absl::string_view>, 5> kRoleNames = {{
    {Role::kCoordinator, "coordinator"},
    {Role::kRelay, "relay"},
    {Role::kCoreBanking, "core-banking"},
    {Role::kOperator, "operator"},
    {Role::kGateway, "gateway"},
}};

// One row of the table: the roles that may call a method, or every method of a service when the
// method is "*".
struct Grant {
  absl::string_view service;
  absl::string_view method;
  std::vector<Role> roles;
};

constexpr absl::string_view kLedger = "fxmesh.v1.LedgerService";
const std::vector<Role> kEveryRole = {Role::kCoordinator, Role::kRelay, Role::kCoreBanking,
                                      Role::kOperator, Role::kGateway};

const Grant kGrants[] = {
    // The money moves of a saga: only the saga's drivers.
    {kLedger, "Try", {Role::kCoordinator, Role::kRelay}},
    {kLedger, "Confirm", {Role::kCoordinator, Role::kRelay}},
    {kLedger, "Cancel", {Role::kCoordinator, Role::kRelay}},
    // Money in and out of customers' accounts: only the bank's core system.
    {kLedger, "OpenAccount", {Role::kCoreBanking}},
    {kLedger, "SetAccountFrozen", {Role::kCoreBanking}},
    {kLedger, "Deposit", {Role::kCoreBanking}},
    {kLedger, "Withdraw", {Role::kCoreBanking}},
    {kLedger, "GetAccount", {Role::kCoreBanking, Role::kOperator}},
    {kLedger, "ListHolds", {Role::kCoreBanking, Role::kOperator}},
    {kLedger, "ListJournal", {Role::kCoreBanking, Role::kOperator}},
    {kLedger, "GetBalanceSheet", {Role::kCoreBanking, Role::kOperator}},
    {"fxmesh.v1.ExchangeService", "*", {Role::kGateway}},
    {"fxmesh.v1.OpsService", "*", {Role::kOperator}},
    {"fxmesh.v1.TraceService", "*", {Role::kOperator}},
    {"fxmesh.v1.KafkaControlService", "*", {Role::kOperator}},
    {"fxmesh.v1.LedgerFaultService", "*", {Role::kOperator}},
    {"grpc.health.v1.Health", "*", kEveryRole},
    // Reflection: clients ask for v1 first and fall back to v1alpha (what gRPC 1.51 serves) only
    // when v1 is unimplemented, not when it is refused.
    {"grpc.reflection.v1.ServerReflection", "*", kEveryRole},
    {"grpc.reflection.v1alpha.ServerReflection", "*", kEveryRole},
};

std::string FirstValue(const grpc::AuthContext& context, const char* property) {
  for (const grpc::string_ref& value : context.FindPropertyValues(property))
    return std::string(value.data(), value.size());
  return "";
}

}  // namespace

absl::string_view RoleName(Role role) {
  for (const auto& [known, name] : kRoleNames) {
    if (known == role) return name;
  }
  return "unknown";
}

std::string Identity::ToString() const {
  return name.empty() ? std::string(RoleName(role)) : absl::StrCat(RoleName(role), "/", name);
}

absl::StatusOr<Identity> ParseIdentity(absl::string_view spiffe_id,
                                       absl::string_view trust_domain) {
  const std::string prefix = absl::StrCat("spiffe://", trust_domain, "/");
  if (!absl::StartsWith(spiffe_id, prefix)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate's SPIFFE ID ", PrintableText(spiffe_id, limits::kQuotedTextBytesMax),
        " is not in the trust domain ", trust_domain, " (want ", prefix, "<role>[/<name>])"));
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(spiffe_id.substr(prefix.size()), absl::MaxSplits('/', 1));
  std::optional<Role> role;
  for (const auto& [known, name] : kRoleNames) {
    if (parts[0] == name) role = known;
  }
  if (!role) {
    return absl::InvalidArgumentError(
        absl::StrCat("the certificate's SPIFFE ID names no known role (",
                     PrintableText(parts[0], limits::kQuotedTextBytesMax),
                     "): want coordinator, relay, core-banking, operator or gateway"));
  }
  Identity identity{*role, parts.size() > 1 ? std::string(parts[1]) : ""};
  if (identity.role == Role::kOperator && identity.name.empty()) {
    return absl::InvalidArgumentError(
        "an operator's SPIFFE ID must name the operator (spiffe://<trust domain>/operator/<name>)");
  }
  return identity;
}

bool MayCall(Role role, absl::string_view method) {
  // "/package.Service/Method"
  if (!absl::ConsumePrefix(&method, "/")) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(method, absl::MaxSplits('/', 1));
  if (parts.size() != 2) return false;
  for (const Grant& grant : kGrants) {
    if (grant.service != parts[0] || (grant.method != "*" && grant.method != parts[1])) continue;
    for (Role allowed : grant.roles) {
      if (allowed == role) return true;
    }
  }
  return false;
}

grpc::Status AccessPolicy::Process(const InputMetadata& metadata, grpc::AuthContext* context,
                                   OutputMetadata* /*consumed*/, OutputMetadata* /*response*/) {
  std::string method;
  if (auto path = metadata.find(":path"); path != metadata.end())
    method.assign(path->second.data(), path->second.size());
  const std::string spiffe_id = FirstValue(*context, GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  auto refuse = [&](grpc::StatusCode code, const std::string& why) {
    LogWarning("call refused")
        .With("method", PrintableText(method, limits::kQuotedTextBytesMax))
        .With("peer", PrintableText(spiffe_id, limits::kQuotedTextBytesMax))
        .With("why", why);
    return grpc::Status(code, why);
  };
  if (spiffe_id.empty()) {
    return refuse(grpc::StatusCode::UNAUTHENTICATED,
                  absl::StrCat("a client certificate with a SPIFFE ID (a URI SAN spiffe://",
                               trust_domain_, "/<role>[/<name>]) is required"));
  }
  absl::StatusOr<Identity> identity = ParseIdentity(spiffe_id, trust_domain_);
  if (!identity.ok())
    return refuse(grpc::StatusCode::UNAUTHENTICATED, std::string(identity.status().message()));
  if (!MayCall(identity->role, method)) {
    return refuse(grpc::StatusCode::PERMISSION_DENIED,
                  absl::StrCat(identity->ToString(), " may not call ",
                               PrintableText(method, limits::kQuotedTextBytesMax)));
  }
  context->AddProperty(kIdentityProperty, identity->ToString());
  return grpc::Status::OK;
}

std::optional<std::string> CallerIdentity(const grpc::AuthContext& context) {
  std::string identity = FirstValue(context, kIdentityProperty);
  if (identity.empty()) return std::nullopt;
  return identity;
}

}  // namespace fxmesh
