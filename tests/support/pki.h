// A throw-away certificate authority made with the openssl command, and the certificates it issues
// for SPIFFE IDs, valid for 127.0.0.1 and localhost. Free of Catch2, so the bank test's harness
// (a program of its own) shares it with the TLS tests (test_pki.h).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/tls.h"

namespace fxmesh::testing {

struct PkiOptions {
  // How long before now the certificates' validity begins. A process whose clock runs behind
  // refuses a certificate that is not valid yet by its clock; a PKI for a run that skews clocks
  // backdates by more than the largest skew. Not zero: the openssl command runs under libfaketime.
  absl::Duration backdate = absl::ZeroDuration();
  // How long the certificates stay valid after now.
  int days = 2;
};

// Makes ca.crt and ca.key, a CA named `name`, in the folder `dir`, which must exist.
absl::Status MakeCertificateAuthority(const std::string& dir, const std::string& name,
                                      const PkiOptions& options = {});

// Issues (or issues again, replacing the files) `file_name`.crt and `file_name`.key in `dir` from
// the CA there, for `spiffe_id` with the common name `common_name`; returns TlsOptions naming
// them and the CA. The files are written beside and renamed over the old ones, so a reader never
// sees half a file.
absl::StatusOr<TlsOptions> IssueCertificate(const std::string& dir, const std::string& file_name,
                                            const std::string& spiffe_id,
                                            const std::string& common_name,
                                            const PkiOptions& options = {});

// Makes a key pair for signing customer tokens in `dir`: `name`.key (private) and `name`.pub,
// `algorithm` "ec" (P-256, ES256) or "rsa" (2048 bits, RS256).
absl::Status MakeSigningKey(const std::string& dir, const std::string& name,
                            const std::string& algorithm = "ec");

}  // namespace fxmesh::testing
