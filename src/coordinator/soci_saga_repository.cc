// SagaRepository on SQLite or PostgreSQL via SOCI: quotes, saga creation (idempotency key, quote
// used once, daily limit), saga and step reads, fenced writes and leases.

#include <google/protobuf/util/time_util.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/prepared_statement.h"
#include "common/soci_util.h"
#include "common/status_macros.h"
#include "coordinator/internal/soci_saga_rows.h"
#include "coordinator/internal/soci_saga_store_parts.h"

namespace fxmesh::coordinator::internal {
namespace {

using google::protobuf::util::TimeUtil;

// The participants column: ",krw-ledger,fx-ledger,", so one LIKE finds a participant's sagas.
std::string ParticipantsColumn(const v1::Saga& saga) {
  std::vector<std::string> names;
  for (const v1::Branch& branch : saga.branches()) names.push_back(branch.participant());
  return absl::StrCat(",", absl::StrJoin(names, ","), ",");
}

class SociSagaRepository final : public SagaRepository {
 public:
  explicit SociSagaRepository(Database& database) : database_(database) {}

  absl::Status InsertQuote(const v1::Quote& quote) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long sell = quote.sell().amount_minor(), buy = quote.buy().amount_minor(),
                rate = quote.rate_micros(), created = Micros(quote.created_at()),
                expires = Micros(quote.expires_at());
      RunPrepared(
          sql,
          "INSERT INTO quotes (quote_id, sell_currency, sell_minor, buy_currency, buy_minor,"
          " rate_micros, created_at_us, expires_at_us, customer_id) VALUES (:q, :sc, :s, :bc,"
          " :b, :r, :c, :e, :cu)",
          soci::use(quote.quote_id()), soci::use(quote.sell().currency()), soci::use(sell),
          soci::use(quote.buy().currency()), soci::use(buy), soci::use(rate), soci::use(created),
          soci::use(expires), soci::use(quote.customer_id()));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) override {
    std::optional<v1::Quote> quote;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      std::string id(quote_id);
      soci::row row;
      if (RunPrepared(sql,
                      "SELECT quote_id, sell_currency, sell_minor, buy_currency, buy_minor,"
                      " rate_micros, created_at_us, expires_at_us, customer_id FROM quotes"
                      " WHERE quote_id = :q",
                      soci::use(id), soci::into(row))
              .got_data) {
        v1::Quote& found = quote.emplace();
        found.set_quote_id(RowString(row, 0));
        found.mutable_sell()->set_currency(RowString(row, 1));
        found.mutable_sell()->set_amount_minor(RowInt64(row, 2));
        found.mutable_buy()->set_currency(RowString(row, 3));
        found.mutable_buy()->set_amount_minor(RowInt64(row, 4));
        found.set_rate_micros(RowInt64(row, 5));
        *found.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 6));
        *found.mutable_expires_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 7));
        found.set_customer_id(RowString(row, 8));
      }
      return absl::OkStatus();
    }));
    return quote;
  }

  absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) override {
    CreateResult result;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      result = CreateResult();
      const v1::Saga& saga = request.saga;
      const std::string stored_key = StoredKey(saga.customer_id(), saga.idempotency_key());
      // The idempotency key first: a repeat returns the saga it made.
      {
        std::string digest;
        soci::indicator digest_indicator;
        if (RunPrepared(sql, "SELECT request_digest FROM sagas WHERE idempotency_key = :k",
                        soci::use(stored_key), soci::into(digest, digest_indicator))
                .got_data) {
          ASSIGN_OR_RETURN(std::optional<v1::Saga> existing,
                           ReadSaga(sql, "idempotency_key", stored_key));
          result.saga = *existing;
          result.outcome = digest == request.request_digest ? CreateResult::Outcome::kExisting
                                                            : CreateResult::Outcome::kKeyConflict;
          return Completion::kRollback;
        }
      }
      // The quote, used once: a second exchange on it is refused, unless it is the same key's
      // saga that a concurrent call committed first.
      {
        if (RunPrepared(sql,
                        "UPDATE quotes SET used_by_saga_id = :s"
                        " WHERE quote_id = :q AND used_by_saga_id = ''",
                        soci::use(saga.saga_id()), soci::use(saga.quote_id()))
                .affected_rows != 1) {
          std::string used_by;
          sql << "SELECT used_by_saga_id FROM quotes WHERE quote_id = :q",
              soci::use(saga.quote_id()), soci::into(used_by);
          std::optional<v1::Saga> user;
          if (!used_by.empty()) {
            ASSIGN_OR_RETURN(user, ReadSaga(sql, "saga_id", used_by));
          }
          result.outcome = CreateResult::Outcome::kQuoteUsed;
          if (user && user->customer_id() == saga.customer_id() &&
              user->idempotency_key() == saga.idempotency_key()) {
            result.saga = *user;
            result.outcome = CreateResult::Outcome::kExisting;
          }
          return Completion::kRollback;
        }
      }
      // The daily limit: make sure the row exists, then lock it, so concurrent exchanges of one
      // customer are counted one after the other.
      long long amount = request.limit_krw_minor;
      RunPrepared(sql,
                  "INSERT INTO daily_usage (customer_id, day, used_krw_minor) VALUES (:c, :d, 0)"
                  " ON CONFLICT DO NOTHING",
                  soci::use(saga.customer_id()), soci::use(request.limit_day));
      long long used = 0;
      RunPrepared(
          sql,
          database_.kind() == DbKind::kPostgres
              ? "SELECT used_krw_minor FROM daily_usage WHERE customer_id = :c AND day = :d"
                " FOR UPDATE"
              : "SELECT used_krw_minor FROM daily_usage WHERE customer_id = :c AND day = :d",
          soci::use(saga.customer_id()), soci::use(request.limit_day), soci::into(used));
      if (used + amount > request.daily_limit_krw_minor) {
        result.outcome = CreateResult::Outcome::kLimitExceeded;
        result.limit_used_krw_minor = used;
        return Completion::kRollback;
      }
      RunPrepared(sql,
                  "UPDATE daily_usage SET used_krw_minor = used_krw_minor + :a"
                  " WHERE customer_id = :c AND day = :d",
                  soci::use(amount), soci::use(saga.customer_id()), soci::use(request.limit_day));

      const long long now_us = absl::ToUnixMicros(now);
      int state = saga.state(), attempt = saga.attempt(), released = 0;
      long long sell = saga.sell().amount_minor(), buy = saga.buy().amount_minor(),
                rate = saga.rate_micros(), next = Micros(saga.next_attempt_at()),
                deadline = Micros(saga.try_deadline()),
                lease_until =
                    request.lease_owner.empty() ? 0 : absl::ToUnixMicros(request.lease_until);
      const std::string empty, participants = ParticipantsColumn(saga),
                               branches = BranchesToJson(saga);
      RunPrepared(
          sql,
          "INSERT INTO sagas (saga_id, idempotency_key, request_digest, customer_id, quote_id,"
          " source_account_id, target_account_id, sell_currency, sell_minor, buy_currency,"
          " buy_minor, rate_micros, state, failure_reason, failure_detail, attempt,"
          " next_attempt_at_us, try_deadline_us, created_at_us, updated_at_us, lease_owner,"
          " lease_until_us, participants, branches, limit_day, limit_krw_minor, limit_released)"
          " VALUES (:id, :k, :dg, :c, :q, :src, :dst, :sc, :s, :bc, :b, :r, :st, :fr, :fd, :a,"
          " :n, :dl, :ct, :ut, :lo, :lu, :p, :br, :ld, :la, :rl)",
          soci::use(saga.saga_id()), soci::use(stored_key), soci::use(request.request_digest),
          soci::use(saga.customer_id()), soci::use(saga.quote_id()),
          soci::use(saga.source_account_id()), soci::use(saga.target_account_id()),
          soci::use(saga.sell().currency()), soci::use(sell), soci::use(saga.buy().currency()),
          soci::use(buy), soci::use(rate), soci::use(state), soci::use(empty), soci::use(empty),
          soci::use(attempt), soci::use(next), soci::use(deadline), soci::use(now_us),
          soci::use(now_us), soci::use(request.lease_owner), soci::use(lease_until),
          soci::use(participants), soci::use(branches), soci::use(request.limit_day),
          soci::use(amount), soci::use(released));
      InsertStep(sql, saga,
                 StepRecord{v1::SAGA_STATE_UNSPECIFIED, v1::SAGA_STATE_CREATED,
                            absl::StrCat("created; ", amount, " KRW of the daily limit reserved")},
                 attempt, now_us);
      result.outcome = CreateResult::Outcome::kCreated;
      result.saga = saga;
      return Completion::kCommit;
    }));
    return result;
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) override {
    std::optional<v1::Saga> saga;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) -> absl::Status {
      ASSIGN_OR_RETURN(saga, ReadSaga(sql, "saga_id", saga_id));
      return absl::OkStatus();
    }));
    return saga;
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                       absl::string_view key) override {
    std::optional<v1::Saga> saga;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) -> absl::Status {
      ASSIGN_OR_RETURN(saga, ReadSaga(sql, "idempotency_key", StoredKey(customer, key)));
      return absl::OkStatus();
    }));
    return saga;
  }

  absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                  std::vector<int64_t>* sequences) override {
    std::vector<v1::Saga> sagas;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      // Unset filters compare against values that match everything, so one statement serves all.
      int state = filter.state, active = filter.active_only ? 1 : 0;
      long long after = filter.after_sequence;
      long long created_before =
          filter.created_before ? absl::ToUnixMicros(*filter.created_before) : INT64_MAX;
      const std::string participant =
          filter.participant.empty() ? "" : absl::StrCat("%,", filter.participant, ",%");
      int limit = filter.limit;
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT " << kSagaColumns
                       << " FROM sagas WHERE sequence > :after"
                          " AND (:st = 0 OR state = :st2)"
                          " AND (:cu = '' OR customer_id = :cu2)"
                          " AND (:pa = '' OR participants LIKE :pa2)"
                          " AND (:ac = 0 OR state IN (1, 2, 3, 5))"
                          " AND created_at_us <= :cb ORDER BY sequence LIMIT :lim",
           soci::use(after), soci::use(state), soci::use(state), soci::use(filter.customer_id),
           soci::use(filter.customer_id), soci::use(participant), soci::use(participant),
           soci::use(active), soci::use(created_before), soci::use(limit));
      for (const soci::row& row : rows) {
        int64_t sequence = 0;
        absl::StatusOr<v1::Saga> saga = SagaFromRow(row, &sequence);
        if (!saga.ok()) {
          // A listing shows the sagas it can read; the unreadable one fails its own drive (and
          // raises the alert) rather than hiding every other saga from the operators.
          LogError("a stored saga cannot be read").With("error", saga.status());
          continue;
        }
        sagas.push_back(std::move(*saga));
        if (sequences != nullptr) sequences->push_back(sequence);
      }
      return absl::OkStatus();
    }));
    return sagas;
  }

  absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) override {
    std::vector<v1::Step> steps;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      std::string id(saga_id);
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT step_id, at_us, from_state, to_state, attempt, detail"
                          " FROM saga_steps WHERE saga_id = :s ORDER BY step_id",
           soci::use(id));
      for (const soci::row& row : rows) {
        v1::Step& step = steps.emplace_back();
        step.set_step_id(RowInt64(row, 0));
        *step.mutable_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 1));
        step.set_from_state(static_cast<v1::SagaState>(RowInt64(row, 2)));
        step.set_to_state(static_cast<v1::SagaState>(RowInt64(row, 3)));
        step.set_attempt(static_cast<int32_t>(RowInt64(row, 4)));
        step.set_detail(RowString(row, 5));
      }
      return absl::OkStatus();
    }));
    return steps;
  }

  absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() override {
    std::map<v1::SagaState, int64_t> counts;
    RETURN_IF_ERROR(database_.Read([&](soci::session& sql) {
      soci::rowset<soci::row> rows = sql.prepare
                                     << "SELECT state, COUNT(*) FROM sagas GROUP BY state";
      for (const soci::row& row : rows)
        counts[static_cast<v1::SagaState>(RowInt64(row, 0))] = RowInt64(row, 1);
      return absl::OkStatus();
    }));
    return counts;
  }

  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      RETURN_IF_ERROR(WriteSaga(sql, saga, expected_state, owner, lease_until, step, now));
      for (const OutboxMessage& message : messages)
        InsertOutbox(sql, message, absl::ToUnixMicros(now));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner, absl::Time now,
                                                         absl::Time lease_until,
                                                         int limit) override {
    std::vector<std::string> claimed;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      claimed.clear();
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      const std::string owner_text(owner);
      const char* skip_locked =
          database_.kind() == DbKind::kPostgres ? " FOR UPDATE SKIP LOCKED" : "";
      soci::rowset<soci::row> rows =
          (sql.prepare
               << "SELECT saga_id FROM sagas WHERE state IN (1, 2, 3, 5)"
                  " AND next_attempt_at_us <= :n AND (lease_until_us < :n2 OR lease_owner = :o)"
                  " ORDER BY next_attempt_at_us LIMIT :lim"
               << skip_locked,
           soci::use(now_us), soci::use(now_us), soci::use(owner_text), soci::use(limit));
      for (const soci::row& row : rows) claimed.push_back(RowString(row, 0));
      for (const std::string& id : claimed) {
        sql << "UPDATE sagas SET lease_owner = :o, lease_until_us = :lu WHERE saga_id = :id",
            soci::use(owner_text), soci::use(lease), soci::use(id);
      }
      return claimed.empty() ? Completion::kRollback : Completion::kCommit;
    }));
    return claimed;
  }

  absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    bool claimed = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      long long now_us = absl::ToUnixMicros(now), lease = absl::ToUnixMicros(lease_until);
      const std::string id(saga_id), owner_text(owner);
      claimed = RunPrepared(sql,
                            "UPDATE sagas SET lease_owner = :o, lease_until_us = :lu"
                            " WHERE saga_id = :id AND (lease_until_us < :n OR lease_owner = :o2)",
                            soci::use(owner_text), soci::use(lease), soci::use(id),
                            soci::use(now_us), soci::use(owner_text))
                    .affected_rows == 1;
      return Completion::kCommit;
    }));
    return claimed;
  }

  absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) override {
    return database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string id(saga_id), owner_text(owner), empty;
      long long zero = 0;
      RunPrepared(sql,
                  "UPDATE sagas SET lease_owner = :e, lease_until_us = :z"
                  " WHERE saga_id = :id AND lease_owner = :o",
                  soci::use(empty), soci::use(zero), soci::use(id), soci::use(owner_text));
      return Completion::kCommit;
    });
  }

  absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) override {
    int released = 0;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string owner_text(owner), empty;
      long long zero = 0;
      soci::statement update =
          (sql.prepare << "UPDATE sagas SET lease_owner = :e, lease_until_us = :z"
                          " WHERE lease_owner = :o",
           soci::use(empty), soci::use(zero), soci::use(owner_text));
      update.execute(true);
      released = static_cast<int>(update.get_affected_rows());
      return Completion::kCommit;
    }));
    return released;
  }

  absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) override {
    bool scheduled = false;
    RETURN_IF_ERROR(database_.Transact([&](soci::session& sql) -> absl::StatusOr<Completion> {
      const std::string id(saga_id);
      long long at_us = absl::ToUnixMicros(at);
      soci::statement update = (sql.prepare << "UPDATE sagas SET next_attempt_at_us = :n,"
                                               " revision = revision + 1"
                                               " WHERE saga_id = :id AND state IN (1, 2, 3, 5)",
                                soci::use(at_us), soci::use(id));
      update.execute(true);
      scheduled = update.get_affected_rows() == 1;
      return Completion::kCommit;
    }));
    return scheduled;
  }

 private:
  Database& database_;
};

}  // namespace

std::unique_ptr<SagaRepository> NewSociSagaRepository(Database& database) {
  return std::make_unique<SociSagaRepository>(database);
}

}  // namespace fxmesh::coordinator::internal
