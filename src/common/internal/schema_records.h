// What schema_migrations records, read the same way by Database::Migrate (db.cc) and by
// Database::CheckSchema (db_schema.cc). SOCI exceptions pass through to the caller, which owns the
// session and converts them.
#pragma once

#include <soci/soci.h>

#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "common/db.h"

namespace fxmesh::internal {

// "version name", as reports and error messages name a migration.
std::string MigrationLabel(int version, absl::string_view name);

// Version -> name of every migration recorded for `component`; empty when schema_migrations does
// not exist. Reads only, so a user without DDL rights can run it.
std::map<int, std::string> RecordedMigrations(soci::session& session, DbKind kind,
                                              const std::string& component);

// Fills report.unknown (recorded, but not in `schema`) and report.version from `recorded`.
void DescribeRecorded(const std::map<int, std::string>& recorded, const Schema& schema,
                      SchemaReport& report);

}  // namespace fxmesh::internal
