#include "tests/binaries/own_postgres.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tests/binaries/process.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// psql of the newest installed PostgreSQL: the server's own client, whatever is on PATH.
std::string PsqlPath() {
  std::string newest;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql")) {
    const std::string candidate = entry.path().string() + "/bin/psql";
    if (std::filesystem::exists(candidate) && candidate > newest) newest = candidate;
  }
  REQUIRE(!newest.empty());
  return newest;
}

}  // namespace

OwnPostgres::OwnPostgres(const std::string& password)
    : script_(FXMESH_SOURCE_DIR "/scripts/test-postgres.sh"), temp_(MakeTempDir("fxmesh-own-pg")) {
  // The server runs as the postgres user when the tests run as root: it must reach its folder.
  std::filesystem::permissions(temp_, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  std::vector<std::string> args = {script_, "start", temp_ + "/pg"};
  if (!password.empty()) {
    password_file_ = temp_ + "/password";
    std::ofstream(password_file_) << password << "\n";
    std::filesystem::permissions(
        password_file_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    args.push_back(password_file_);
  }
  const CommandResult started = RunCommand("/bin/bash", args);
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  REQUIRE(absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadAll(temp_ + "/pg/port")), &port_));
}

OwnPostgres::~OwnPostgres() {
  (void)RunCommand("/bin/bash", {script_, "stop", temp_ + "/pg"});
  std::error_code ignored;
  std::filesystem::remove_all(temp_, ignored);
}

std::string OwnPostgres::Url(const std::string& user, const std::string& database) const {
  return absl::StrCat("postgresql://", user, "@127.0.0.1:", port_, "/", database);
}

void OwnPostgres::Execute(const std::string& sql, const std::string& database) const {
  const CommandResult result =
      RunCommand(PsqlPath(),
                 {"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                  std::to_string(port_), "-U", "postgres", "-d", database, "-c", sql},
                 {"PGPASSFILE=/nonexistent/pgpass"});
  INFO(sql << "\n" << result.out << result.err);
  REQUIRE(result.exit_code == 0);
}

}  // namespace fxmesh::testing
