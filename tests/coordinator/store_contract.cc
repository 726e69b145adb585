#include "tests/coordinator/store_contract.h"

#include "absl/strings/str_cat.h"
#include "common/proto_time.h"
#include "tests/support/in_memory_saga_store.h"

namespace fxmesh::coordinator::contract {

ContractStore::ContractStore(StoreKind kind) {
  if (kind == StoreKind::kInMemory) {
    store_ = std::make_unique<testing::InMemorySagaStore>();
  } else {
    test_database_.emplace(kind == StoreKind::kSqlite ? testing::Backend::kSqlite
                                                      : testing::Backend::kPostgres);
    database_ = test_database_->Open();
    store_ = NewSociSagaStore(*database_);
  }
  REQUIRE(store_->Migrate().ok());
}

ContractStore::~ContractStore() {
  // The store goes before the database it writes to, and that before the database is dropped.
  store_.reset();
  database_.reset();
}

v1::Quote ContractStore::NewQuote(const std::string& quote_id, absl::Time expires_at) {
  v1::Quote quote;
  quote.set_quote_id(quote_id);
  quote.mutable_sell()->set_currency("KRW");
  quote.mutable_sell()->set_amount_minor(13'700);
  quote.mutable_buy()->set_currency("USD");
  quote.mutable_buy()->set_amount_minor(1'000);
  quote.set_rate_micros(1'370'000'000);
  quote.set_customer_id("alice");
  *quote.mutable_created_at() = ToTimestamp(kStart);
  *quote.mutable_expires_at() = ToTimestamp(expires_at);
  REQUIRE(store_->InsertQuote(quote).ok());
  return quote;
}

NewSaga ContractStore::Request(const std::string& key, const std::string& customer,
                               std::string quote_id, int64_t limit_krw, int64_t daily_limit_krw) {
  if (quote_id.empty()) {
    quote_id = customer + "-" + key;
    NewQuote(quote_id);
  }
  NewSaga request;
  v1::Saga& saga = request.saga;
  saga.set_saga_id(absl::StrCat("saga-", customer, "-", key));
  saga.set_idempotency_key(key);
  saga.set_customer_id(customer);
  saga.set_quote_id(quote_id);
  saga.set_source_account_id(customer + "-krw");
  saga.set_target_account_id(customer + "-usd");
  saga.mutable_sell()->set_currency("KRW");
  saga.mutable_sell()->set_amount_minor(13'700);
  saga.mutable_buy()->set_currency("USD");
  saga.mutable_buy()->set_amount_minor(1'000);
  saga.set_rate_micros(1'370'000'000);
  saga.set_state(v1::SAGA_STATE_CREATED);
  *saga.mutable_next_attempt_at() = ToTimestamp(kStart);
  *saga.mutable_try_deadline() = ToTimestamp(kStart + absl::Seconds(30));
  for (const char* name : {"krw", "fx"}) {
    v1::Branch* branch = saga.add_branches();
    branch->set_branch(name);
    branch->set_participant(absl::StrCat(name, "-ledger"));
  }
  request.request_digest = "digest-" + key;
  request.limit_day = "2026-06-01";
  request.limit_krw_minor = limit_krw;
  request.daily_limit_krw_minor = daily_limit_krw;
  return request;
}

v1::Saga ContractStore::Create(const NewSaga& request, absl::Time now) {
  absl::StatusOr<CreateResult> created = store_->CreateSaga(request, now);
  REQUIRE(created.ok());
  REQUIRE(created->outcome == CreateResult::Outcome::kCreated);
  return Read(request.saga.saga_id());
}

v1::Saga ContractStore::Move(const v1::Saga& saga, v1::SagaState state, absl::Time now) {
  v1::Saga next = saga;
  next.set_state(state);
  REQUIRE(store_
              ->SaveSaga(next, saga.state(), "contract-test", absl::InfinitePast(),
                         StepRecord{saga.state(), state, "moved"}, {}, now)
              .ok());
  return Read(saga.saga_id());
}

v1::Saga ContractStore::Read(const std::string& saga_id) {
  absl::StatusOr<std::optional<v1::Saga>> saga = store_->GetSaga(saga_id);
  REQUIRE(saga.ok());
  REQUIRE(saga->has_value());
  return **saga;
}

std::vector<OutboxMessage> ContractStore::Unsent() {
  absl::StatusOr<std::vector<OutboxMessage>> unsent = store_->ListUnsentOutbox(0, 1'000);
  REQUIRE(unsent.ok());
  return *unsent;
}

}  // namespace fxmesh::coordinator::contract
