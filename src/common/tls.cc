#include "common/tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/access_policy.h"
#include "common/log.h"

namespace fxmesh {
namespace {

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> NewProvider(
    const TlsOptions& options) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.certificate_file, options.ca_file,
      static_cast<unsigned int>(absl::ToInt64Seconds(options.refresh)));
}

}  // namespace

absl::Status CheckTlsOptions(const TlsOptions& options) {
  if (!options.enabled()) return absl::OkStatus();
  for (const auto& [flag, file] :
       {std::pair{"--tls_cert", &options.certificate_file},
        std::pair{"--tls_key", &options.key_file}, std::pair{"--tls_ca", &options.ca_file}}) {
    if (file->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "TLS needs all of --tls_cert, --tls_key and --tls_ca; ", flag, " is missing"));
    }
    if (!std::ifstream(*file).good())
      return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", *file));
  }
  if (options.trust_domain.empty())
    return absl::InvalidArgumentError("the SPIFFE trust domain must not be empty");
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> NewServerCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions tls(NewProvider(options));
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  // The certificate is asked for and checked at the handshake; the AccessPolicy then says what a
  // caller without one gets (UNAUTHENTICATED, with the reason) rather than a bare handshake error.
  tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::experimental::TlsServerCredentials(tls);
  credentials->SetAuthMetadataProcessor(std::make_shared<AccessPolicy>(options.trust_domain));
  return credentials;
}

std::shared_ptr<grpc::ChannelCredentials> NewChannelCredentials(const TlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(NewProvider(options));
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(tls);
}

void WarnIfExposedInPlaintext(const TlsOptions& options, const std::string& address) {
  if (options.enabled()) return;
  if (absl::StartsWith(address, "127.") || absl::StartsWith(address, "localhost:") ||
      absl::StartsWith(address, "[::1]:")) {
    return;
  }
  LogError(
      "PLAINTEXT gRPC on a non-loopback address: anyone who can reach it can call every RPC, as "
      "anyone. Give --tls_cert, --tls_key and --tls_ca (docs/security.md)")
      .With("listen", address);
}

}  // namespace fxmesh
