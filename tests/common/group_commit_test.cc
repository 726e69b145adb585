// Group commit in Database::Transact, on both backends: transactions that arrive while another
// commits share the next COMMIT; inside a batch each one's failure or rollback undoes its own
// writes alone; a conflict is retried on its own; a COMMIT that fails answers no caller OK; and a
// hot row updated from many threads in batches ends exactly where the committed bodies put it.
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/limits.h"
#include "common/soci_util.h"
#include "tests/support/test_database.h"

namespace fxmesh {
namespace {

using testing::Backend;
using testing::TestDatabase;

using Body = std::function<absl::StatusOr<Completion>(soci::session&)>;

void Execute(Database& database, const std::string& statement) {
  INFO(statement);
  REQUIRE(database
              .Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << statement;
                return Completion::kCommit;
              })
              .ok());
}

std::vector<int> Ids(Database& database, const std::string& table) {
  std::vector<int> ids;
  REQUIRE(database
              .Read([&](soci::session& sql) {
                soci::rowset<soci::row> rows = sql.prepare << "SELECT id FROM " << table
                                                           << " ORDER BY id";
                for (const soci::row& row : rows) ids.push_back(static_cast<int>(RowInt64(row, 0)));
                return absl::OkStatus();
              })
              .ok());
  return ids;
}

void WaitUntilWaiting(Database& database, size_t count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (database.transactions_waiting() < count) {
    REQUIRE(absl::Now() < deadline);
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// On a thread of its own, a transaction that runs `statement`, notifies `running`, and commits
// once `release` is notified; `running` has been notified when this returns.
std::thread HoldInTransaction(Database& database, std::string statement,
                              absl::Notification& running, absl::Notification& release) {
  std::thread holder([&database, statement = std::move(statement), &running, &release] {
    CHECK(database
              .Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
                sql << statement;
                running.Notify();
                release.WaitForNotification();
                return Completion::kCommit;
              })
              .ok());
  });
  running.WaitForNotification();
  return holder;
}

// Runs `bodies` on threads of their own while a first transaction holds the writer, so that they
// all queue; then lets the first one commit, which hands them to the next batch together. Returns
// their statuses, in order.
std::vector<absl::Status> RunQueuedBehindOne(Database& database, const std::vector<Body>& bodies) {
  absl::Notification running, release;
  std::thread first =
      HoldInTransaction(database, "INSERT INTO items (id) VALUES (0)", running, release);
  std::vector<absl::Status> statuses(bodies.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bodies.size(); ++i) {
    threads.emplace_back([&, i] { statuses[i] = database.Transact(bodies[i]); });
  }
  WaitUntilWaiting(database, bodies.size());
  release.Notify();
  first.join();
  for (std::thread& thread : threads) thread.join();
  return statuses;
}

Body Insert(int id, absl::StatusOr<Completion> outcome) {
  return [id, outcome](soci::session& sql) -> absl::StatusOr<Completion> {
    sql << "INSERT INTO items (id) VALUES (" << id << ")";
    return outcome;
  };
}

FXMESH_BACKEND_TEST("a batch commits its bodies together, and each failure stays its own",
                    "[db][group-commit]") {
  TestDatabase test_database(backend);
  // One batch at a time, so the queued bodies cannot start a second batch of their own.
  std::unique_ptr<Database> database = test_database.Open(DatabaseOptions{.batches_in_flight = 1});
  Execute(*database,
          "CREATE TABLE items (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL DEFAULT 0"
          " CHECK (amount >= 0))");
  const Database::CommitCounts before = database->commit_counts();

  std::atomic<int> conflict_runs = 0;
  const std::vector<absl::Status> statuses = RunQueuedBehindOne(
      *database,
      {Insert(1, Completion::kCommit), Insert(2, Completion::kRollback),
       Insert(3, absl::InvalidArgumentError("refused by its own rule")),
       [](soci::session& sql) -> absl::StatusOr<Completion> {
         sql << "INSERT INTO items (id) VALUES (4)";
         sql << "UPDATE items SET amount = -1 WHERE id = 4";  // The CHECK refuses: INTERNAL.
         return Completion::kCommit;
       },
       [&](soci::session& sql) -> absl::StatusOr<Completion> {
         ++conflict_runs;
         sql << "INSERT INTO items (id) VALUES (0)";  // The first body's key: a conflict.
         return Completion::kCommit;
       },
       Insert(5, Completion::kCommit)});

  CHECK(statuses[0].ok());
  CHECK(statuses[1].ok());
  CHECK(absl::IsInvalidArgument(statuses[2]));
  CHECK(absl::IsInternal(statuses[3]));
  // The conflict is run again on its own, in later batches, until it gives up.
  CHECK(absl::IsUnavailable(statuses[4]));
  CHECK(conflict_runs == limits::kTransactionAttemptsMax);
  CHECK(statuses[5].ok());
  CHECK(Ids(*database, "items") == std::vector<int>{0, 1, 5});

  // The first body's COMMIT, then one COMMIT for the two bodies of the batch that committed; the
  // conflict's later attempts each rolled back alone.
  const Database::CommitCounts after = database->commit_counts();
  CHECK(after.transactions - before.transactions == 3);
  CHECK(after.commits - before.commits == 2);
}

FXMESH_BACKEND_TEST("a COMMIT that fails answers no body of its batch OK", "[db][group-commit]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open(DatabaseOptions{.batches_in_flight = 1});
  Execute(*database, "CREATE TABLE items (id INTEGER PRIMARY KEY)");
  // A foreign key checked only at COMMIT: a child with no parent fails the whole batch there.
  Execute(*database,
          "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES"
          " items (id) DEFERRABLE INITIALLY DEFERRED)");
  const std::vector<absl::Status> statuses =
      RunQueuedBehindOne(*database, {Insert(1, Completion::kCommit),
                                     [](soci::session& sql) -> absl::StatusOr<Completion> {
                                       sql << "INSERT INTO children (id, parent) VALUES (1, 99)";
                                       return Completion::kCommit;
                                     },
                                     Insert(2, Completion::kRollback)});
  for (const absl::Status& status : statuses) {
    INFO(status.ToString());
    CHECK(absl::IsUnavailable(status));
  }
  CHECK(Ids(*database, "items") == std::vector<int>{0});
  CHECK(Ids(*database, "children").empty());
}

FXMESH_BACKEND_TEST("a hot row updated in batches from many threads ends where the commits put it",
                    "[db][group-commit]") {
  TestDatabase test_database(backend);
  std::unique_ptr<Database> database = test_database.Open();
  Execute(*database, "CREATE TABLE items (id INTEGER PRIMARY KEY)");
  Execute(*database, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
  Execute(*database, "INSERT INTO counter (id, n) VALUES (1, 0)");
  constexpr int kThreads = 12, kEach = 40;
  const Database::CommitCounts before = database->commit_counts();
  std::atomic<int> committed = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const int id = t * kEach + i + 1;
        // Every fifth asks for a rollback after writing: its row and its increment must vanish.
        const bool keep = id % 5 != 0;
        absl::Status status =
            database->Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
              sql << "UPDATE counter SET n = n + 1 WHERE id = 1";
              sql << "INSERT INTO items (id) VALUES (" << id << ")";
              return keep ? Completion::kCommit : Completion::kRollback;
            });
        REQUIRE(status.ok());
        if (keep) ++committed;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(testing::QueryInt(*database, "SELECT n FROM counter WHERE id = 1") == committed);
  CHECK(static_cast<int>(Ids(*database, "items").size()) == committed);
  const Database::CommitCounts after = database->commit_counts();
  CHECK(after.transactions - before.transactions == committed);
  // Twelve writers at once share COMMITs: fewer COMMITs than transactions.
  CHECK(after.commits - before.commits < after.transactions - before.transactions);
}

TEST_CASE("a later body of a batch does not hold the batch while it waits for a locked row",
          "[db][group-commit][pg]") {
  TestDatabase test_database(Backend::kPostgres);
  std::unique_ptr<Database> database = test_database.Open(DatabaseOptions{.batches_in_flight = 1});
  std::unique_ptr<Database> other = test_database.Open(size_t{1});
  Execute(*database, "CREATE TABLE items (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)");
  Execute(*database, "INSERT INTO items (id, amount) VALUES (100, 0)");

  // Another connection holds row 100 until told to commit.
  absl::Notification locked, unlock;
  std::thread holder = HoldInTransaction(
      *other, "UPDATE items SET amount = amount + 1 WHERE id = 100", locked, unlock);

  // A first transaction holds the writer while A, then B, queue: they share the next batch, A
  // first. B needs row 100.
  absl::Notification running, release;
  std::thread first = HoldInTransaction(*database, "INSERT INTO items (id, amount) VALUES (1, 0)",
                                        running, release);
  absl::Status a_status, b_status;
  absl::Notification a_done;
  std::thread a([&] {
    a_status = database->Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
      sql << "INSERT INTO items (id, amount) VALUES (7, 0)";
      return Completion::kCommit;
    });
    a_done.Notify();
  });
  WaitUntilWaiting(*database, 1);
  std::thread b([&] {
    b_status = database->Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
      try {
        sql << "UPDATE items SET amount = amount + 10 WHERE id = 100";
      } catch (const soci::soci_error& error) {
        return StatusFromSociError(error, "updating row 100");
      }
      return Completion::kCommit;
    });
  });
  WaitUntilWaiting(*database, 2);
  release.Notify();
  first.join();

  // A commits while row 100 is still held: B gave up its wait inside the batch after
  // kGroupCommitFollowerLockTimeoutMs instead of keeping A's commit (and A's locks) waiting behind
  // it for the session's whole lock_timeout (3 s).
  CHECK(a_done.WaitForNotificationWithTimeout(
      absl::Milliseconds(limits::kPostgresLockTimeoutMs * 3 / 4)));
  a.join();
  CHECK(a_status.ok());
  // Once the row is free, B runs again on its own and commits.
  unlock.Notify();
  holder.join();
  b.join();
  CHECK(b_status.ok());
  CHECK(Ids(*database, "items") == std::vector<int>{1, 7, 100});
  CHECK(testing::QueryInt(*database, "SELECT amount FROM items WHERE id = 100") == 11);
}

}  // namespace
}  // namespace fxmesh
