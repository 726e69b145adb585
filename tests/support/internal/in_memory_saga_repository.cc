// SagaRepository in memory: the SOCI store's SagaRepository (soci_saga_repository.cc), statement
// by statement, over InMemoryTables.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/limits.h"
#include "tests/support/internal/in_memory_tables.h"

namespace fxmesh::testing::internal {
namespace {

using coordinator::CreateResult;
using coordinator::NewSaga;
using coordinator::SagaFilter;

// The columns a sagas row keeps, as CreateSaga writes them.
v1::Saga StoredSaga(const v1::Saga& saga, absl::string_view stored_key, absl::Time now) {
  v1::Saga stored;
  stored.set_saga_id(saga.saga_id());
  // The key reads back as what follows the first '/' of "<customer>/<key>".
  stored.set_idempotency_key(std::string(stored_key.substr(stored_key.find('/') + 1)));
  stored.set_customer_id(saga.customer_id());
  stored.set_quote_id(saga.quote_id());
  stored.set_source_account_id(saga.source_account_id());
  stored.set_target_account_id(saga.target_account_id());
  stored.mutable_sell()->set_currency(saga.sell().currency());
  stored.mutable_sell()->set_amount_minor(saga.sell().amount_minor());
  stored.mutable_buy()->set_currency(saga.buy().currency());
  stored.mutable_buy()->set_amount_minor(saga.buy().amount_minor());
  stored.set_rate_micros(saga.rate_micros());
  stored.set_state(saga.state());
  stored.set_attempt(saga.attempt());
  *stored.mutable_next_attempt_at() = TimestampFromMicros(Micros(saga.next_attempt_at()));
  *stored.mutable_try_deadline() = TimestampFromMicros(Micros(saga.try_deadline()));
  *stored.mutable_created_at() = TimestampFromMicros(absl::ToUnixMicros(now));
  *stored.mutable_updated_at() = stored.created_at();
  *stored.mutable_branches() = saga.branches();
  return stored;
}

class InMemorySagaRepository final : public coordinator::SagaRepository {
 public:
  explicit InMemorySagaRepository(InMemoryTables& tables) : tables_(tables) {}

  absl::Status InsertQuote(const v1::Quote& quote) override {
    absl::MutexLock lock(&tables_.mu);
    if (tables_.quotes.contains(quote.quote_id())) {
      // The primary key refuses it; the SOCI store retries that conflict until it gives up.
      return absl::UnavailableError(absl::StrCat("gave up after ", limits::kTransactionAttemptsMax,
                                                 " conflicting attempts: quote ", quote.quote_id(),
                                                 " exists"));
    }
    v1::Quote& stored = tables_.quotes[quote.quote_id()].quote;
    stored.set_quote_id(quote.quote_id());
    *stored.mutable_sell() = quote.sell();
    *stored.mutable_buy() = quote.buy();
    stored.set_rate_micros(quote.rate_micros());
    *stored.mutable_created_at() = TimestampFromMicros(Micros(quote.created_at()));
    *stored.mutable_expires_at() = TimestampFromMicros(Micros(quote.expires_at()));
    stored.set_customer_id(quote.customer_id());
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<v1::Quote>> GetQuote(absl::string_view quote_id) override {
    absl::MutexLock lock(&tables_.mu);
    auto found = tables_.quotes.find(std::string(quote_id));
    if (found == tables_.quotes.end()) return std::nullopt;
    return found->second.quote;
  }

  absl::StatusOr<CreateResult> CreateSaga(const NewSaga& request, absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    CreateResult result;
    const v1::Saga& saga = request.saga;
    const std::string stored_key = absl::StrCat(saga.customer_id(), "/", saga.idempotency_key());
    // The idempotency key first: a repeat returns the saga it made.
    if (auto existing = tables_.saga_keys.find(stored_key); existing != tables_.saga_keys.end()) {
      const SagaRow& row = tables_.sagas.at(existing->second);
      absl::StatusOr<v1::Saga> read = InMemoryTables::ReadSaga(row);
      if (!read.ok()) return read.status();
      result.saga = *read;
      result.outcome = row.request_digest == request.request_digest
                           ? CreateResult::Outcome::kExisting
                           : CreateResult::Outcome::kKeyConflict;
      return result;
    }
    // The quote, used once, unless by the same key's saga.
    auto quote = tables_.quotes.find(saga.quote_id());
    if (quote == tables_.quotes.end() || !quote->second.used_by_saga_id.empty()) {
      result.outcome = CreateResult::Outcome::kQuoteUsed;
      const SagaRow* user =
          quote == tables_.quotes.end() ? nullptr : tables_.FindSaga(quote->second.used_by_saga_id);
      if (user != nullptr) {
        absl::StatusOr<v1::Saga> read = InMemoryTables::ReadSaga(*user);
        if (!read.ok()) return read.status();
        if (read->customer_id() == saga.customer_id() &&
            read->idempotency_key() == saga.idempotency_key()) {
          result.saga = *read;
          result.outcome = CreateResult::Outcome::kExisting;
        }
      }
      return result;
    }
    // The daily limit.
    const std::pair<std::string, std::string> day = {saga.customer_id(), request.limit_day};
    const int64_t used = tables_.daily_usage.contains(day) ? tables_.daily_usage.at(day) : 0;
    if (used + request.limit_krw_minor > request.daily_limit_krw_minor) {
      result.outcome = CreateResult::Outcome::kLimitExceeded;
      result.limit_used_krw_minor = used;
      return result;
    }
    quote->second.used_by_saga_id = saga.saga_id();
    tables_.daily_usage[day] = used + request.limit_krw_minor;
    SagaRow row;
    row.sequence = ++tables_.last_sequence;
    row.saga = StoredSaga(saga, stored_key, now);
    row.stored_key = stored_key;
    row.request_digest = request.request_digest;
    for (const v1::Branch& branch : saga.branches())
      row.participants.push_back(branch.participant());
    row.limit_day = request.limit_day;
    row.limit_krw_minor = request.limit_krw_minor;
    if (!request.lease_owner.empty()) {
      row.lease_owner = request.lease_owner;
      row.lease_until_us = absl::ToUnixMicros(request.lease_until);
    }
    tables_.saga_sequences[saga.saga_id()] = row.sequence;
    tables_.saga_keys[stored_key] = row.sequence;
    tables_.sagas[row.sequence] = std::move(row);
    tables_.InsertStep(saga,
                       StepRecord{v1::SAGA_STATE_UNSPECIFIED, v1::SAGA_STATE_CREATED,
                                  absl::StrCat("created; ", request.limit_krw_minor,
                                               " KRW of the daily limit reserved")},
                       saga.attempt(), now);
    result.outcome = CreateResult::Outcome::kCreated;
    result.saga = saga;
    return result;
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSaga(absl::string_view saga_id) override {
    absl::MutexLock lock(&tables_.mu);
    const SagaRow* row = tables_.FindSaga(saga_id);
    if (row == nullptr) return std::nullopt;
    return InMemoryTables::ReadSaga(*row);
  }

  absl::StatusOr<std::optional<v1::Saga>> GetSagaByKey(absl::string_view customer,
                                                       absl::string_view key) override {
    absl::MutexLock lock(&tables_.mu);
    auto sequence = tables_.saga_keys.find(absl::StrCat(customer, "/", key));
    if (sequence == tables_.saga_keys.end()) return std::nullopt;
    return InMemoryTables::ReadSaga(tables_.sagas.at(sequence->second));
  }

  absl::StatusOr<std::vector<v1::Saga>> ListSagas(const SagaFilter& filter,
                                                  std::vector<int64_t>* sequences) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::Saga> sagas;
    const int64_t created_before =
        filter.created_before ? absl::ToUnixMicros(*filter.created_before) : INT64_MAX;
    size_t matched = 0;
    for (auto row = tables_.sagas.upper_bound(filter.after_sequence);
         row != tables_.sagas.end() && !Full(matched, filter.limit); ++row) {
      const v1::Saga& saga = row->second.saga;
      const std::vector<std::string>& participants = row->second.participants;
      if ((filter.state != v1::SAGA_STATE_UNSPECIFIED && saga.state() != filter.state) ||
          (!filter.customer_id.empty() && saga.customer_id() != filter.customer_id) ||
          (!filter.participant.empty() && std::find(participants.begin(), participants.end(),
                                                    filter.participant) == participants.end()) ||
          (filter.active_only && !IsActive(saga.state())) ||
          Micros(saga.created_at()) > created_before) {
        continue;
      }
      // Like the SOCI store, a listing leaves out what it cannot read but still counts it against
      // the page's limit (the SQL LIMIT chose it).
      ++matched;
      absl::StatusOr<v1::Saga> read = InMemoryTables::ReadSaga(row->second);
      if (!read.ok()) continue;
      sagas.push_back(*read);
      if (sequences != nullptr) sequences->push_back(row->first);
    }
    return sagas;
  }

  absl::StatusOr<std::vector<v1::Step>> ListSteps(absl::string_view saga_id) override {
    absl::MutexLock lock(&tables_.mu);
    std::vector<v1::Step> steps;
    for (const auto& [id, step] : tables_.steps) {
      if (step.first == saga_id) steps.push_back(step.second);
    }
    return steps;
  }

  absl::StatusOr<std::map<v1::SagaState, int64_t>> CountSagasByState() override {
    absl::MutexLock lock(&tables_.mu);
    std::map<v1::SagaState, int64_t> counts;
    for (const auto& [sequence, row] : tables_.sagas) ++counts[row.saga.state()];
    return counts;
  }

  absl::Status SaveSaga(const v1::Saga& saga, v1::SagaState expected_state, absl::string_view owner,
                        absl::Time lease_until, const std::optional<StepRecord>& step,
                        const std::vector<OutboxMessage>& messages, absl::Time now) override {
    absl::MutexLock lock(&tables_.mu);
    if (absl::Status fence = tables_.CheckSagaWrite(saga, expected_state, owner, now);
        !fence.ok()) {
      return fence;
    }
    tables_.ApplySagaWrite(saga, expected_state, owner, lease_until, step, now);
    for (const OutboxMessage& message : messages) tables_.InsertOutbox(message);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ClaimDueSagas(absl::string_view owner, absl::Time now,
                                                         absl::Time lease_until,
                                                         int limit) override {
    absl::MutexLock lock(&tables_.mu);
    const int64_t now_us = absl::ToUnixMicros(now);
    // Oldest due first; among equally due sagas, the older saga first.
    std::vector<std::pair<int64_t, SagaRow*>> due;
    for (auto& [sequence, row] : tables_.sagas) {
      if (IsActive(row.saga.state()) && Micros(row.saga.next_attempt_at()) <= now_us &&
          (row.lease_until_us < now_us || row.lease_owner == owner)) {
        due.emplace_back(Micros(row.saga.next_attempt_at()), &row);
      }
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> claimed;
    for (const auto& [next_attempt_us, row] : due) {
      if (Full(claimed.size(), limit)) break;
      row->lease_owner = std::string(owner);
      row->lease_until_us = absl::ToUnixMicros(lease_until);
      claimed.push_back(row->saga.saga_id());
    }
    return claimed;
  }

  absl::StatusOr<bool> ClaimSaga(absl::string_view saga_id, absl::string_view owner, absl::Time now,
                                 absl::Time lease_until) override {
    absl::MutexLock lock(&tables_.mu);
    SagaRow* row = tables_.FindSaga(saga_id);
    if (row == nullptr ||
        (row->lease_until_us >= absl::ToUnixMicros(now) && row->lease_owner != owner)) {
      return false;
    }
    row->lease_owner = std::string(owner);
    row->lease_until_us = absl::ToUnixMicros(lease_until);
    return true;
  }

  absl::Status ReleaseSaga(absl::string_view saga_id, absl::string_view owner) override {
    absl::MutexLock lock(&tables_.mu);
    SagaRow* row = tables_.FindSaga(saga_id);
    if (row != nullptr && row->lease_owner == owner) {
      row->lease_owner.clear();
      row->lease_until_us = 0;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int> ReleaseLeasesOf(absl::string_view owner) override {
    absl::MutexLock lock(&tables_.mu);
    int released = 0;
    for (auto& [sequence, row] : tables_.sagas) {
      if (row.lease_owner != owner) continue;
      row.lease_owner.clear();
      row.lease_until_us = 0;
      ++released;
    }
    return released;
  }

  absl::StatusOr<bool> ScheduleSaga(absl::string_view saga_id, absl::Time at) override {
    absl::MutexLock lock(&tables_.mu);
    SagaRow* row = tables_.FindSaga(saga_id);
    if (row == nullptr || !IsActive(row->saga.state())) return false;
    *row->saga.mutable_next_attempt_at() = TimestampFromMicros(absl::ToUnixMicros(at));
    row->saga.set_revision(row->saga.revision() + 1);
    return true;
  }

 private:
  InMemoryTables& tables_;
};

}  // namespace

std::unique_ptr<coordinator::SagaRepository> NewInMemorySagaRepository(InMemoryTables& tables) {
  return std::make_unique<InMemorySagaRepository>(tables);
}

}  // namespace fxmesh::testing::internal
