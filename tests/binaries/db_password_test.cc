// Proves a service takes PostgreSQL's password from a file or the environment, never from its
// command line (which `ps` shows to every user of the machine). Against a PostgreSQL server that
// demands a password (scram-sha-256), the KRW ledger binary serves with --db_password_file, with
// FXMESH_DB_PASSWORD_FILE, with libpq's PGPASSWORD, and with a whole url in FXMESH_DB. Without a
// password, or with a wrong one, it cannot start (so the server really asks); a --db url with a
// password on the command line is refused before anything starts. The password appears in no
// output, the errors included.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/binaries/own_postgres.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

// A space and a quote, so it must be quoted for libpq and %-escaped in a url.
constexpr char kPassword[] = "fx s3cret'pw";
constexpr char kPasswordInUrl[] = "fx%20s3cret'pw";
constexpr char kSecretPart[] = "s3cret";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// The url of `postgres` with the password in it (%-escaped).
std::string UrlWithPassword(const OwnPostgres& postgres) {
  return absl::StrCat("postgresql://postgres:", kPasswordInUrl, "@127.0.0.1:", postgres.port(),
                      "/postgres");
}

// No ~/.pgpass of the machine may supply a password behind the test's back.
const std::string kNoPassFile = "PGPASSFILE=/nonexistent/pgpass";

// Starts the KRW ledger with `args` and `environment`; it must serve, and stop cleanly.
void ServesWith(const std::vector<std::string>& args, const std::vector<std::string>& environment) {
  std::vector<std::string> all_args = {"--listen=127.0.0.1:0"};
  all_args.insert(all_args.end(), args.begin(), args.end());
  std::vector<std::string> all_environment = {kNoPassFile};
  all_environment.insert(all_environment.end(), environment.begin(), environment.end());
  ServiceProcess ledger(FXMESH_KRW_LEDGER_PATH, all_args, all_environment);
  CHECK(ledger.WaitForPort() > 0);
  CHECK(ledger.Terminate() == 0);
  INFO(ledger.Output());
  CHECK(ledger.Output().find(kSecretPart) == std::string::npos);
}

// Runs the KRW ledger with `args` and `environment`; it must exit at once with `exit_code`.
std::string FailsWith(const std::vector<std::string>& args,
                      const std::vector<std::string>& environment, int exit_code) {
  std::vector<std::string> all_args = {"--listen=127.0.0.1:0"};
  all_args.insert(all_args.end(), args.begin(), args.end());
  std::vector<std::string> all_environment = {kNoPassFile};
  all_environment.insert(all_environment.end(), environment.begin(), environment.end());
  const CommandResult result = RunCommand(FXMESH_KRW_LEDGER_PATH, all_args, all_environment, 30);
  INFO(result.out << result.err);
  CHECK(result.exit_code == exit_code);
  CHECK((result.out + result.err).find(kSecretPart) == std::string::npos);
  return result.err;
}

TEST_CASE("a service takes the database password from a file or the environment only",
          "[binary][integration][postgres]") {
  OwnPostgres postgres(kPassword);
  const std::string db = "--db=" + postgres.Url();

  // One server for every case: starting it takes seconds.
  {
    INFO("from --db_password_file and its FXMESH_DB_PASSWORD_FILE form");
    ServesWith({db, "--db_password_file=" + postgres.password_file()}, {});
    ServesWith({db}, {"FXMESH_DB_PASSWORD_FILE=" + postgres.password_file()});
  }
  {
    INFO("from libpq's PGPASSWORD, and from a whole url in FXMESH_DB");
    ServesWith({db}, {absl::StrCat("PGPASSWORD=", kPassword)});
    ServesWith({}, {"FXMESH_DB=" + UrlWithPassword(postgres)});
  }
  {
    INFO("without a password, or with a wrong one, the server refuses it");
    CHECK(FailsWith({db}, {}, 1).find("no password supplied") != std::string::npos);
    const std::string wrong_file = postgres.temp() + "/wrong";
    WriteFile(wrong_file, "not-the-s3cret\n");
    CHECK(FailsWith({db, "--db_password_file=" + wrong_file}, {}, 1)
              .find("password authentication failed") != std::string::npos);
    CHECK(FailsWith({db, "--db_password_file=" + postgres.temp() + "/missing"}, {}, 2)
              .find("cannot read --db_password_file") != std::string::npos);
  }
  {
    INFO("a password on the command line is refused, in either spelling of the flag");
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--db=" + UrlWithPassword(postgres)},
          std::vector<std::string>{"--db", UrlWithPassword(postgres)},
          std::vector<std::string>{"--db=" + postgres.Url() + "?password=s3cret"}}) {
      const std::string error = FailsWith(args, {}, 2);
      CHECK(error.find("--db_password_file") != std::string::npos);
      CHECK(error.find("ps") != std::string::npos);
    }
    // A password in both places is one too many.
    CHECK(FailsWith({"--db_password_file=" + postgres.password_file()},
                    {"FXMESH_DB=" + UrlWithPassword(postgres)}, 2)
              .find("give it once") != std::string::npos);
  }
}

}  // namespace
}  // namespace fxmesh::testing
