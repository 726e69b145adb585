#include "tests/chaos/chaos_tls.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/customer_token.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "tests/support/pki.h"

namespace fxmesh::chaos {
namespace {

// Each certificate's file name and the path of its SPIFFE ID. The services' own: a ledger's and
// Kafka's are only ever presented as a server's, so their roles call nothing.
constexpr std::pair<const char*, const char*> kServiceIdentities[] = {
    {"coordinator", "coordinator"}, {"relay", "relay"},       {"krw-ledger", "ledger/krw"},
    {"fx-ledger", "ledger/fx"},     {"kafka", "kafka/chaos"},
};

// The identity provider's key pair, and how long a token it signs holds (longer than any call).
constexpr char kTokenKey[] = "customer-tokens";
constexpr absl::Duration kTokenLifetime = absl::Minutes(5);

std::string SpiffeId(const std::string& path) {
  return absl::StrCat("spiffe://", kDefaultTrustDomain, "/", path);
}

}  // namespace

ChaosTls::ChaosTls()
    : credentials_{grpc::InsecureChannelCredentials(), grpc::InsecureChannelCredentials(),
                   grpc::InsecureChannelCredentials()} {}

absl::StatusOr<ChaosTls> ChaosTls::Make(const std::string& dir) {
  std::error_code error;
  if (!std::filesystem::create_directory(dir, error)) {
    return absl::InternalError(absl::StrCat("cannot make the certificates' folder ", dir, ": ",
                                            error ? error.message() : "it exists"));
  }
  const testing::PkiOptions options{.backdate = kCertificateBackdate};
  RETURN_IF_ERROR(testing::MakeCertificateAuthority(dir, "fxmesh-chaos-ca", options));
  for (const auto& [name, path] : kServiceIdentities) {
    RETURN_IF_ERROR(testing::IssueCertificate(dir, name, SpiffeId(path), name, options).status());
  }
  // The harness's own roles. Each credential reads its files itself (and again every minute).
  ASSIGN_OR_RETURN(
      TlsOptions gateway,
      testing::IssueCertificate(dir, "gateway", SpiffeId("gateway/chaos"), "gateway", options));
  ASSIGN_OR_RETURN(TlsOptions operator_role,
                   testing::IssueCertificate(dir, "operator",
                                             SpiffeId(absl::StrCat("operator/", kChaosOperator)),
                                             kChaosOperator, options));
  ASSIGN_OR_RETURN(TlsOptions core_banking,
                   testing::IssueCertificate(dir, "core-banking", SpiffeId("core-banking/chaos"),
                                             "core-banking", options));
  RETURN_IF_ERROR(testing::MakeSigningKey(dir, kTokenKey));
  ChaosTls tls;
  tls.dir_ = dir;
  std::ifstream key(absl::StrCat(dir, "/", kTokenKey, ".key"));
  std::ostringstream pem;
  pem << key.rdbuf();
  tls.token_key_pem_ = pem.str();
  tls.credentials_ = {NewChannelCredentials(gateway), NewChannelCredentials(operator_role),
                      NewChannelCredentials(core_banking)};
  return tls;
}

std::vector<std::string> ChaosTls::ServiceFlags(const std::string& identity) const {
  if (!enabled()) return {};
  const std::string base = absl::StrCat(dir_, "/", identity);
  std::vector<std::string> flags = {absl::StrCat("--tls_cert=", base, ".crt"),
                                    absl::StrCat("--tls_key=", base, ".key"),
                                    absl::StrCat("--tls_ca=", dir_, "/ca.crt")};
  if (identity == "coordinator") {
    flags.push_back(absl::StrCat("--customer_token_key=", dir_, "/", kTokenKey, ".pub"));
  }
  return flags;
}

void ChaosTls::AddCustomerToken(grpc::ClientContext& context, const std::string& customer) const {
  if (!enabled()) return;
  const absl::Time now = absl::Now();
  absl::StatusOr<std::string> token = SignCustomerToken(
      token_key_pem_, {.customer = customer, .issued_at = now, .expires = now + kTokenLifetime});
  // Sent without one, the call is refused UNAUTHENTICATED, which the checker reports.
  if (token.ok()) context.AddMetadata(kAuthorizationMetadata, absl::StrCat("Bearer ", *token));
}

}  // namespace fxmesh::chaos
