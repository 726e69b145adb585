// Proves migrations run as their own step: for the KRW ledger and the coordinator binaries, on
// SQLite and on a real PostgreSQL server, --migrate=check on an empty database refuses to start and
// names the missing migrations; --migrate_only creates the schema, reports it and exits 0 (and
// reports nothing to do the second time); --migrate=check then serves. On PostgreSQL a role with
// only DML grants serves in check mode, while the default auto mode fails for it (so the role
// really cannot change the schema).
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "tests/binaries/own_postgres.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

struct Binary {
  std::string path;
  std::vector<std::string> flags;  // What it needs to serve, besides --db.
  std::string first_migration;     // "version name" of its first migration.
};

std::vector<Binary> Binaries() {
  return {
      {FXMESH_KRW_LEDGER_PATH,
       {"--listen=127.0.0.1:0"},
       "1 accounts, holds, barriers, journal, external transfers"},
      {FXMESH_COORDINATOR_PATH,
       {"--listen=127.0.0.1:0", absl::StrCat("--rates=", FXMESH_SOURCE_DIR, "/config/rates.txt"),
        "--krw_ledger=127.0.0.1:9", "--fx_ledger=127.0.0.1:9"},
       "9 idempotency keys scoped to their customer"}};
}

std::vector<std::string> With(std::vector<std::string> flags, const std::string& db,
                              const std::string& extra) {
  flags.push_back("--db=" + db);
  flags.push_back(extra);
  return flags;
}

const std::vector<std::string> kNoPassFile = {"PGPASSFILE=/nonexistent/pgpass"};

// Runs `binary` on `db` with `flag` to completion: it must exit with `exit_code` and say each of
// `phrases` on stderr. Returns stderr.
std::string ExitsWith(const Binary& binary, const std::string& db, const std::string& flag,
                      int exit_code, std::initializer_list<std::string> phrases) {
  const CommandResult result =
      RunCommand(binary.path, With(binary.flags, db, flag), kNoPassFile, 30);
  INFO(binary.path << " " << flag << "\n" << result.out << result.err);
  CHECK(result.exit_code == exit_code);
  for (const std::string& phrase : phrases) CHECK(result.err.find(phrase) != std::string::npos);
  return result.err;
}

// Starts `binary` on `db` with `flag` and `environment`; it must serve, and stop cleanly.
void Serves(const Binary& binary, const std::string& db, const std::string& flag,
            std::vector<std::string> environment = {}) {
  environment.insert(environment.end(), kNoPassFile.begin(), kNoPassFile.end());
  ServiceProcess service(binary.path, With(binary.flags, db, flag), environment);
  CHECK(service.WaitForPort() > 0);
  CHECK(service.Terminate() == 0);
}

// The whole sequence on one empty database `db`.
void MigrateThenCheck(const Binary& binary, const std::string& db) {
  INFO(binary.path << " on " << db);
  INFO("check mode on an empty database refuses to start and names what is missing");
  ExitsWith(binary, db, "--migrate=check", 1,
            {"is behind this binary: missing migration", binary.first_migration, "--migrate_only"});
  INFO("--migrate_only applies every migration, reports them and exits without serving");
  const std::string migrated =
      ExitsWith(binary, db, "--migrate_only", 0, {"\"schema migrated\"", binary.first_migration});
  CHECK(migrated.find("\"serving\"") == std::string::npos);
  ExitsWith(binary, db, "--migrate-only", 0,
            {"\"schema already current\"", "\"applied\":\"none\""});
  INFO("check mode after the migration serves, set from the environment as a manifest does");
  Serves(binary, db, "--log_level=info", {"FXMESH_MIGRATE=check"});
}

TEST_CASE("migrate_only and check mode on SQLite", "[binary][integration]") {
  const std::string temp = MakeTempDir("fxmesh-migrate");
  for (const Binary& binary : Binaries()) {
    MigrateThenCheck(binary, absl::StrCat("sqlite:", temp, "/",
                                          binary.path.substr(binary.path.rfind('/') + 1), ".db"));
  }
  const CommandResult contradiction =
      RunCommand(FXMESH_KRW_LEDGER_PATH,
                 {"--db=sqlite:" + temp + "/x.db", "--migrate_only", "--migrate=check"}, {}, 30);
  CHECK(contradiction.exit_code == 2);
  CHECK(contradiction.err.find("give one") != std::string::npos);
  const CommandResult bad_mode = RunCommand(
      FXMESH_KRW_LEDGER_PATH, {"--db=sqlite:" + temp + "/x.db", "--migrate=later"}, {}, 30);
  CHECK(bad_mode.exit_code == 2);
  CHECK(bad_mode.err.find("--migrate must be auto") != std::string::npos);
}

TEST_CASE("migrate_only as the owner and check mode as a role with only DML grants on PostgreSQL",
          "[binary][integration][postgres]") {
  OwnPostgres postgres;
  for (const Binary& binary : Binaries()) {
    const std::string name =
        binary.path.find("coordinator") != std::string::npos ? "coordinator" : "krw_ledger";
    // As the prod overlay's databases: an owner who may change the schema, and the service's
    // login, whose role may only read and write rows of the owner's tables.
    postgres.Execute(
        absl::StrCat("CREATE ROLE ", name, "_owner LOGIN; CREATE ROLE ", name, "_app LOGIN"));
    // Alone: CREATE DATABASE cannot run in the transaction psql wraps several statements in.
    postgres.Execute(absl::StrCat("CREATE DATABASE ", name, " OWNER ", name, "_owner"));
    postgres.Execute(
        absl::StrCat("REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT ALL ON SCHEMA public TO ",
                     name, "_owner; GRANT USAGE ON SCHEMA public TO ", name,
                     "_app; ALTER DEFAULT PRIVILEGES FOR ROLE ", name,
                     "_owner IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ",
                     name, "_app; ALTER DEFAULT PRIVILEGES FOR ROLE ", name,
                     "_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ", name, "_app"),
        name);
    const std::string app_url = postgres.Url(name + "_app", name);
    INFO("the app role cannot migrate: auto mode fails on the schema it may not change");
    ExitsWith(binary, app_url, "--migrate_only", 1, {"permission denied"});
    INFO("check mode as the app role, before the owner migrated, names the missing migration");
    ExitsWith(binary, app_url, "--migrate=check", 1, {"missing migration"});
    // The owner migrates (and checks); then the app role serves in check mode.
    MigrateThenCheck(binary, postgres.Url(name + "_owner", name));
    Serves(binary, app_url, "--migrate=check");
  }
}

}  // namespace
}  // namespace fxmesh::testing
