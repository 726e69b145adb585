// The SagaStore contract tests' fixture: one store of a kind — the in-memory fake, or the SOCI
// store on a fresh SQLite or PostgreSQL database — and the rows those tests build, all at fixed
// times (no clock is read).
//
// STORE_CONTRACT_TEST registers one body three times: "<name> / memory" ([unit]), "/ sqlite"
// ([sqlite]) and "/ postgres" ([pg], which needs the CTest fixture), so every case of the contract
// holds for the fake exactly as for the real store.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "coordinator/saga_store.h"
#include "tests/support/test_database.h"

namespace fxmesh::coordinator::contract {

enum class StoreKind { kInMemory, kSqlite, kPostgres };

// The instant every contract test starts at, with a sub-microsecond part that no store keeps.
inline const absl::Time kStart = absl::FromUnixSeconds(1'780'000'000) + absl::Nanoseconds(1'234);

class ContractStore {
 public:
  explicit ContractStore(StoreKind kind);
  ~ContractStore();

  SagaStore& store() { return *store_; }
  SagaStore* operator->() { return store_.get(); }
  // The SOCI store's database and its url; null and empty in memory.
  Database* database() { return database_.get(); }
  std::string url() const { return test_database_ ? test_database_->url() : ""; }

  // A quote of alice's for 10.00 USD, expiring at `expires_at`.
  v1::Quote NewQuote(const std::string& quote_id, absl::Time expires_at = kStart + absl::Hours(1));
  // A creation request: `customer` buys 10.00 USD on a new quote of the same id as `key` (or on
  // `quote_id`), reserving `limit_krw` of a daily limit of `daily_limit_krw`. Two branches.
  NewSaga Request(const std::string& key, const std::string& customer = "alice",
                  std::string quote_id = "", int64_t limit_krw = 13'700,
                  int64_t daily_limit_krw = 1'000'000);
  // Creates `request`'s saga at `now`, REQUIREd to be kCreated; returns the saga as stored.
  v1::Saga Create(const NewSaga& request, absl::Time now = kStart);
  v1::Saga Create(const std::string& key) { return Create(Request(key)); }
  // Moves `saga` (as read) to `state` with a step-log row, unleased; returns it as stored now.
  v1::Saga Move(const v1::Saga& saga, v1::SagaState state, absl::Time now = kStart);
  // The saga as stored now, REQUIREd to exist and read.
  v1::Saga Read(const std::string& saga_id);
  // Every outbox message not yet sent.
  std::vector<OutboxMessage> Unsent();

 private:
  std::optional<testing::TestDatabase> test_database_;
  std::unique_ptr<Database> database_;
  std::unique_ptr<SagaStore> store_;
};

}  // namespace fxmesh::coordinator::contract

#define STORE_CONTRACT_TEST_IMPL(function, name, tags)                   \
  static void function(::fxmesh::coordinator::contract::StoreKind kind); \
  TEST_CASE(name " / memory", tags "[unit]") {                           \
    function(::fxmesh::coordinator::contract::StoreKind::kInMemory);     \
  }                                                                      \
  TEST_CASE(name " / sqlite", tags "[db][sqlite]") {                     \
    function(::fxmesh::coordinator::contract::StoreKind::kSqlite);       \
  }                                                                      \
  TEST_CASE(name " / postgres", tags "[db][pg]") {                       \
    function(::fxmesh::coordinator::contract::StoreKind::kPostgres);     \
  }                                                                      \
  static void function([[maybe_unused]] ::fxmesh::coordinator::contract::StoreKind kind)
#define STORE_CONTRACT_TEST_CONCAT_INNER(a, b) a##b
#define STORE_CONTRACT_TEST_CONCAT(a, b) STORE_CONTRACT_TEST_CONCAT_INNER(a, b)
#define STORE_CONTRACT_TEST(name, tags) \
  STORE_CONTRACT_TEST_IMPL(STORE_CONTRACT_TEST_CONCAT(StoreContract_, __LINE__), name, tags)
