#include "common/tls_flags.h"

#include <string>

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate of this process (mutual TLS for its server and its clients; with "
          "--tls_key and --tls_ca; none of the three: plaintext)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA bundle that peers' certificates must chain to");
ABSL_FLAG(std::string, tls_trust_domain, fxmesh::kDefaultTrustDomain,
          "trust domain of the callers' SPIFFE IDs (spiffe://<domain>/<role>[/<name>])");

namespace fxmesh {

TlsOptions TlsOptionsFromFlags() {
  TlsOptions options;
  options.certificate_file = absl::GetFlag(FLAGS_tls_cert);
  options.key_file = absl::GetFlag(FLAGS_tls_key);
  options.ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.trust_domain = absl::GetFlag(FLAGS_tls_trust_domain);
  return options;
}

}  // namespace fxmesh
