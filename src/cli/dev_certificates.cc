#include "cli/dev_certificates.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/tls.h"

namespace fxmesh::cli {
namespace {

// Each certificate's file name and the SPIFFE ID it carries.
constexpr std::pair<const char*, const char*> kIdentities[] = {
    {"coordinator", "coordinator"},
    {"relay", "relay"},
    {"krw-ledger", "ledger/krw"},
    {"fx-ledger", "ledger/fx"},
    {"kafka", "kafka/dev"},
    {"gateway", "gateway/dev"},
    {"operator", "operator/dev"},
    {"core-banking", "core-banking/dev"},
    // The operators of the docs and of `fxmesh demo`: maker-checker needs two of them.
    {"operator-kim", "operator/kim"},
    {"operator-lee", "operator/lee"},
    {"operator-ops-kim", "operator/ops-kim"},
    {"operator-alice", "operator/alice"},
    {"operator-bob", "operator/bob"},
};

std::string Quoted(const std::string& path) { return absl::StrCat("'", path, "'"); }

absl::Status Openssl(const std::string& arguments) {
  const std::string command = absl::StrCat("openssl ", arguments, " >/dev/null 2>&1");
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        "making the dev certificates failed (is the openssl command installed?): ", command));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MakeDevCertificates(const std::string& dir) {
  if (dir.find('\'') != std::string::npos)
    return absl::InvalidArgumentError("the certificates' folder must not contain a quote (')");
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InternalError(absl::StrCat("cannot make ", dir, ": ", error.message()));
  const std::string ca = dir + "/ca";
  if (!std::filesystem::exists(ca + ".crt")) {
    if (absl::Status made = Openssl(absl::StrCat(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -keyout ",
            Quoted(ca + ".key"), " -out ", Quoted(ca + ".crt"), " -subj /CN=fxmesh-dev-ca"));
        !made.ok()) {
      return made;
    }
  }
  for (const auto& [name, path] : kIdentities) {
    const std::string base = absl::StrCat(dir, "/", name);
    if (std::filesystem::exists(base + ".crt")) continue;
    std::ofstream(base + ".ext") << "subjectAltName=URI:spiffe://" << kDefaultTrustDomain << "/"
                                 << path << ",DNS:localhost,IP:127.0.0.1\n";
    if (absl::Status made = Openssl(absl::StrCat(
            "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ",
            Quoted(base + ".key"), " -out ", Quoted(base + ".csr"), " -subj /CN=", name));
        !made.ok()) {
      return made;
    }
    if (absl::Status made = Openssl(absl::StrCat(
            "x509 -req -days 365 -in ", Quoted(base + ".csr"), " -CA ", Quoted(ca + ".crt"),
            " -CAkey ", Quoted(ca + ".key"), " -CAcreateserial -extfile ", Quoted(base + ".ext"),
            " -out ", Quoted(base + ".crt")));
        !made.ok()) {
      return made;
    }
    std::filesystem::remove(base + ".csr", error);
    std::filesystem::remove(base + ".ext", error);
  }
  // The local identity provider's key: the tool signs customer tokens with it as a gateway would,
  // and the coordinator verifies them with the public half.
  const std::string tokens = absl::StrCat(dir, "/", kDevCustomerTokenKey);
  if (!std::filesystem::exists(tokens + ".pub")) {
    if (absl::Status made =
            Openssl(absl::StrCat("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ",
                                 Quoted(tokens + ".key")));
        !made.ok()) {
      return made;
    }
    if (absl::Status made = Openssl(absl::StrCat("pkey -in ", Quoted(tokens + ".key"),
                                                 " -pubout -out ", Quoted(tokens + ".pub")));
        !made.ok()) {
      return made;
    }
  }
  return absl::OkStatus();
}

}  // namespace fxmesh::cli
