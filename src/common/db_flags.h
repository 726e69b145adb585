// The database flags every service with a database takes besides its own --db: --migrate and
// --migrate_only (how the schema is brought up to date, below), and where PostgreSQL's
// password comes from. It never comes from the command line, which `ps` shows to every user of the
// machine: it comes from a file (--db_password_file, or FXMESH_DB_PASSWORD_FILE; a Kubernetes
// Secret mounted as a file), from libpq's own PGPASSWORD or PGPASSFILE, or from a whole url in the
// FXMESH_DB environment variable.
#pragma once

#include <initializer_list>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db.h"

namespace fxmesh {

// The flags' names, for ApplyEnvironmentToFlags.
inline constexpr std::initializer_list<absl::string_view> kDatabaseFlagNames = {
    "db_password_file", "migrate", "migrate_only"};

// INVALID_ARGUMENT when an argument holds a postgresql:// url with a password (in any flag, in
// either spelling of it), saying where the password goes instead. The message never quotes it.
absl::Status RefuseDatabasePasswordInArguments(int argc, char** argv);

// Reads the file named by --db_password_file, if any, into `options.password` (after
// absl::ParseCommandLine). One trailing line break is not part of the password.
absl::Status ApplyDatabasePasswordFlag(DatabaseOptions& options);

// --migrate: auto (the default) or check. INVALID_ARGUMENT for anything else, or for check
// together with --migrate_only.
absl::StatusOr<MigrateMode> MigrateModeFromFlags();

// Whether --migrate_only asks the binary to migrate its database and exit instead of serving.
bool MigrateOnlyRequested();

// --migrate_only: opens the database of `options`, applies the migrations of `schema` that it
// lacks, logs what it applied and the resulting version, and returns the process's exit code: 0
// when the schema is current, 1 when the database failed (the log line says why), 2 for flags that
// contradict it.
int RunMigrateOnly(const DatabaseOptions& options, const Schema& schema);

}  // namespace fxmesh
