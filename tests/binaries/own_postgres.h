// A PostgreSQL server of a test's own, started with scripts/test-postgres.sh in a temp folder and
// stopped (its folder removed) by the destructor. For binary tests that need a server set up their
// own way (a password, extra roles) rather than the shared CTest fixture.
#pragma once

#include <string>

namespace fxmesh::testing {

class OwnPostgres {
 public:
  // With a non-empty `password`, the user postgres has it and every connection must give it
  // (scram-sha-256); otherwise the server trusts every local connection.
  explicit OwnPostgres(const std::string& password = "");
  ~OwnPostgres();
  OwnPostgres(const OwnPostgres&) = delete;
  OwnPostgres& operator=(const OwnPostgres&) = delete;

  // postgresql://USER@127.0.0.1:PORT/DATABASE, with no password in it.
  std::string Url(const std::string& user = "postgres",
                  const std::string& database = "postgres") const;
  // Runs `sql` as the user postgres in `database` with psql (stopping at the first error); fails
  // the test if psql does.
  void Execute(const std::string& sql, const std::string& database = "postgres") const;
  int port() const { return port_; }
  // The file holding the password (empty without one), and the test's temp folder.
  const std::string& password_file() const { return password_file_; }
  const std::string& temp() const { return temp_; }

 private:
  const std::string script_;
  std::string temp_, password_file_;
  int port_ = 0;
};

}  // namespace fxmesh::testing
