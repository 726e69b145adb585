#include "tests/support/test_pki.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

void Run(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(absl::StrCat(command, " 2>/dev/null").c_str()) == 0);
}

}  // namespace

TestPki::TestPki(const std::string& name) : dir_(MakeTempDir("fxmesh-pki")) {
  Run(absl::StrCat("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '",
                   dir_, "/ca.key' -out '", dir_, "/ca.crt' -days 2 -subj '/CN=", name, "'"));
}

TlsOptions TestPki::Issue(const std::string& file_name, const std::string& spiffe_id,
                          const std::string& common_name) {
  const std::string base = absl::StrCat(dir_, "/", file_name);
  std::ofstream(base + ".ext") << "subjectAltName=URI:" << spiffe_id
                               << ",DNS:localhost,IP:127.0.0.1\n";
  // Written beside the final files and renamed over them, so a reader never sees half a file.
  Run(absl::StrCat("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '", base,
                   ".key.new' -out '", base, ".csr' -subj '/CN=", common_name, "'"));
  Run(absl::StrCat("openssl x509 -req -in '", base, ".csr' -CA '", dir_, "/ca.crt' -CAkey '", dir_,
                   "/ca.key' -CAcreateserial -out '", base, ".crt.new' -days 2 -extfile '", base,
                   ".ext'"));
  Run(absl::StrCat("mv '", base, ".key.new' '", base, ".key' && mv '", base, ".crt.new' '", base,
                   ".crt'"));
  TlsOptions options;
  options.certificate_file = base + ".crt";
  options.key_file = base + ".key";
  options.ca_file = ca_file();
  return options;
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
