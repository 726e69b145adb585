#include "tests/support/test_database.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/ids.h"

namespace fxmesh::testing {
namespace {

std::string ReadPostgresUrl() {
  const char* file = std::getenv("FXMESH_TEST_PG_URL_FILE");
  if (file == nullptr) {
    FAIL(
        "FXMESH_TEST_PG_URL_FILE is not set: run [pg] tests through ctest, which starts the "
        "test PostgreSQL server (scripts/test-postgres.sh)");
  }
  std::ifstream in(file);
  std::string url;
  std::getline(in, url);
  if (url.empty()) FAIL("no PostgreSQL url in " << file);
  return url;
}

}  // namespace

TestDatabase::TestDatabase(Backend backend) : backend_(backend) {
  if (backend == Backend::kSqlite) {
    temp_dir_ = MakeTempDir("fxmesh-test");
    url_ = absl::StrCat("sqlite:", temp_dir_, "/test.db");
    return;
  }
  admin_url_ = ReadPostgresUrl();
  database_name_ = absl::StrCat("fxmesh_test_", NewSagaId().substr(0, 16));
  soci::session admin(soci::postgresql, *PostgresConninfo(admin_url_));
  admin << "CREATE DATABASE " << database_name_;
  url_ = absl::StrCat(absl::StripSuffix(admin_url_, "postgres"), database_name_);
}

TestDatabase::~TestDatabase() {
  try {
    if (backend_ == Backend::kSqlite) {
      std::filesystem::remove_all(temp_dir_);
    } else {
      soci::session admin(soci::postgresql, *PostgresConninfo(admin_url_));
      admin << "DROP DATABASE IF EXISTS " << database_name_ << " WITH (FORCE)";
    }
  } catch (const std::exception& error) {
    WARN("could not remove the test database: " << error.what());
  }
}

std::unique_ptr<Database> TestDatabase::Open(size_t pool_size) const {
  return Open(DatabaseOptions{.pool_size = pool_size});
}

std::unique_ptr<Database> TestDatabase::Open(DatabaseOptions options) const {
  options.url = url_;
  absl::StatusOr<std::unique_ptr<Database>> database = Database::Open(options);
  if (!database.ok()) FAIL("cannot open " << url_ << ": " << database.status().ToString());
  return std::move(*database);
}

void SetUpdatesFailing(Database& database, Backend backend, const std::string& table,
                       bool failing) {
  const bool postgres = backend == Backend::kPostgres;
  const std::string trigger = absl::StrCat(table, "_updates_fail");
  REQUIRE(database
              .Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                if (failing && postgres) {
                  sql << "CREATE FUNCTION " << trigger
                      << "() RETURNS trigger LANGUAGE plpgsql AS $$"
                         " BEGIN RAISE EXCEPTION 'updates fail'; END $$";
                  sql << "CREATE TRIGGER " << trigger << " BEFORE UPDATE ON " << table
                      << " FOR EACH ROW EXECUTE FUNCTION " << trigger << "()";
                } else if (failing) {
                  sql << "CREATE TRIGGER " << trigger << " BEFORE UPDATE ON " << table
                      << " BEGIN SELECT RAISE(ABORT, 'updates fail'); END";
                } else if (postgres) {
                  sql << "DROP TRIGGER " << trigger << " ON " << table;
                  sql << "DROP FUNCTION " << trigger << "()";
                } else {
                  sql << "DROP TRIGGER " << trigger;
                }
                return Completion::kCommit;
              })
              .ok());
}

int64_t QueryInt(Database& database, const std::string& query) {
  long long value = 0;
  const absl::Status read = database.Read([&](soci::session& sql) {
    sql << query, soci::into(value);
    return absl::OkStatus();
  });
  if (!read.ok()) FAIL(query << ": " << read.ToString());
  return value;
}

}  // namespace fxmesh::testing
