// Customer tokens: only a token signed by a configured key, with the key's own algorithm, in date,
// from the configured issuer and for the configured audience, names a customer.
#include "common/customer_token.h"

#include <jwt.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "common/limits.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace fxmesh {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

CustomerTokenClaims Claims(const std::string& customer = "alice") {
  return {.customer = customer,
          .issuer = "https://idp.bank.example",
          .audience = "fxmesh",
          .issued_at = kNow,
          .expires = kNow + absl::Minutes(5)};
}

std::unique_ptr<CustomerTokenVerifier> VerifierFor(const std::string& public_file) {
  absl::StatusOr<std::unique_ptr<CustomerTokenVerifier>> verifier = CustomerTokenVerifier::Load(
      {.public_key_file = public_file, .issuer = "https://idp.bank.example", .audience = "fxmesh"});
  REQUIRE(verifier.ok());
  return std::move(*verifier);
}

// A token libjwt signs with any algorithm and key: what an attacker can make.
std::string ForgedToken(jwt_alg_t algorithm, const std::string& key) {
  jwt_t* jwt = nullptr;
  REQUIRE(jwt_new(&jwt) == 0);
  jwt_add_grant(jwt, "sub", "mallory");
  jwt_add_grant(jwt, "iss", "https://idp.bank.example");
  jwt_add_grant(jwt, "aud", "fxmesh");
  jwt_add_grant_int(jwt, "exp", absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  REQUIRE(jwt_set_alg(jwt, algorithm,
                      key.empty() ? nullptr : reinterpret_cast<const unsigned char*>(key.data()),
                      static_cast<int>(key.size())) == 0);
  char* encoded = jwt_encode_str(jwt);
  std::string token(encoded);
  free(encoded);
  jwt_free(jwt);
  return token;
}

void RequireRefused(const absl::StatusOr<std::string>& customer, const std::string& why) {
  INFO(customer.status().ToString());
  REQUIRE(absl::IsUnauthenticated(customer.status()));
  CHECK_THAT(std::string(customer.status().message()), Catch::Contains(why));
}

TEST_CASE("a token signed by the configured key names its customer") {
  testing::TestPki pki;
  for (std::string algorithm : {"ec", "rsa"}) {
    DYNAMIC_SECTION(algorithm) {
      auto key = pki.MakeSigningKey("idp-" + algorithm, algorithm);
      auto verifier = VerifierFor(key.public_file);
      absl::StatusOr<std::string> token =
          SignCustomerToken(testing::ReadTextFile(key.private_file), Claims());
      REQUIRE(token.ok());
      CHECK(verifier->Verify(*token, kNow).value_or("") == "alice");
      CHECK(verifier->VerifyBearer("Bearer " + *token, kNow).value_or("") == "alice");
    }
  }
}

TEST_CASE("forged, stale and misdirected customer tokens are refused, saying why") {
  testing::TestPki pki;
  auto key = pki.MakeSigningKey("idp");
  auto other = pki.MakeSigningKey("other-idp");
  auto verifier = VerifierFor(key.public_file);
  const std::string private_pem = testing::ReadTextFile(key.private_file);
  auto sign = [&](const CustomerTokenClaims& claims) {
    absl::StatusOr<std::string> token = SignCustomerToken(private_pem, claims);
    REQUIRE(token.ok());
    return *token;
  };

  SECTION("another key's signature") {
    std::string token = *SignCustomerToken(testing::ReadTextFile(other.private_file), Claims());
    RequireRefused(verifier->Verify(token, kNow), "does not verify");
  }
  SECTION("the public key used as an HMAC secret (algorithm confusion)") {
    RequireRefused(
        verifier->Verify(ForgedToken(JWT_ALG_HS256, testing::ReadTextFile(key.public_file)), kNow),
        "signed with HS256");
  }
  SECTION("no signature at all (alg none)") {
    RequireRefused(verifier->Verify(ForgedToken(JWT_ALG_NONE, ""), kNow), "signed with none");
  }
  SECTION("a signature tampered with") {
    std::string token = sign(Claims());
    // A character in the middle of the signature (the last one may carry only padding bits).
    const size_t at = token.rfind('.') + 10;
    token[at] = token[at] == 'A' ? 'B' : 'A';
    RequireRefused(verifier->Verify(token, kNow), "does not verify");
  }
  SECTION("expired, beyond the leeway; within it, still good") {
    std::string token = sign(Claims());
    const absl::Duration leeway = absl::Seconds(limits::kCustomerTokenLeewaySeconds);
    CHECK(verifier->Verify(token, kNow + absl::Minutes(5) + leeway).ok());
    RequireRefused(verifier->Verify(token, kNow + absl::Minutes(5) + leeway + absl::Seconds(1)),
                   "expired at");
  }
  SECTION("no expiry") {
    CustomerTokenClaims claims = Claims();
    claims.expires = absl::UnixEpoch();
    RequireRefused(verifier->Verify(sign(claims), kNow), "expired");
  }
  SECTION("another issuer, another audience") {
    CustomerTokenClaims claims = Claims();
    claims.issuer = "https://evil.example";
    RequireRefused(verifier->Verify(sign(claims), kNow), "not issued by");
    claims = Claims();
    claims.audience = "another-service";
    RequireRefused(verifier->Verify(sign(claims), kNow), "audience");
  }
  SECTION("no customer, or one that is not a valid id") {
    RequireRefused(verifier->Verify(sign(Claims("")), kNow), "no sub");
    RequireRefused(verifier->Verify(sign(Claims("alice/../bob")), kNow), "sub");
  }
  SECTION("malformed and oversized values") {
    RequireRefused(verifier->VerifyBearer("", kNow), "carries none");
    RequireRefused(verifier->VerifyBearer("Basic YWxpY2U6cHc=", kNow), "Bearer <JWT>");
    RequireRefused(verifier->Verify("not.a.jwt", kNow), "well-formed");
    RequireRefused(verifier->Verify(std::string(limits::kCustomerTokenBytesMax + 1, 'a'), kNow),
                   "longer than");
  }
}

TEST_CASE("customer token keys rotate without a restart") {
  testing::TestPki pki;
  auto old_key = pki.MakeSigningKey("old");
  auto new_key = pki.MakeSigningKey("new");
  const std::string file = pki.dir() + "/token-keys.pem";
  std::ofstream(file) << testing::ReadTextFile(old_key.public_file)
                      << testing::ReadTextFile(new_key.public_file);
  auto verifier = VerifierFor(file);
  const std::string old_token =
      *SignCustomerToken(testing::ReadTextFile(old_key.private_file), Claims());
  const std::string new_token =
      *SignCustomerToken(testing::ReadTextFile(new_key.private_file), Claims("bob"));
  // During the rotation both keys verify.
  CHECK(verifier->Verify(old_token, kNow).value_or("") == "alice");
  CHECK(verifier->Verify(new_token, kNow).value_or("") == "bob");

  // The old key removed: refused once the file has been looked at again.
  std::ofstream(file) << testing::ReadTextFile(new_key.public_file);
  const absl::Duration refresh = absl::Seconds(limits::kCertificateRefreshSecondsDefault + 1);
  CHECK(verifier->Verify(old_token, kNow + absl::Seconds(1)).ok());  // Not looked at yet.
  RequireRefused(verifier->Verify(old_token, kNow + refresh), "does not verify");
  CHECK(verifier->Verify(new_token, kNow + refresh).value_or("") == "bob");

  // A broken file keeps the last good keys rather than locking everyone out.
  std::ofstream(file) << "garbage";
  CHECK(verifier->Verify(new_token, kNow + 2 * refresh).value_or("") == "bob");
  RequireRefused(verifier->Verify(old_token, kNow + 2 * refresh), "does not verify");
}

TEST_CASE("a key file with no usable key is refused at start") {
  testing::TestPki pki;
  const std::string file = pki.dir() + "/empty.pem";
  std::ofstream(file) << "no key here\n";
  auto verifier = CustomerTokenVerifier::Load({.public_key_file = file});
  REQUIRE(absl::IsInvalidArgument(verifier.status()));
  CHECK_THAT(std::string(verifier.status().message()), Catch::Contains("BEGIN PUBLIC KEY"));
  CHECK(absl::IsInvalidArgument(
      CustomerTokenVerifier::Load({.public_key_file = pki.dir() + "/missing.pem"}).status()));
}

}  // namespace
}  // namespace fxmesh
