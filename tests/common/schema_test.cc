// Proves Database::Migrate and Database::CheckSchema on both backends: check mode on an empty
// database fails with FAILED_PRECONDITION naming every missing migration and creates nothing;
// Migrate applies exactly what is missing and reports it; check mode then passes; a schema that a
// newer binary migrated further is reported (its unknown migrations), not refused.
#include <catch2/catch.hpp>

#include "common/soci_util.h"
#include "tests/support/test_database.h"

namespace fxmesh {
namespace {

using testing::TestDatabase;

constexpr Migration kV1 = {1, "widgets", "CREATE TABLE widgets (id BIGINT PRIMARY KEY);\n"};
constexpr Migration kV2 = {2, "widget names", "ALTER TABLE widgets ADD COLUMN name TEXT;\n"};
constexpr Migration kV3 = {3, "gadgets", "CREATE TABLE gadgets (id BIGINT PRIMARY KEY);\n"};
constexpr Migration kOld[] = {kV1};
constexpr Migration kCurrent[] = {kV1, kV2};
constexpr Migration kNewer[] = {kV1, kV2, kV3};

int CountTables(Database& database, DbKind kind) {
  int tables = 0;
  REQUIRE(database
              .Read([&](soci::session& sql) {
                if (kind == DbKind::kPostgres) {
                  sql << "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                         "current_schema()",
                      soci::into(tables);
                } else {
                  sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
                      soci::into(tables);
                }
                return absl::OkStatus();
              })
              .ok());
  return tables;
}

FXMESH_BACKEND_TEST("check mode names missing migrations and migrate applies them", "[db]") {
  TestDatabase db(backend);
  std::unique_ptr<Database> database = db.Open();
  const Schema current = {"widgets", kCurrent};

  absl::StatusOr<SchemaReport> empty = database->PrepareSchema(current, MigrateMode::kCheck);
  REQUIRE(absl::IsFailedPrecondition(empty.status()));
  CHECK(
      std::string(empty.status().message()).find("missing migrations 1 widgets; 2 widget names") !=
      std::string::npos);
  CHECK(CountTables(*database, database->kind()) == 0);  // Check mode ran no DDL.

  absl::StatusOr<SchemaReport> old = database->Migrate({"widgets", kOld});
  REQUIRE(old.ok());
  CHECK(old->applied == std::vector<std::string>{"1 widgets"});
  absl::StatusOr<SchemaReport> behind = database->CheckSchema(current);
  REQUIRE(absl::IsFailedPrecondition(behind.status()));
  CHECK(std::string(behind.status().message()).find("missing migration 2 widget names") !=
        std::string::npos);

  absl::StatusOr<SchemaReport> migrated = database->PrepareSchema(current, MigrateMode::kAuto);
  REQUIRE(migrated.ok());
  CHECK(migrated->applied == std::vector<std::string>{"2 widget names"});
  CHECK(migrated->version == 2);
  absl::StatusOr<SchemaReport> checked = database->CheckSchema(current);
  REQUIRE(checked.ok());
  CHECK(checked->applied.empty());
  CHECK(checked->unknown.empty());
  CHECK(checked->version == 2);
  absl::StatusOr<SchemaReport> again = database->Migrate(current);
  REQUIRE(again.ok());
  CHECK(again->applied.empty());

  // A newer release's Job migrates further; this binary's check still passes and names the rest.
  REQUIRE(database->Migrate({"widgets", kNewer}).ok());
  absl::StatusOr<SchemaReport> ahead = database->CheckSchema(current);
  REQUIRE(ahead.ok());
  CHECK(ahead->unknown == std::vector<std::string>{"3 gadgets"});
  CHECK(ahead->version == 3);
  // Another component's schema is its own.
  CHECK(absl::IsFailedPrecondition(database->CheckSchema({"gizmos", kOld}).status()));
}

TEST_CASE("the migrate mode is auto or check, nothing else", "[unit]") {
  CHECK(*ParseMigrateMode("auto") == MigrateMode::kAuto);
  CHECK(*ParseMigrateMode("check") == MigrateMode::kCheck);
  CHECK(absl::IsInvalidArgument(ParseMigrateMode("yes").status()));
}

}  // namespace
}  // namespace fxmesh
