#include "common/customer_token.h"

#include <errno.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/printable.h"

namespace fxmesh {
namespace {

constexpr absl::string_view kBeginPublicKey = "-----BEGIN PUBLIC KEY-----";
constexpr absl::string_view kEndPublicKey = "-----END PUBLIC KEY-----";
// A token's claimed algorithm is quoted back in an error at most this long.
constexpr size_t kAlgorithmNameBytesMax = 16;

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using Jwt = std::unique_ptr<jwt_t, JwtFree>;

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("customer token: ", why));
}

// The one algorithm a key verifies: RS256 for RSA (2048 bits or more), ES256 for EC P-256.
absl::StatusOr<jwt_alg_t> AlgorithmOf(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (bits < 2048) {
        return absl::InvalidArgumentError(
            absl::StrCat("an RSA key of ", bits, " bits is too weak; use 2048 or more"));
      }
      return JWT_ALG_RS256;
    case EVP_PKEY_EC:
      if (bits != 256) {
        return absl::InvalidArgumentError(
            absl::StrCat("an EC key of ", bits, " bits; only P-256 (ES256) is supported"));
      }
      return JWT_ALG_ES256;
    default:
      return absl::InvalidArgumentError("not an RSA or EC key (RS256 and ES256 are supported)");
  }
}

absl::StatusOr<std::vector<CustomerTokenVerifier::Key>> ParseKeys(absl::string_view text,
                                                                  absl::string_view file) {
  std::vector<CustomerTokenVerifier::Key> keys;
  for (size_t at = text.find(kBeginPublicKey); at != absl::string_view::npos;
       at = text.find(kBeginPublicKey, at + 1)) {
    const size_t end = text.find(kEndPublicKey, at);
    if (end == absl::string_view::npos) break;
    std::string pem(text.substr(at, end + kEndPublicKey.size() - at));
    pem += "\n";
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()),
                                                  BIO_free);
    Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      return absl::InvalidArgumentError(absl::StrCat("customer token key file ", file, ": key ",
                                                     keys.size() + 1,
                                                     " is not a readable PEM public key"));
    }
    absl::StatusOr<jwt_alg_t> algorithm = AlgorithmOf(key.get());
    if (!algorithm.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("customer token key file ", file, ": key ",
                                                     keys.size() + 1, ": ",
                                                     algorithm.status().message()));
    }
    keys.push_back({std::move(pem), *algorithm});
  }
  if (keys.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer token key file ", file, " holds no \"", kBeginPublicKey,
                     "\" block; give the public key(s) customer tokens are signed with"));
  }
  return keys;
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Whether the `aud` claim (a string or an array of strings) names `audience`.
bool HasAudience(jwt_t* jwt, const std::string& audience) {
  if (const char* single = jwt_get_grant(jwt, "aud")) return audience == single;
  char* json = jwt_get_grants_json(jwt, "aud");
  if (json == nullptr) return false;
  const bool found = absl::StrContains(json, absl::StrCat("\"", audience, "\""));
  free(json);
  return found;
}

// A time claim (seconds since the epoch), or nullopt when absent.
std::optional<absl::Time> TimeClaim(jwt_t* jwt, const char* name) {
  errno = 0;
  const long seconds = jwt_get_grant_int(jwt, name);
  if (errno != 0) return std::nullopt;
  return absl::FromUnixSeconds(seconds);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CustomerTokenVerifier>> CustomerTokenVerifier::Load(
    const CustomerTokenOptions& options) {
  absl::StatusOr<std::string> text = ReadWholeFile(options.public_key_file);
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("customer token key file: ", text.status().message()));
  }
  absl::StatusOr<std::vector<Key>> keys = ParseKeys(*text, options.public_key_file);
  if (!keys.ok()) return keys.status();
  std::unique_ptr<CustomerTokenVerifier> verifier(new CustomerTokenVerifier(options));
  absl::MutexLock lock(&verifier->mu_);
  verifier->keys_ = std::make_shared<const std::vector<Key>>(std::move(*keys));
  verifier->file_text_ = std::move(*text);
  verifier->looked_at_ = absl::Now();
  return verifier;
}

std::shared_ptr<const std::vector<CustomerTokenVerifier::Key>> CustomerTokenVerifier::CurrentKeys(
    absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (now - looked_at_ < absl::Seconds(limits::kCertificateRefreshSecondsDefault)) return keys_;
  looked_at_ = now;
  absl::StatusOr<std::string> text = ReadWholeFile(options_.public_key_file);
  if (text.ok() && *text == file_text_) return keys_;
  absl::StatusOr<std::vector<Key>> keys = text.ok()
                                              ? ParseKeys(*text, options_.public_key_file)
                                              : absl::StatusOr<std::vector<Key>>(text.status());
  if (!keys.ok()) {
    // A half-written or removed file must not lock every customer out: keep the last good keys.
    LogWarning("customer token keys not reloaded; the previous keys stay in use")
        .With("error", keys.status().message());
    return keys_;
  }
  LogInfo("customer token keys reloaded").With("keys", static_cast<int64_t>(keys->size()));
  keys_ = std::make_shared<const std::vector<Key>>(std::move(*keys));
  file_text_ = std::move(*text);
  return keys_;
}

absl::StatusOr<std::string> CustomerTokenVerifier::Verify(absl::string_view token, absl::Time now) {
  if (token.empty()) return Unauthenticated("empty");
  if (token.size() > limits::kCustomerTokenBytesMax) {
    return Unauthenticated(absl::StrCat("longer than ", limits::kCustomerTokenBytesMax, " bytes"));
  }
  const std::string text(token);
  // The header is read unverified only to refuse an algorithm no configured key uses.
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), nullptr, 0) != 0 || raw == nullptr) {
    return Unauthenticated("not a well-formed JWT");
  }
  // libjwt decodes a token without a key as alg "none"; the header still says what it claims.
  const char* header_alg = jwt_get_header(raw, "alg");
  const std::string claimed_name = header_alg == nullptr ? "none" : header_alg;
  const jwt_alg_t claimed = jwt_str_alg(claimed_name.c_str());
  jwt_free(raw);

  Jwt jwt;
  bool algorithm_known = false;
  const std::shared_ptr<const std::vector<Key>> keys = CurrentKeys(now);
  for (const Key& key : *keys) {
    if (key.algorithm != claimed) continue;
    algorithm_known = true;
    raw = nullptr;
    if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.pem.data()),
                   static_cast<int>(key.pem.size())) == 0 &&
        raw != nullptr && jwt_get_alg(raw) == claimed) {
      jwt.reset(raw);
      break;
    }
    if (raw != nullptr) jwt_free(raw);
  }
  if (!algorithm_known) {
    return Unauthenticated(absl::StrCat("signed with ",
                                        PrintableText(claimed_name, kAlgorithmNameBytesMax),
                                        ", which no configured key verifies"));
  }
  if (!jwt) return Unauthenticated("the signature does not verify with any configured key");

  const absl::Duration leeway = absl::Seconds(limits::kCustomerTokenLeewaySeconds);
  std::optional<absl::Time> expires = TimeClaim(jwt.get(), "exp");
  if (!expires) return Unauthenticated("no exp (expiry) claim");
  if (now > *expires + leeway) {
    return Unauthenticated(absl::StrCat(
        "expired at ", absl::FormatTime(absl::RFC3339_sec, *expires, absl::UTCTimeZone())));
  }
  if (std::optional<absl::Time> not_before = TimeClaim(jwt.get(), "nbf");
      not_before && now + leeway < *not_before) {
    return Unauthenticated(
        absl::StrCat("not valid before ",
                     absl::FormatTime(absl::RFC3339_sec, *not_before, absl::UTCTimeZone())));
  }
  if (!options_.issuer.empty()) {
    const char* issuer = jwt_get_grant(jwt.get(), "iss");
    if (issuer == nullptr || options_.issuer != issuer) {
      return Unauthenticated(absl::StrCat("not issued by ", options_.issuer));
    }
  }
  if (!options_.audience.empty() && !HasAudience(jwt.get(), options_.audience)) {
    return Unauthenticated(absl::StrCat("not meant for audience ", options_.audience));
  }
  const char* subject = jwt_get_grant(jwt.get(), "sub");
  if (subject == nullptr || *subject == '\0') return Unauthenticated("no sub (customer) claim");
  if (absl::Status valid = ValidateKey(subject, "sub", limits::kAccountIdLengthMax); !valid.ok()) {
    return Unauthenticated(valid.message());
  }
  return std::string(subject);
}

absl::StatusOr<std::string> CustomerTokenVerifier::VerifyBearer(absl::string_view authorization,
                                                                absl::Time now) {
  if (authorization.empty()) {
    return Unauthenticated(
        "this call carries none; a gateway sends metadata \"authorization: Bearer <JWT>\"");
  }
  if (!absl::ConsumePrefix(&authorization, "Bearer ") &&
      !absl::ConsumePrefix(&authorization, "bearer ")) {
    return Unauthenticated("the authorization metadata must be \"Bearer <JWT>\"");
  }
  return Verify(absl::StripAsciiWhitespace(authorization), now);
}

absl::StatusOr<std::string> SignCustomerToken(absl::string_view private_key_pem,
                                              const CustomerTokenClaims& claims) {
  const std::string pem(private_key_pem);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()), BIO_free);
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("not a readable PEM private key");
  absl::StatusOr<jwt_alg_t> algorithm = AlgorithmOf(key.get());
  if (!algorithm.ok()) return algorithm.status();

  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::ResourceExhaustedError("jwt_new failed");
  Jwt jwt(raw);
  bool ok = jwt_add_grant(jwt.get(), "sub", claims.customer.c_str()) == 0 &&
            jwt_add_grant_int(jwt.get(), "iat", absl::ToUnixSeconds(claims.issued_at)) == 0 &&
            jwt_add_grant_int(jwt.get(), "exp", absl::ToUnixSeconds(claims.expires)) == 0;
  if (ok && !claims.issuer.empty())
    ok = jwt_add_grant(jwt.get(), "iss", claims.issuer.c_str()) == 0;
  if (ok && !claims.audience.empty()) {
    ok = jwt_add_grant(jwt.get(), "aud", claims.audience.c_str()) == 0;
  }
  ok = ok && jwt_set_alg(jwt.get(), *algorithm, reinterpret_cast<const unsigned char*>(pem.data()),
                         static_cast<int>(pem.size())) == 0;
  if (!ok) return absl::InvalidArgumentError("cannot build the token's claims");
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return absl::InternalError("signing the customer token failed");
  std::string token(encoded);
  free(encoded);
  return token;
}

}  // namespace fxmesh
