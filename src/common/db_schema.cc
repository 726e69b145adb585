// Schema versions: reading what schema_migrations records, CheckSchema and PrepareSchema (the
// rest of Database, Migrate included, is in db.cc).
#include <soci/soci.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db.h"
#include "common/internal/schema_records.h"
#include "common/log.h"
#include "common/soci_util.h"
#include "common/status_macros.h"

namespace fxmesh {
namespace internal {

std::string MigrationLabel(int version, absl::string_view name) {
  return absl::StrCat(version, " ", name);
}

std::map<int, std::string> RecordedMigrations(soci::session& session, DbKind kind,
                                              const std::string& component) {
  int tables = 0;
  if (kind == DbKind::kPostgres) {
    session << "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = "
               "'schema_migrations' AND table_schema = current_schema()",
        soci::into(tables);
  } else {
    session << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
               "'schema_migrations'",
        soci::into(tables);
  }
  std::map<int, std::string> recorded;
  if (tables == 0) return recorded;
  soci::rowset<soci::row> rows =
      (session.prepare << "SELECT version, name FROM schema_migrations WHERE component = :c",
       soci::use(component));
  for (const soci::row& row : rows) {
    recorded[static_cast<int>(RowInt64(row, 0))] = RowString(row, 1);
  }
  return recorded;
}

void DescribeRecorded(const std::map<int, std::string>& recorded, const Schema& schema,
                      SchemaReport& report) {
  for (const auto& [version, name] : recorded) {
    const bool known = std::any_of(schema.migrations.begin(), schema.migrations.end(),
                                   [&](const Migration& m) { return m.version == version; });
    if (!known) report.unknown.push_back(MigrationLabel(version, name));
    report.version = std::max(report.version, version);
  }
}

}  // namespace internal

absl::StatusOr<MigrateMode> ParseMigrateMode(absl::string_view text) {
  if (text == "auto") return MigrateMode::kAuto;
  if (text == "check") return MigrateMode::kCheck;
  return absl::InvalidArgumentError(
      absl::StrCat("--migrate must be auto (apply missing migrations at start) or check (run no "
                   "DDL, refuse a schema that is behind); got '",
                   text, "'"));
}

absl::StatusOr<SchemaReport> Database::CheckSchema(const Schema& schema) {
  const std::string name(schema.component);
  std::map<int, std::string> recorded;
  RETURN_IF_ERROR(Read([&](soci::session& session) {
    recorded = internal::RecordedMigrations(session, kind_, name);
    return absl::OkStatus();
  }));
  SchemaReport report;
  internal::DescribeRecorded(recorded, schema, report);
  std::vector<std::string> missing;
  for (const Migration& migration : schema.migrations) {
    if (recorded.count(migration.version) == 0) {
      missing.push_back(internal::MigrationLabel(migration.version, migration.name));
    }
  }
  if (!missing.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the ", schema.component, " schema in ", description_, " is behind this binary: missing ",
        missing.size() == 1 ? "migration " : "migrations ", absl::StrJoin(missing, "; "),
        ". --migrate=check runs no DDL: apply them first with --migrate_only as the schema owner "
        "(the migration Job), or start with --migrate=auto"));
  }
  return report;
}

absl::StatusOr<SchemaReport> Database::PrepareSchema(const Schema& schema, MigrateMode mode) {
  absl::StatusOr<SchemaReport> report =
      mode == MigrateMode::kCheck ? CheckSchema(schema) : Migrate(schema);
  if (report.ok() && !report->unknown.empty()) {
    // A newer release's migration Job ran first; by the rolling-upgrade rule its migrations only
    // add, so this binary still works on the schema (and a roll back stays possible).
    LogWarning(
        "the schema is ahead of this binary: it records migrations this binary does not know")
        .With("component", schema.component)
        .With("unknown", absl::StrJoin(report->unknown, "; "));
  }
  return report;
}

}  // namespace fxmesh
