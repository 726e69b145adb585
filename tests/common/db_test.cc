// Proves how the database layer answers on both backends: a CHECK, foreign-key or trigger refusal
// is INTERNAL at once (the same statement would fail the same way again), while a unique-key
// conflict is retried; and, on a real PostgreSQL server behind a fault-injecting proxy, a
// transaction whose connection is blackholed while it holds a row lock costs other sessions
// seconds, not forever, because every session carries lock and idle-in-transaction timeouts.
#include <catch2/catch.hpp>
#include <regex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/limits.h"
#include "common/soci_util.h"
#include "tests/chaos/tcp_proxy.h"
#include "tests/support/test_database.h"

namespace fxmesh {
namespace {

using testing::Backend;
using testing::TestDatabase;

void Execute(Database& database, const std::string& statement) {
  absl::Status status = database.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
    sql << statement;
    return Completion::kCommit;
  });
  INFO(statement);
  REQUIRE(status.ok());
}

// Runs `statement` in a transaction; returns its status and how many times the body ran.
std::pair<absl::Status, int> Attempt(Database& database, const std::string& statement) {
  int runs = 0;
  absl::Status status = database.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
    ++runs;
    sql << statement;
    return Completion::kCommit;
  });
  return {status, runs};
}

FXMESH_BACKEND_TEST("integrity refusals are INTERNAL at once and unique conflicts are retried",
                    "[db]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open();
  const bool postgres = backend == Backend::kPostgres;
  Execute(*database, "CREATE TABLE parents (id INTEGER PRIMARY KEY)");
  Execute(*database,
          "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES"
          " parents (id), amount INTEGER NOT NULL CHECK (amount >= 0))");
  Execute(*database, "INSERT INTO parents (id) VALUES (1)");
  Execute(*database, "INSERT INTO children (id, parent, amount) VALUES (1, 1, 5)");
  if (postgres) {
    Execute(*database,
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE"
            " EXCEPTION 'never changed'; END $$");
    Execute(*database,
            "CREATE TRIGGER refuse BEFORE DELETE ON parents FOR EACH ROW EXECUTE FUNCTION"
            " refuse()");
  } else {
    Execute(*database,
            "CREATE TRIGGER refuse BEFORE DELETE ON parents BEGIN SELECT RAISE(ABORT, 'never"
            " changed'); END");
  }

  for (const std::string& statement :
       {std::string("UPDATE children SET amount = -1 WHERE id = 1"),
        std::string("INSERT INTO children (id, parent, amount) VALUES (2, 99, 1)"),
        std::string("DELETE FROM parents WHERE id = 1")}) {
    INFO(statement);
    auto [status, runs] = Attempt(*database, statement);
    CHECK(absl::IsInternal(status));
    CHECK(runs == 1);
  }
  // A unique key met again: a conflict, tried again, then UNAVAILABLE.
  auto [status, runs] = Attempt(*database, "INSERT INTO parents (id) VALUES (1)");
  CHECK(absl::IsUnavailable(status));
  CHECK(runs == limits::kTransactionAttemptsMax);
}

FXMESH_BACKEND_TEST("a write fenced by a stale read is ABORTED at once and rolled back", "[db]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open();
  Execute(*database, "CREATE TABLE rows_written (id INTEGER PRIMARY KEY)");
  int runs = 0;
  absl::Status status = database->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
    ++runs;
    sql << "INSERT INTO rows_written (id) VALUES (1)";
    return StaleReadError("the row moved on since it was read");
  });
  // Running the same body again would repeat the same stale write: the caller reads again.
  CHECK(absl::IsAborted(status));
  CHECK(IsStaleRead(status));
  CHECK(status.message() == "the row moved on since it was read");
  CHECK(runs == 1);
  CHECK_FALSE(IsStaleRead(absl::AbortedError("a conflict")));
  CHECK(testing::QueryInt(*database, "SELECT COUNT(*) FROM rows_written") == 0);
}

TEST_CASE("every PostgreSQL session carries the lock, statement and idle timeouts", "[db][pg]") {
  TestDatabase test_database(Backend::kPostgres);
  std::unique_ptr<Database> database = test_database.Open(2);
  std::string lock_timeout, statement_timeout, idle_timeout;
  REQUIRE(database
              ->Read([&](soci::session& sql) {
                sql << "SHOW lock_timeout", soci::into(lock_timeout);
                sql << "SHOW statement_timeout", soci::into(statement_timeout);
                sql << "SHOW idle_in_transaction_session_timeout", soci::into(idle_timeout);
                return absl::OkStatus();
              })
              .ok());
  CHECK(lock_timeout == absl::StrCat(limits::kPostgresLockTimeoutMs / 1000, "s"));
  CHECK(statement_timeout == absl::StrCat(limits::kPostgresStatementTimeoutMs / 1000, "s"));
  CHECK(idle_timeout == absl::StrCat(limits::kPostgresIdleInTransactionTimeoutMs / 1000, "s"));
}

TEST_CASE("a blackholed session holding a row lock costs seconds, not forever", "[db][pg]") {
  TestDatabase test_database(Backend::kPostgres);
  std::unique_ptr<Database> direct = test_database.Open(2);
  Execute(*direct, "CREATE TABLE positions (account TEXT PRIMARY KEY, balance BIGINT NOT NULL)");
  Execute(*direct, "INSERT INTO positions (account, balance) VALUES ('position:USD', 0)");

  // A second pool reaches the same database through the proxy.
  std::smatch port;
  REQUIRE(std::regex_search(test_database.url(), port, std::regex(":([0-9]+)/")));
  absl::StatusOr<std::unique_ptr<chaos::TcpProxy>> proxy =
      chaos::TcpProxy::Start(0, "127.0.0.1", std::stoi(port[1].str()));
  REQUIRE(proxy.ok());
  const std::string proxied_url = std::regex_replace(test_database.url(), std::regex(":[0-9]+/"),
                                                     absl::StrCat(":", (*proxy)->port(), "/"));
  absl::StatusOr<std::unique_ptr<Database>> proxied = Database::Open({proxied_url, 1});
  REQUIRE(proxied.ok());

  // The proxied session locks the hot row, then its connection is cut off mid-transaction.
  absl::Notification locked, cut_off;
  absl::Status stalled_result;
  std::thread stalled([&] {
    stalled_result = (*proxied)->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      sql << "UPDATE positions SET balance = balance + 1 WHERE account = 'position:USD'";
      locked.Notify();
      cut_off.WaitForNotification();
      sql << "UPDATE positions SET balance = balance + 1 WHERE account = 'position:USD'";
      return Completion::kCommit;
    });
  });
  locked.WaitForNotification();
  (*proxy)->SetBlackhole(true);
  cut_off.Notify();

  // Another session needs the same row. It waits no longer than a lock timeout per attempt, and
  // the server ends the stalled session, releasing the lock, within its idle timeout.
  const absl::Time started = absl::Now();
  absl::Notification updated;
  std::thread other([&] {
    while (absl::Now() - started < absl::Seconds(60)) {
      absl::Status status = direct->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
        sql << "UPDATE positions SET balance = balance + 100 WHERE account = 'position:USD'";
        return Completion::kCommit;
      });
      if (status.ok()) break;
      CHECK(absl::IsUnavailable(status));  // lock_timeout: try again later.
    }
    updated.Notify();
  });
  const bool in_time = updated.WaitForNotificationWithTimeout(absl::Seconds(20));
  const absl::Duration waited = absl::Now() - started;
  (*proxy)->SetBlackhole(false);  // Unblocks everything, whatever happened.
  other.join();
  stalled.join();
  CHECK(in_time);
  CHECK(waited < absl::Milliseconds(limits::kPostgresIdleInTransactionTimeoutMs +
                                    2 * limits::kPostgresLockTimeoutMs));
  // The stalled transaction was rolled back by the server: only the other session's update stays.
  CHECK(!stalled_result.ok());
  long long balance = -1;
  REQUIRE(direct
              ->Read([&](soci::session& sql) {
                sql << "SELECT balance FROM positions WHERE account = 'position:USD'",
                    soci::into(balance);
                return absl::OkStatus();
              })
              .ok());
  CHECK(balance == 100);
}

}  // namespace
}  // namespace fxmesh
