// The ledger's tables, and the SQL that reads and writes them, on SQLite or PostgreSQL via SOCI.
// Every SOCI exception is caught here and leaves as a status.

#include <array>

#include "absl/strings/str_cat.h"
#include "common/prepared_statement.h"
#include "common/soci_util.h"
#include "ledger/ledger_store.h"

namespace fxmesh::ledger {
namespace {

// Money columns carry CHECK constraints as a second line of defence behind the engine's rules:
// the database itself refuses a negative balance.
constexpr absl::string_view kSchemaV1 = R"sql(
CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,
  currency TEXT NOT NULL,
  kind INTEGER NOT NULL,
  owner TEXT NOT NULL,
  available_minor BIGINT NOT NULL CHECK (available_minor >= 0),
  held_minor BIGINT NOT NULL CHECK (held_minor >= 0),
  incoming_minor BIGINT NOT NULL CHECK (incoming_minor >= 0),
  frozen INTEGER NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL);
CREATE TABLE holds (
  hold_id ${ID_PK},
  saga_id TEXT NOT NULL,
  branch TEXT NOT NULL,
  debit_account_id TEXT NOT NULL REFERENCES accounts (account_id),
  credit_account_id TEXT NOT NULL REFERENCES accounts (account_id),
  currency TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  state INTEGER NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  UNIQUE (saga_id, branch));
CREATE INDEX holds_by_state_and_age ON holds (state, created_at_us);
CREATE TABLE barriers (
  saga_id TEXT NOT NULL,
  branch TEXT NOT NULL,
  op INTEGER NOT NULL,
  written_by INTEGER NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (saga_id, branch, op));
CREATE TABLE journal (
  entry_id ${ID_PK},
  kind INTEGER NOT NULL,
  debit_account_id TEXT NOT NULL,
  credit_account_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  saga_id TEXT NOT NULL,
  branch TEXT NOT NULL,
  request_id TEXT NOT NULL,
  posted_at_us BIGINT NOT NULL);
CREATE UNIQUE INDEX journal_one_posting_per_branch ON journal (saga_id, branch) WHERE kind = 1;
CREATE INDEX journal_by_debit ON journal (debit_account_id, entry_id);
CREATE INDEX journal_by_credit ON journal (credit_account_id, entry_id);
CREATE TABLE external_transfers (
  request_id TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  account_id TEXT NOT NULL REFERENCES accounts (account_id),
  currency TEXT NOT NULL,
  amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
  created_at_us BIGINT NOT NULL)
)sql";

constexpr std::array<Migration, 1> kMigrations = {{
    {1, "accounts, holds, barriers, journal, external transfers", kSchemaV1},
}};

constexpr absl::string_view kAccountColumns =
    "account_id, currency, kind, owner, available_minor, held_minor, incoming_minor, frozen, "
    "created_at_us, updated_at_us";
constexpr absl::string_view kHoldColumns =
    "hold_id, saga_id, branch, debit_account_id, credit_account_id, currency, amount_minor, state, "
    "created_at_us, updated_at_us";
constexpr absl::string_view kJournalColumns =
    "entry_id, kind, debit_account_id, credit_account_id, currency, amount_minor, saga_id, branch, "
    "request_id, posted_at_us";

AccountRow AccountFromRow(const soci::row& row) {
  AccountRow account;
  account.account_id = RowString(row, 0);
  account.currency = RowString(row, 1);
  account.kind = static_cast<AccountKind>(RowInt64(row, 2));
  account.owner = RowString(row, 3);
  account.available_minor = RowInt64(row, 4);
  account.held_minor = RowInt64(row, 5);
  account.incoming_minor = RowInt64(row, 6);
  account.frozen = RowInt64(row, 7) != 0;
  account.created_at_us = RowInt64(row, 8);
  account.updated_at_us = RowInt64(row, 9);
  return account;
}

HoldRow HoldFromRow(const soci::row& row) {
  HoldRow hold;
  hold.hold_id = RowInt64(row, 0);
  hold.branch = {RowString(row, 1), RowString(row, 2)};
  hold.debit_account_id = RowString(row, 3);
  hold.credit_account_id = RowString(row, 4);
  hold.currency = RowString(row, 5);
  hold.amount_minor = RowInt64(row, 6);
  hold.state = static_cast<HoldState>(RowInt64(row, 7));
  hold.created_at_us = RowInt64(row, 8);
  hold.updated_at_us = RowInt64(row, 9);
  return hold;
}

JournalRow JournalFromRow(const soci::row& row) {
  JournalRow entry;
  entry.entry_id = RowInt64(row, 0);
  entry.kind = static_cast<JournalKind>(RowInt64(row, 1));
  entry.debit_account_id = RowString(row, 2);
  entry.credit_account_id = RowString(row, 3);
  entry.currency = RowString(row, 4);
  entry.amount_minor = RowInt64(row, 5);
  entry.branch = {RowString(row, 6), RowString(row, 7)};
  entry.request_id = RowString(row, 8);
  entry.posted_at_us = RowInt64(row, 9);
  return entry;
}

// Reads at most one row of `query` (already bound) through `convert`.
template <typename Row, typename Convert>
std::optional<Row> FirstRow(soci::rowset<soci::row> rows, Convert convert) {
  for (const soci::row& row : rows) return convert(row);
  return std::nullopt;
}

class SociLedgerTransaction final : public LedgerTransaction {
 public:
  SociLedgerTransaction(soci::session& sql, const Database& database)
      : sql_(sql), for_update_(database.ForUpdate()) {}

  absl::StatusOr<bool> InsertBarrier(const BranchKey& branch, BarrierOp op, BarrierOp written_by,
                                     int64_t created_at_us) override {
    return CatchSociErrors("writing a barrier", [&]() -> absl::StatusOr<bool> {
      int op_value = static_cast<int>(op), writer_value = static_cast<int>(written_by);
      long long now_us = created_at_us;
      return RunPrepared(sql_,
                         "INSERT INTO barriers (saga_id, branch, op, written_by, created_at_us)"
                         " VALUES (:s, :b, :o, :w, :t) ON CONFLICT DO NOTHING",
                         soci::use(branch.saga_id), soci::use(branch.branch), soci::use(op_value),
                         soci::use(writer_value), soci::use(now_us))
                 .affected_rows == 1;
    });
  }

  absl::StatusOr<std::optional<BarrierOp>> BarrierWriter(const BranchKey& branch,
                                                         BarrierOp op) override {
    return CatchSociErrors("reading a barrier", [&]() -> absl::StatusOr<std::optional<BarrierOp>> {
      int op_value = static_cast<int>(op), writer_value = 0;
      if (!RunPrepared(sql_,
                       "SELECT written_by FROM barriers WHERE saga_id = :s AND branch = :b"
                       " AND op = :o",
                       soci::use(branch.saga_id), soci::use(branch.branch), soci::use(op_value),
                       soci::into(writer_value))
               .got_data) {
        return std::nullopt;
      }
      return static_cast<BarrierOp>(writer_value);
    });
  }

  absl::StatusOr<std::optional<HoldRow>> LockHold(const BranchKey& branch) override {
    return CatchSociErrors("reading a hold", [&]() -> absl::StatusOr<std::optional<HoldRow>> {
      static const std::string* const query = new std::string(
          absl::StrCat("SELECT ", kHoldColumns, " FROM holds WHERE saga_id = :s AND branch = :b"));
      soci::row row;
      if (!RunPrepared(sql_, absl::StrCat(*query, for_update_), soci::use(branch.saga_id),
                       soci::use(branch.branch), soci::into(row))
               .got_data) {
        return std::nullopt;
      }
      return HoldFromRow(row);
    });
  }

  absl::Status InsertHold(const HoldRow& hold) override {
    return CatchSociErrors("writing a hold", [&] {
      int state = static_cast<int>(hold.state);
      long long amount = hold.amount_minor, created = hold.created_at_us,
                updated = hold.updated_at_us;
      RunPrepared(
          sql_,
          "INSERT INTO holds (saga_id, branch, debit_account_id, credit_account_id, currency,"
          " amount_minor, state, created_at_us, updated_at_us)"
          " VALUES (:s, :b, :d, :c, :cur, :a, :st, :ct, :ut)",
          soci::use(hold.branch.saga_id), soci::use(hold.branch.branch),
          soci::use(hold.debit_account_id), soci::use(hold.credit_account_id),
          soci::use(hold.currency), soci::use(amount), soci::use(state), soci::use(created),
          soci::use(updated));
      return absl::OkStatus();
    });
  }

  absl::Status UpdateHoldState(const BranchKey& branch, HoldState state,
                               int64_t updated_at_us) override {
    return CatchSociErrors("updating a hold", [&] {
      int state_value = static_cast<int>(state);
      long long updated = updated_at_us;
      RunPrepared(sql_,
                  "UPDATE holds SET state = :st, updated_at_us = :ut"
                  " WHERE saga_id = :s AND branch = :b",
                  soci::use(state_value), soci::use(updated), soci::use(branch.saga_id),
                  soci::use(branch.branch));
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::optional<AccountRow>> LockAccount(absl::string_view account_id) override {
    return CatchSociErrors(
        "reading an account", [&]() -> absl::StatusOr<std::optional<AccountRow>> {
          static const std::string* const query = new std::string(
              absl::StrCat("SELECT ", kAccountColumns, " FROM accounts WHERE account_id = :id"));
          std::string id(account_id);
          soci::row row;
          if (!RunPrepared(sql_, absl::StrCat(*query, for_update_), soci::use(id), soci::into(row))
                   .got_data) {
            return std::nullopt;
          }
          return AccountFromRow(row);
        });
  }

  absl::Status InsertAccount(const AccountRow& account) override {
    return CatchSociErrors("writing an account", [&] {
      int kind = static_cast<int>(account.kind), frozen = account.frozen ? 1 : 0;
      long long available = account.available_minor, held = account.held_minor,
                incoming = account.incoming_minor, created = account.created_at_us,
                updated = account.updated_at_us;
      static const std::string* const query =
          new std::string(absl::StrCat("INSERT INTO accounts (", kAccountColumns,
                                       ") VALUES (:id, :cur, :k, :o, :a, :h, :i, :f, :ct, :ut)"));
      RunPrepared(sql_, *query, soci::use(account.account_id), soci::use(account.currency),
                  soci::use(kind), soci::use(account.owner), soci::use(available), soci::use(held),
                  soci::use(incoming), soci::use(frozen), soci::use(created), soci::use(updated));
      return absl::OkStatus();
    });
  }

  absl::Status UpdateAccount(const AccountRow& account) override {
    return CatchSociErrors("updating an account", [&] {
      int frozen = account.frozen ? 1 : 0;
      long long available = account.available_minor, held = account.held_minor,
                incoming = account.incoming_minor, updated = account.updated_at_us;
      RunPrepared(sql_,
                  "UPDATE accounts SET available_minor = :a, held_minor = :h,"
                  " incoming_minor = :i, frozen = :f, updated_at_us = :ut WHERE account_id = :id",
                  soci::use(available), soci::use(held), soci::use(incoming), soci::use(frozen),
                  soci::use(updated), soci::use(account.account_id));
      return absl::OkStatus();
    });
  }

  absl::Status AppendJournal(const JournalRow& entry) override {
    return CatchSociErrors("writing a journal entry", [&] {
      int kind = static_cast<int>(entry.kind);
      long long amount = entry.amount_minor, posted = entry.posted_at_us;
      RunPrepared(sql_,
                  "INSERT INTO journal (kind, debit_account_id, credit_account_id, currency,"
                  " amount_minor, saga_id, branch, request_id, posted_at_us)"
                  " VALUES (:k, :d, :c, :cur, :a, :s, :b, :r, :t)",
                  soci::use(kind), soci::use(entry.debit_account_id),
                  soci::use(entry.credit_account_id), soci::use(entry.currency), soci::use(amount),
                  soci::use(entry.branch.saga_id), soci::use(entry.branch.branch),
                  soci::use(entry.request_id), soci::use(posted));
      return absl::OkStatus();
    });
  }

  absl::StatusOr<std::optional<ExternalTransferRow>> FindExternalTransfer(
      absl::string_view request_id) override {
    return CatchSociErrors(
        "reading an external transfer",
        [&]() -> absl::StatusOr<std::optional<ExternalTransferRow>> {
          std::string id(request_id);
          soci::row row;
          if (!RunPrepared(sql_,
                           "SELECT request_id, kind, account_id, currency, amount_minor,"
                           " created_at_us FROM external_transfers WHERE request_id = :r",
                           soci::use(id), soci::into(row))
                   .got_data) {
            return std::nullopt;
          }
          return ExternalTransferRow{RowString(row, 0), static_cast<JournalKind>(RowInt64(row, 1)),
                                     RowString(row, 2), RowString(row, 3),
                                     RowInt64(row, 4),  RowInt64(row, 5)};
        });
  }

  absl::Status InsertExternalTransfer(const ExternalTransferRow& transfer) override {
    return CatchSociErrors("writing an external transfer", [&] {
      int kind = static_cast<int>(transfer.kind);
      long long amount = transfer.amount_minor, created = transfer.created_at_us;
      RunPrepared(sql_,
                  "INSERT INTO external_transfers (request_id, kind, account_id, currency,"
                  " amount_minor, created_at_us) VALUES (:r, :k, :a, :cur, :amt, :t)",
                  soci::use(transfer.request_id), soci::use(kind), soci::use(transfer.account_id),
                  soci::use(transfer.currency), soci::use(amount), soci::use(created));
      return absl::OkStatus();
    });
  }

 private:
  soci::session& sql_;
  const char* for_update_;
};

class SociLedgerStore final : public LedgerStore {
 public:
  explicit SociLedgerStore(Database& database) : database_(database) {}

  absl::Status Migrate() override { return database_.Migrate(LedgerSchema()).status(); }

  absl::Status Transact(
      absl::FunctionRef<absl::StatusOr<Completion>(LedgerTransaction&)> body) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      SociLedgerTransaction transaction(sql, database_);
      return body(transaction);
    });
  }

  absl::StatusOr<std::optional<AccountRow>> GetAccount(absl::string_view account_id) override {
    std::optional<AccountRow> account;
    absl::Status status = database_.Read([&](soci::session& sql) {
      std::string id(account_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kAccountColumns << " FROM accounts WHERE account_id = :id",
           soci::use(id));
      account = FirstRow<AccountRow>(std::move(rows), AccountFromRow);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return account;
  }

  absl::StatusOr<int64_t> CountHolds(HoldState state, int64_t created_at_or_before_us) override {
    long long count = 0;
    absl::Status status = database_.Read([&](soci::session& sql) {
      int state_value = static_cast<int>(state);
      long long created_max = created_at_or_before_us;
      sql << "SELECT COUNT(*) FROM holds WHERE state = :s AND created_at_us <= :c",
          soci::use(state_value), soci::use(created_max), soci::into(count);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return count;
  }

  absl::StatusOr<std::vector<HoldRow>> ListHolds(const HoldFilter& filter) override {
    std::vector<HoldRow> holds;
    absl::Status status = database_.Read([&](soci::session& sql) {
      // Unset filters compare against values that match everything, so one statement serves all.
      int state = filter.state ? static_cast<int>(*filter.state) : 0;
      long long created_max = filter.created_at_or_before_us.value_or(INT64_MAX);
      long long after = filter.after_hold_id;
      int limit = filter.limit;
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT " << kHoldColumns
               << " FROM holds WHERE hold_id > :after"
                  " AND (:st = 0 OR state = :st2)"
                  " AND (:acc = '' OR debit_account_id = :acc2 OR credit_account_id = :acc3)"
                  " AND (:saga = '' OR saga_id = :saga2)"
                  " AND created_at_us <= :cmax ORDER BY hold_id LIMIT :lim",
           soci::use(after), soci::use(state), soci::use(state), soci::use(filter.account_id),
           soci::use(filter.account_id), soci::use(filter.account_id), soci::use(filter.saga_id),
           soci::use(filter.saga_id), soci::use(created_max), soci::use(limit));
      for (const soci::row& row : rows) holds.push_back(HoldFromRow(row));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return holds;
  }

  absl::StatusOr<std::vector<JournalRow>> ListJournal(const JournalFilter& filter) override {
    std::vector<JournalRow> entries;
    absl::Status status = database_.Read([&](soci::session& sql) {
      long long after = filter.after_entry_id;
      int limit = filter.limit;
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT " << kJournalColumns
               << " FROM journal WHERE entry_id > :after"
                  " AND (:acc = '' OR debit_account_id = :acc2 OR credit_account_id = :acc3)"
                  " AND (:saga = '' OR saga_id = :saga2) ORDER BY entry_id LIMIT :lim",
           soci::use(after), soci::use(filter.account_id), soci::use(filter.account_id),
           soci::use(filter.account_id), soci::use(filter.saga_id), soci::use(filter.saga_id),
           soci::use(limit));
      for (const soci::row& row : rows) entries.push_back(JournalFromRow(row));
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return entries;
  }

  absl::StatusOr<std::vector<CurrencyTotalsRow>> GetCurrencyTotals() override {
    static_assert(static_cast<int>(JournalKind::kDeposit) == 2 &&
                      static_cast<int>(JournalKind::kWithdrawal) == 3 &&
                      static_cast<int>(HoldState::kHeld) == 1,
                  "the statement below spells these values out");
    std::vector<CurrencyTotalsRow> totals;
    // One statement, one snapshot: the three sources are read consistently with each other.
    absl::Status status = database_.Read([&](soci::session& sql) {
      soci::rowset<soci::row> rows = sql.prepare << R"sql(
        SELECT currency,
          CAST(SUM(available_minor) AS BIGINT), CAST(SUM(held_minor) AS BIGINT),
          CAST(SUM(incoming_minor) AS BIGINT), CAST(SUM(deposited) AS BIGINT),
          CAST(SUM(withdrawn) AS BIGINT), CAST(SUM(open_credit) AS BIGINT),
          CAST(SUM(open_holds) AS BIGINT), CAST(SUM(accounts) AS BIGINT)
        FROM (
          SELECT currency, available_minor, held_minor, incoming_minor, 0 AS deposited,
                 0 AS withdrawn, 0 AS open_credit, 0 AS open_holds, 1 AS accounts FROM accounts
          UNION ALL
          SELECT currency, 0, 0, 0, CASE WHEN kind = 2 THEN amount_minor ELSE 0 END,
                 CASE WHEN kind = 3 THEN amount_minor ELSE 0 END, 0, 0, 0 FROM external_transfers
          UNION ALL
          SELECT currency, 0, 0, 0, 0, 0, amount_minor, 1, 0 FROM holds WHERE state = 1
        ) AS parts
        GROUP BY currency ORDER BY currency)sql";
      for (const soci::row& row : rows) {
        totals.push_back(CurrencyTotalsRow{RowString(row, 0), RowInt64(row, 1), RowInt64(row, 2),
                                           RowInt64(row, 3), RowInt64(row, 4), RowInt64(row, 5),
                                           RowInt64(row, 6), RowInt64(row, 7), RowInt64(row, 8)});
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return totals;
  }

  absl::Status Ping() override { return database_.Ping(); }

 private:
  Database& database_;
};

}  // namespace

Schema LedgerSchema() { return {.component = "ledger", .migrations = kMigrations}; }

std::unique_ptr<LedgerStore> NewSociLedgerStore(Database& database) {
  return std::make_unique<SociLedgerStore>(database);
}

}  // namespace fxmesh::ledger
