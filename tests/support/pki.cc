#include "tests/support/pki.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/support/faketime.h"

namespace fxmesh::testing {
namespace {

// Runs one openssl command; its own messages go to `dir`/openssl.log, which the error names.
absl::Status Openssl(const std::string& dir, const std::string& arguments,
                     const PkiOptions& options) {
  // libfaketime moves the wall clock of the openssl command alone, so the certificate's validity
  // begins `backdate` ago.
  const std::string clock = options.backdate > absl::ZeroDuration()
                                ? absl::StrCat("LD_PRELOAD=", kFakeTimeLibrary, " FAKETIME='-",
                                               absl::ToInt64Seconds(options.backdate), "' ")
                                : "";
  const std::string command =
      absl::StrCat(clock, "openssl ", arguments, " >>'", dir, "/openssl.log' 2>&1");
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat("making a test certificate failed (see ", dir, "/openssl.log): ", command));
  }
  return absl::OkStatus();
}

absl::Status CheckFolder(const std::string& dir) {
  if (dir.find('\'') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("a certificate folder must not contain a quote ('): ", dir));
  }
  if (!std::filesystem::is_directory(dir))
    return absl::InvalidArgumentError(absl::StrCat("no certificate folder ", dir));
  return absl::OkStatus();
}

}  // namespace

absl::Status MakeCertificateAuthority(const std::string& dir, const std::string& name,
                                      const PkiOptions& options) {
  if (absl::Status checked = CheckFolder(dir); !checked.ok()) return checked;
  return Openssl(dir,
                 absl::StrCat("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                              "-keyout '",
                              dir, "/ca.key' -out '", dir, "/ca.crt' -days ", options.days,
                              " -subj '/CN=", name, "'"),
                 options);
}

absl::StatusOr<TlsOptions> IssueCertificate(const std::string& dir, const std::string& file_name,
                                            const std::string& spiffe_id,
                                            const std::string& common_name,
                                            const PkiOptions& options) {
  if (absl::Status checked = CheckFolder(dir); !checked.ok()) return checked;
  const std::string base = absl::StrCat(dir, "/", file_name);
  std::ofstream(base + ".ext") << "subjectAltName=URI:" << spiffe_id
                               << ",DNS:localhost,IP:127.0.0.1\n";
  absl::Status made =
      Openssl(dir,
              absl::StrCat("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout '", base,
                           ".key.new' -out '", base, ".csr' -subj '/CN=", common_name, "'"),
              options);
  if (made.ok()) {
    made = Openssl(dir,
                   absl::StrCat("x509 -req -in '", base, ".csr' -CA '", dir, "/ca.crt' -CAkey '",
                                dir, "/ca.key' -CAcreateserial -out '", base, ".crt.new' -days ",
                                options.days, " -extfile '", base, ".ext'"),
                   options);
  }
  if (!made.ok()) return made;
  std::error_code error;
  std::filesystem::rename(base + ".key.new", base + ".key", error);
  if (!error) std::filesystem::rename(base + ".crt.new", base + ".crt", error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot put the certificate ", base, ".crt in place: ", error.message()));
  }
  TlsOptions tls;
  tls.certificate_file = base + ".crt";
  tls.key_file = base + ".key";
  tls.ca_file = absl::StrCat(dir, "/ca.crt");
  return tls;
}

absl::Status MakeSigningKey(const std::string& dir, const std::string& name,
                            const std::string& algorithm) {
  if (absl::Status ok = CheckFolder(dir); !ok.ok()) return ok;
  const std::string base = absl::StrCat(dir, "/", name);
  const std::string key = algorithm == "rsa" ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                                             : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
  if (absl::Status made = Openssl(dir, absl::StrCat("genpkey ", key, " -out '", base, ".key'"), {});
      !made.ok()) {
    return made;
  }
  return Openssl(dir, absl::StrCat("pkey -in '", base, ".key' -pubout -out '", base, ".pub'"), {});
}

}  // namespace fxmesh::testing
