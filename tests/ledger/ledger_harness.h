// A LedgerEngine over a fresh test database (SQLite or PostgreSQL) with a fake clock and a
// fault-injecting store in the path, plus the calls and invariant checks the ledger tests share.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "common/clock.h"
#include "ledger/ledger_engine.h"
#include "tests/ledger/fault_injecting_ledger_store.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_database.h"

namespace fxmesh::ledger {

// The owner of every account the harness opens, and the customer of every Try it sends.
inline constexpr absl::string_view kTestCustomer = "test-customer";

class LedgerHarness {
 public:
  // A ledger serving `currencies` ("KRW" or "USD,EUR,JPY,CNY").
  explicit LedgerHarness(testing::Backend backend, const std::string& currencies = "KRW",
                         size_t pool_size = 0);

  LedgerEngine& engine() { return *engine_; }
  FaultInjectingLedgerStore& faults() { return *faulty_; }
  LedgerStore& store() { return *store_; }
  testing::FakeClock& clock() { return clock_; }

  // Helpers that REQUIRE the call to succeed at the RPC level and return the response.
  v1::AccountResponse Open(const std::string& account_id, const std::string& currency);
  v1::ExternalTransferResponse Deposit(const std::string& account_id, int64_t amount_minor,
                                       const std::string& currency);
  v1::BranchResponse Try(const std::string& saga_id, const std::string& branch,
                         const std::string& debit, const std::string& credit, int64_t amount_minor,
                         const std::string& currency);
  v1::BranchResponse Confirm(const std::string& saga_id, const std::string& branch);
  v1::BranchResponse Cancel(const std::string& saga_id, const std::string& branch);
  v1::Account Account(const std::string& account_id);

  // Everything an outside observer could compare between two moments: every account, hold,
  // journal entry and the balance sheet, serialized.
  std::string Snapshot();

  // ARCHITECTURE.md §8.1-3 over the whole ledger: the balance sheet balances per currency, no
  // balance is negative, and every confirmed hold has exactly one journal posting.
  void CheckInvariants();

 private:
  testing::TestDatabase database_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<LedgerStore> store_;
  std::unique_ptr<FaultInjectingLedgerStore> faulty_;
  testing::FakeClock clock_;
  std::unique_ptr<LedgerEngine> engine_;
  int request_counter_ = 0;
};

// The saga id for test number `n`: 32 hex digits.
std::string TestSagaId(int n);

}  // namespace fxmesh::ledger
