#include "common/db_flags.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/log.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, db_password_file, "",
          "file holding the PostgreSQL password (e.g. a mounted Kubernetes Secret); without it, "
          "libpq's PGPASSWORD or PGPASSFILE. Never put the password in --db on the command line");

ABSL_FLAG(std::string, migrate, "auto",
          "auto: apply missing schema migrations at start (needs DDL rights); check: run no DDL "
          "and refuse to start while a migration is missing (the service's user may lack DDL "
          "rights; a migration Job runs --migrate_only first)");
ABSL_FLAG(bool, migrate_only, false,
          "apply the missing schema migrations, report them and exit (0: the schema is current) "
          "instead of serving; run it as the schema owner");

namespace fxmesh {

absl::Status RefuseDatabasePasswordInArguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view argument = argv[i];
    // "--db=postgresql://..." or "--db" "postgresql://...": look at the url wherever it starts.
    const size_t url = std::min(argument.find("postgresql://"), argument.find("postgres://"));
    if (url == absl::string_view::npos || !DatabaseUrlHasPassword(argument.substr(url))) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "argument ", i,
        " holds a database url with a password; the command line is visible to every user of "
        "the machine (ps). Give the url without it, and the password in a file named by "
        "--db_password_file (or FXMESH_DB_PASSWORD_FILE), in PGPASSWORD or PGPASSFILE, or give "
        "the whole url in the FXMESH_DB environment variable"));
  }
  return absl::OkStatus();
}

absl::Status ApplyDatabasePasswordFlag(DatabaseOptions& options) {
  const std::string path = absl::GetFlag(FLAGS_db_password_file);
  if (path.empty()) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read --db_password_file ", path));
  std::stringstream text;
  text << in.rdbuf();
  const std::string contents = text.str();
  absl::string_view password = contents;
  if (!absl::ConsumeSuffix(&password, "\r\n")) absl::ConsumeSuffix(&password, "\n");
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--db_password_file ", path, " is empty"));
  }
  options.password = std::string(password);
  return absl::OkStatus();
}

absl::StatusOr<MigrateMode> MigrateModeFromFlags() {
  ASSIGN_OR_RETURN(MigrateMode mode, ParseMigrateMode(absl::GetFlag(FLAGS_migrate)));
  if (mode == MigrateMode::kCheck && absl::GetFlag(FLAGS_migrate_only)) {
    return absl::InvalidArgumentError(
        "--migrate=check runs no DDL and --migrate_only applies migrations: give one");
  }
  return mode;
}

bool MigrateOnlyRequested() { return absl::GetFlag(FLAGS_migrate_only); }

int RunMigrateOnly(const DatabaseOptions& options, const Schema& schema) {
  if (absl::Status flags = MigrateModeFromFlags().status(); !flags.ok()) {
    LogError("bad configuration").With("error", flags);
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Database>> database = Database::Open(options);
  absl::StatusOr<SchemaReport> report =
      database.ok() ? (*database)->PrepareSchema(schema, MigrateMode::kAuto) : database.status();
  if (!report.ok()) {
    LogError("migration failed")
        .With("component", schema.component)
        .With("database", RedactDatabaseUrl(options.url))
        .With("error", report.status());
    return 1;
  }
  LogInfo(report->applied.empty() ? "schema already current" : "schema migrated")
      .With("component", schema.component)
      .With("database", RedactDatabaseUrl(options.url))
      .With("applied", report->applied.empty() ? "none" : absl::StrJoin(report->applied, "; "))
      .With("version", report->version);
  return 0;
}

}  // namespace fxmesh
