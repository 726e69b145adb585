// A fresh, empty database for one test, on either backend, removed when the test ends.
//
// SQLite: a file in a new temp folder. PostgreSQL: a new database on the test server that the
// CTest fixture "postgres" started (scripts/test-postgres.sh); its url is read from the file named
// by FXMESH_TEST_PG_URL_FILE.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "common/db.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {

enum class Backend { kSqlite, kPostgres };

class TestDatabase {
 public:
  explicit TestDatabase(Backend backend);
  ~TestDatabase();

  const std::string& url() const { return url_; }
  // A new connection pool over the test database; `options.url` is set to this database's.
  std::unique_ptr<Database> Open(size_t pool_size = 0) const;
  std::unique_ptr<Database> Open(DatabaseOptions options) const;

 private:
  Backend backend_;
  std::string url_;
  std::string temp_dir_;       // SQLite.
  std::string admin_url_;      // PostgreSQL: the server's maintenance database.
  std::string database_name_;  // PostgreSQL.
};

// While `failing`, every UPDATE of `table` fails (a trigger raises), as it would while the
// database is away; false drops the trigger again.
void SetUpdatesFailing(Database& database, Backend backend, const std::string& table, bool failing);

// The one integer `query` reads, outside any transaction (REQUIREs that the read works).
int64_t QueryInt(Database& database, const std::string& query);

}  // namespace fxmesh::testing

// Registers the same test body twice, once per backend:
//   FXMESH_BACKEND_TEST("holds survive", "[db]") { TestDatabase db(backend); ... }
// The SQLite copy is tagged [sqlite], the PostgreSQL copy [pg] (which needs the CTest fixture).
#define FXMESH_BACKEND_TEST_IMPL(function, name, tags)                                            \
  static void function(::fxmesh::testing::Backend backend);                                       \
  TEST_CASE(name " / sqlite", tags "[sqlite]") { function(::fxmesh::testing::Backend::kSqlite); } \
  TEST_CASE(name " / postgres", tags "[pg]") { function(::fxmesh::testing::Backend::kPostgres); } \
  static void function([[maybe_unused]] ::fxmesh::testing::Backend backend)
#define FXMESH_BACKEND_TEST_CONCAT_INNER(a, b) a##b
#define FXMESH_BACKEND_TEST_CONCAT(a, b) FXMESH_BACKEND_TEST_CONCAT_INNER(a, b)
#define FXMESH_BACKEND_TEST(name, tags) \
  FXMESH_BACKEND_TEST_IMPL(FXMESH_BACKEND_TEST_CONCAT(BackendTest_, __LINE__), name, tags)
