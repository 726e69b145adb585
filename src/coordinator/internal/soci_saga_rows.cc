// Saga rows and the cross-table writes of the SOCI store's parts (see soci_saga_rows.h).

#include "coordinator/internal/soci_saga_rows.h"

#include <google/protobuf/util/time_util.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/prepared_statement.h"
#include "common/proto_json.h"
#include "common/status_macros.h"
#include "coordinator/saga_event.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator::internal {
namespace {

using google::protobuf::util::TimeUtil;

absl::string_view CustomerKey(absl::string_view stored) {
  const size_t slash = stored.find('/');
  return slash == absl::string_view::npos ? stored : stored.substr(slash + 1);
}

// Gives the saga's reservation back to the customer's day, once.
void ReleaseLimit(soci::session& sql, const std::string& saga_id) {
  std::string customer, day;
  long long amount = 0;
  int released = 0;
  RunPrepared(sql,
              "SELECT customer_id, limit_day, limit_krw_minor, limit_released FROM sagas"
              " WHERE saga_id = :s",
              soci::use(saga_id), soci::into(customer), soci::into(day), soci::into(amount),
              soci::into(released));
  if (released != 0) return;
  RunPrepared(sql,
              "UPDATE daily_usage SET used_krw_minor = used_krw_minor - :a"
              " WHERE customer_id = :c AND day = :d",
              soci::use(amount), soci::use(customer), soci::use(day));
  RunPrepared(sql, "UPDATE sagas SET limit_released = 1 WHERE saga_id = :s", soci::use(saga_id));
}

}  // namespace

long long Micros(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::TimestampToMicroseconds(timestamp);
}

// Two customers may use the same key, and neither learns of the other's. The column holds
// "<customer>/<key>" ('/' is not a key character); a Saga carries the customer's key.
std::string StoredKey(absl::string_view customer, absl::string_view key) {
  return absl::StrCat(customer, "/", key);
}

std::string BranchesToJson(const v1::Saga& saga) {
  v1::Saga branches_only;
  *branches_only.mutable_branches() = saga.branches();
  return ProtoToJson(branches_only);
}

// The branches column is read forward-compatibly (fields a newer version added are ignored); a
// column that does not parse at all is DATA_LOSS, never a saga without branches, which would look
// settled and move on with no ledger call.
absl::StatusOr<v1::Saga> SagaFromRow(const soci::row& row, int64_t* sequence) {
  v1::Saga saga;
  saga.set_saga_id(RowString(row, 0));
  saga.set_idempotency_key(std::string(CustomerKey(RowString(row, 1))));
  saga.set_customer_id(RowString(row, 2));
  saga.set_quote_id(RowString(row, 3));
  saga.set_source_account_id(RowString(row, 4));
  saga.set_target_account_id(RowString(row, 5));
  saga.mutable_sell()->set_currency(RowString(row, 6));
  saga.mutable_sell()->set_amount_minor(RowInt64(row, 7));
  saga.mutable_buy()->set_currency(RowString(row, 8));
  saga.mutable_buy()->set_amount_minor(RowInt64(row, 9));
  saga.set_rate_micros(RowInt64(row, 10));
  saga.set_state(static_cast<v1::SagaState>(RowInt64(row, 11)));
  saga.set_failure_reason(RowString(row, 12));
  saga.set_failure_detail(RowString(row, 13));
  saga.set_attempt(static_cast<int32_t>(RowInt64(row, 14)));
  *saga.mutable_next_attempt_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 15));
  *saga.mutable_try_deadline() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 16));
  *saga.mutable_created_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 17));
  *saga.mutable_updated_at() = TimeUtil::MicrosecondsToTimestamp(RowInt64(row, 18));
  v1::Saga branches_only;
  if (absl::Status parsed = ParseProtoJson(RowString(row, 19), branches_only); !parsed.ok()) {
    return absl::DataLossError(absl::StrCat(
        "saga ", saga.saga_id(), ": its stored branches cannot be read (", parsed.message(), ")"));
  }
  if (branches_only.branches().empty()) {
    return absl::DataLossError(
        absl::StrCat("saga ", saga.saga_id(), ": its stored row has no branches"));
  }
  *saga.mutable_branches() = branches_only.branches();
  if (sequence != nullptr) *sequence = RowInt64(row, 20);
  saga.set_revision(RowInt64(row, 21));
  return saga;
}

absl::StatusOr<std::optional<v1::Saga>> ReadSaga(soci::session& sql, absl::string_view column,
                                                 absl::string_view value) {
  return CatchSociErrors("reading a saga", [&]() -> absl::StatusOr<std::optional<v1::Saga>> {
    const std::string key(value);
    soci::row row;
    if (!RunPrepared(sql,
                     absl::StrCat("SELECT ", kSagaColumns, " FROM sagas WHERE ", column, " = :v"),
                     soci::use(key), soci::into(row))
             .got_data) {
      return std::nullopt;
    }
    ASSIGN_OR_RETURN(v1::Saga saga, SagaFromRow(row, nullptr));
    return saga;
  });
}

void InsertStep(soci::session& sql, const v1::Saga& saga, const StepRecord& step, int attempt,
                long long at_us) {
  const std::string& saga_id = saga.saga_id();
  int from = step.from_state, to = step.to_state;
  RunPrepared(sql,
              "INSERT INTO saga_steps (saga_id, at_us, from_state, to_state, attempt, detail)"
              " VALUES (:s, :at, :f, :t, :a, :d)",
              soci::use(saga_id), soci::use(at_us), soci::use(from), soci::use(to),
              soci::use(attempt), soci::use(step.detail));
  if (step.from_state == step.to_state) return;
  InsertOutbox(sql, SagaEventMessage(saga, step, attempt, absl::FromUnixMicros(at_us)), at_us);
}

void InsertOutbox(soci::session& sql, const OutboxMessage& message, long long at_us) {
  long long unsent = 0;
  RunPrepared(sql,
              "INSERT INTO outbox (topic, message_key, payload, traceparent, created_at_us,"
              " sent_at_us) VALUES (:t, :k, :p, :tp, :c, :s)",
              soci::use(message.topic), soci::use(message.key), soci::use(message.payload),
              soci::use(message.traceparent), soci::use(at_us), soci::use(unsent));
}

void InsertAudit(soci::session& sql, const std::string& operator_name, const std::string& action,
                 const std::string& saga_id, const std::string& detail, long long at_us) {
  sql << "INSERT INTO audit_log (at_us, operator, action, saga_id, detail)"
         " VALUES (:at, :o, :a, :s, :d)",
      soci::use(at_us), soci::use(operator_name), soci::use(action), soci::use(saga_id),
      soci::use(detail);
}

// The saga update shared by every write, fenced twice: by the revision the writer read (a write
// in between makes this one ABORTED, so none is lost) and by the lease (the writer's, or none
// live: an expired lease holds nobody off). With `lease_until` after `now` the writer holds the
// lease on; otherwise the saga is left unleased. A driver that lost its lease, or a saga that
// moved on, gets ABORTED: retrying the same write cannot help, reading again and deciding again
// can. Also the daily-limit release on entering CANCELLING and the step-log row (and its event).
absl::Status WriteSaga(soci::session& sql, const v1::Saga& saga, v1::SagaState expected_state,
                       absl::string_view owner, absl::Time lease_until,
                       const std::optional<StepRecord>& step, absl::Time now) {
  int state = saga.state(), expected = expected_state, attempt = saga.attempt();
  const bool keeps_lease = lease_until > now;
  long long next = Micros(saga.next_attempt_at()),
            lease = keeps_lease ? absl::ToUnixMicros(lease_until) : 0,
            now_us = absl::ToUnixMicros(now), revision = saga.revision();
  const std::string writer(owner), holder = keeps_lease ? writer : "",
                                   branches = BranchesToJson(saga);
  const Executed update = RunPrepared(
      sql,
      "UPDATE sagas SET state = :st, failure_reason = :fr, failure_detail = :fd,"
      " attempt = :a, next_attempt_at_us = :n, branches = :br,"
      " lease_owner = :h, lease_until_us = :lu, updated_at_us = :ut,"
      " revision = revision + 1"
      " WHERE saga_id = :id AND state = :ex AND revision = :rev"
      " AND (lease_owner = :o OR lease_until_us < :now)",
      soci::use(state), soci::use(saga.failure_reason()), soci::use(saga.failure_detail()),
      soci::use(attempt), soci::use(next), soci::use(branches), soci::use(holder), soci::use(lease),
      soci::use(now_us), soci::use(saga.saga_id()), soci::use(expected), soci::use(revision),
      soci::use(writer), soci::use(now_us));
  if (update.affected_rows != 1) {
    return StaleReadError(absl::StrCat(
        "saga ", saga.saga_id(), " changed since revision ", revision, " was read, left state ",
        StateName(expected_state), ", or is leased to another driver; read it again"));
  }
  if (saga.state() == v1::SAGA_STATE_CANCELLING && expected_state != v1::SAGA_STATE_CANCELLING) {
    ReleaseLimit(sql, saga.saga_id());
  }
  if (step) InsertStep(sql, saga, *step, attempt, now_us);
  return absl::OkStatus();
}

}  // namespace fxmesh::coordinator::internal
