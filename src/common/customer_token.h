// Customers are authenticated, never claimed: a customer-facing gateway carries a signed token
// (a JWT) for the customer it acts for, in the call's metadata (`authorization: Bearer <JWT>`),
// and the coordinator takes the customer from the token's `sub`. The signature is checked with
// libjwt against the bank's public key (RS256 for an RSA key, ES256 for an EC P-256 key); the
// algorithm follows the configured key, never the token's header, so a token "signed" with the
// public key as an HMAC secret, or with alg "none", is refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fxmesh {

// The metadata key the token travels in, as "Bearer <JWT>".
inline constexpr char kAuthorizationMetadata[] = "authorization";

struct CustomerTokenOptions {
  // PEM file with the public key(s) tokens are signed with: during a key rotation, the old and
  // the new key one after the other. Re-read when it changes. Empty: customers are not
  // authenticated (development).
  std::string public_key_file;
  // When set, a token's `iss` must be exactly this, and its `aud` must be or contain `audience`.
  std::string issuer;
  std::string audience;
};

class CustomerTokenVerifier {
 public:
  // Reads the key file; an unreadable file or one with no usable key is an error.
  static absl::StatusOr<std::unique_ptr<CustomerTokenVerifier>> Load(
      const CustomerTokenOptions& options);

  // The customer `token` authenticates (its `sub`), or UNAUTHENTICATED saying why: no valid
  // signature from a configured key, another algorithm than the key's, expired or not yet
  // valid (beyond limits::kCustomerTokenLeewaySeconds), wrong issuer or audience, no `sub`.
  absl::StatusOr<std::string> Verify(absl::string_view token, absl::Time now);

  // The customer that a call's metadata value `authorization` authenticates.
  absl::StatusOr<std::string> VerifyBearer(absl::string_view authorization, absl::Time now);

  struct Key {
    std::string pem;
    int algorithm;  // A jwt_alg_t.
  };

 private:
  explicit CustomerTokenVerifier(CustomerTokenOptions options) : options_(std::move(options)) {}
  // The keys, re-read when the file changed and limits::kCertificateRefreshSecondsDefault
  // have passed since the last look.
  std::shared_ptr<const std::vector<Key>> CurrentKeys(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  const CustomerTokenOptions options_;
  absl::Mutex mu_;
  // Shared with the calls verifying against them, so a call copies no key.
  std::shared_ptr<const std::vector<Key>> keys_ ABSL_GUARDED_BY(mu_);
  absl::Time looked_at_ ABSL_GUARDED_BY(mu_);
  std::string file_text_ ABSL_GUARDED_BY(mu_);
};

// What a gateway (or its identity provider) does: a token for `customer`, signed with
// `private_key_pem` (RSA: RS256, EC P-256: ES256), valid until `expires`. For development
// (`fxmesh dev --tls`) and tests; a bank's own identity provider signs in production.
struct CustomerTokenClaims {
  std::string customer;
  std::string issuer;
  std::string audience;
  absl::Time issued_at;
  absl::Time expires;
};
absl::StatusOr<std::string> SignCustomerToken(absl::string_view private_key_pem,
                                              const CustomerTokenClaims& claims);

}  // namespace fxmesh
