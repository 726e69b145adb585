#include "tests/chaos/chaos_tls.h"

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
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
  ChaosTls tls;
  tls.dir_ = dir;
  tls.credentials_ = {NewChannelCredentials(gateway), NewChannelCredentials(operator_role),
                      NewChannelCredentials(core_banking)};
  return tls;
}

std::vector<std::string> ChaosTls::ServiceFlags(const std::string& identity) const {
  if (!enabled()) return {};
  const std::string base = absl::StrCat(dir_, "/", identity);
  return {absl::StrCat("--tls_cert=", base, ".crt"), absl::StrCat("--tls_key=", base, ".key"),
          absl::StrCat("--tls_ca=", dir_, "/ca.crt")};
}

}  // namespace fxmesh::chaos
