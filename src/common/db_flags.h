// The database flag every service with a database takes besides its own --db: where PostgreSQL's
// password comes from. It never comes from the command line, which `ps` shows to every user of the
// machine: it comes from a file (--db_password_file, or FXMESH_DB_PASSWORD_FILE; a Kubernetes
// Secret mounted as a file), from libpq's own PGPASSWORD or PGPASSFILE, or from a whole url in the
// FXMESH_DB environment variable.
#pragma once

#include <initializer_list>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/db.h"

namespace fxmesh {

// The flags' names, for ApplyEnvironmentToFlags.
inline constexpr std::initializer_list<absl::string_view> kDatabaseFlagNames = {"db_password_file"};

// INVALID_ARGUMENT when an argument holds a postgresql:// url with a password (in any flag, in
// either spelling of it), saying where the password goes instead. The message never quotes it.
absl::Status RefuseDatabasePasswordInArguments(int argc, char** argv);

// Reads the file named by --db_password_file, if any, into `options.password` (after
// absl::ParseCommandLine). One trailing line break is not part of the password.
absl::Status ApplyDatabasePasswordFlag(DatabaseOptions& options);

}  // namespace fxmesh
