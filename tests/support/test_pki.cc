#include "tests/support/test_pki.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
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
  const absl::Status made = testing::MakeSigningKey(dir_, name, algorithm);
  INFO(made.ToString());
  REQUIRE(made.ok());
  return {absl::StrCat(dir_, "/", name, ".key"), absl::StrCat(dir_, "/", name, ".pub")};
}

}  // namespace fxmesh::testing
