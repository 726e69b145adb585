#include "tests/support/test_pki.h"

#include <catch2/catch.hpp>

#include "tests/support/pki.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {

TestPki::TestPki(const std::string& name) : dir_(MakeTempDir("fxmesh-pki")) {
  const absl::Status made = MakeCertificateAuthority(dir_, name);
  INFO(made.ToString());
  REQUIRE(made.ok());
}

TlsOptions TestPki::Issue(const std::string& file_name, const std::string& spiffe_id,
                          const std::string& common_name) {
  absl::StatusOr<TlsOptions> issued = IssueCertificate(dir_, file_name, spiffe_id, common_name);
  INFO(issued.status().ToString());
  REQUIRE(issued.ok());
  return *issued;
}

TestPki::SigningKey TestPki::MakeSigningKey(const std::string& name, const std::string& algorithm) {
  const std::string base = absl::StrCat(dir_, "/", name);
  const std::string options = algorithm == "rsa" ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                                                 : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
  Run(absl::StrCat("openssl genpkey ", options, " -out '", base, ".key'"));
  Run(absl::StrCat("openssl pkey -in '", base, ".key' -pubout -out '", base, ".pub'"));
  return {base + ".key", base + ".pub"};
}

}  // namespace fxmesh::testing
