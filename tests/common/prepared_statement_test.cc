// Statements prepared once per pooled connection (common/prepared_statement.h), on both backends:
// reused with new bindings, unharmed by a failure inside a batch, never pinning an old snapshot,
// and dropped with the connection when it breaks and is reconnected.
#include "common/prepared_statement.h"

#include <catch2/catch.hpp>
#include <string>

#include "common/soci_util.h"
#include "tests/support/test_database.h"

namespace fxmesh {
namespace {

using testing::Backend;
using testing::TestDatabase;

constexpr char kInsert[] = "INSERT INTO prepared_items (id, name) VALUES (:id, :name)";
constexpr char kSelect[] = "SELECT name FROM prepared_items WHERE id = :id";

void CreateTable(Database& database) {
  REQUIRE(database
              .Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << "CREATE TABLE prepared_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)";
                return Completion::kCommit;
              })
              .ok());
}

absl::Status Insert(Database& database, int id, const std::string& name) {
  return database.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
    RunPrepared(sql, kInsert, soci::use(id), soci::use(name));
    return Completion::kCommit;
  });
}

// The name stored under `id`, or "" when there is none, read with `query`.
std::string NameOf(Database& database, int id, const char* query = kSelect) {
  std::string name;
  REQUIRE(database
              .Read([&](soci::session& sql) {
                if (!RunPrepared(sql, query, soci::use(id), soci::into(name)).got_data) {
                  name.clear();
                }
                return absl::OkStatus();
              })
              .ok());
  return name;
}

size_t StatementsOnTheConnection(Database& database) {
  size_t count = 0;
  REQUIRE(database
              .Read([&](soci::session& sql) {
                count = PreparedStatementCount(sql);
                return absl::OkStatus();
              })
              .ok());
  return count;
}

FXMESH_BACKEND_TEST("a prepared statement is reused with new bindings", "[db][prepared]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open(size_t{1});
  CreateTable(*database);
  for (int id = 1; id <= 20; ++id)
    REQUIRE(Insert(*database, id, "item " + std::to_string(id)).ok());
  for (int id = 1; id <= 20; ++id) CHECK(NameOf(*database, id) == "item " + std::to_string(id));
  CHECK(NameOf(*database, 99).empty());
  // BEGIN and COMMIT, the insert and the select: each prepared once on the one connection.
  CHECK(StatementsOnTheConnection(*database) == 4);

  // Rows affected come from this execution, not an earlier one.
  REQUIRE(
      database
          ->Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
            constexpr char kRename[] = "UPDATE prepared_items SET name = :n WHERE id <= :id";
            const std::string name = "renamed";
            int three = 3, none = 0;
            CHECK(RunPrepared(sql, kRename, soci::use(name), soci::use(three)).affected_rows == 3);
            CHECK(RunPrepared(sql, kRename, soci::use(name), soci::use(none)).affected_rows == 0);
            return Completion::kCommit;
          })
          .ok());
  CHECK(NameOf(*database, 3) == "renamed");
  CHECK(NameOf(*database, 4) == "item 4");
}

FXMESH_BACKEND_TEST("a statement that failed works again at its next use", "[db][prepared]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open(size_t{1});
  CreateTable(*database);
  REQUIRE(Insert(*database, 1, "first").ok());
  // The duplicate key fails the statement and rolls its transaction back.
  CHECK_FALSE(Insert(*database, 1, "again").ok());
  REQUIRE(Insert(*database, 2, "second").ok());
  CHECK(NameOf(*database, 1) == "first");
  CHECK(NameOf(*database, 2) == "second");
}

FXMESH_BACKEND_TEST("a read through a prepared statement leaves no snapshot open",
                    "[db][prepared]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> reader = test_database.Open(size_t{1});
  std::unique_ptr<Database> writer = test_database.Open(size_t{1});
  CreateTable(*writer);
  REQUIRE(Insert(*writer, 1, "before").ok());
  CHECK(NameOf(*reader, 1) == "before");
  // Another connection commits; the reader's next read, by another statement, sees it. (On SQLite,
  // a statement left stepped on its row keeps the connection's read open, and every statement of
  // that connection on its old snapshot.)
  REQUIRE(writer
              ->Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << "UPDATE prepared_items SET name = 'after' WHERE id = 1";
                return Completion::kCommit;
              })
              .ok());
  CHECK(NameOf(*reader, 1, "SELECT name FROM prepared_items WHERE id = :id ORDER BY id") ==
        "after");
}

TEST_CASE("statements are prepared again after the connection is re-established",
          "[db][prepared][pg]") {
  TestDatabase test_database(Backend::kPostgres);
  std::unique_ptr<Database> database = test_database.Open(size_t{1});
  std::unique_ptr<Database> admin = test_database.Open(size_t{1});
  CreateTable(*database);
  REQUIRE(Insert(*database, 1, "before").ok());
  const int64_t pid = testing::QueryInt(*database, "SELECT pg_backend_pid()");
  REQUIRE(admin
              ->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << "SELECT pg_terminate_backend(" << pid << ")";
                return Completion::kCommit;
              })
              .ok());
  // The first call finds the connection gone; a later one reconnects, and its statements are
  // prepared on the new connection rather than looked up on the dead one.
  absl::Status status;
  for (int attempt = 0; attempt < 3; ++attempt) {
    status = Insert(*database, 2, "after");
    if (status.ok()) break;
  }
  REQUIRE(status.ok());
  CHECK(NameOf(*database, 2) == "after");
}

}  // namespace
}  // namespace fxmesh
