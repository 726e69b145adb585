// A coordinator and its two ledgers, each on its own SQLite database, served over real gRPC on
// loopback, for the hostile-input tables: alice and bob have KRW and USD accounts, alice has one
// completed exchange and one that failed (more than she has). The coordinator's clock is real time
// that ExpireQuotes() skips ahead.
#pragma once

#include <memory>
#include <string>

#include "coordinator/coordinator_server.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"
#include "fxmesh/v1/trace.grpc.pb.h"
#include "ledger/ledger_server.h"
#include "tests/security/hostile_input.h"
#include "tests/support/skipping_clock.h"
#include "tests/support/test_database.h"

namespace fxmesh::testing {

class HostileCoordinator {
 public:
  HostileCoordinator();
  ~HostileCoordinator();

  v1::ExchangeService::Stub& exchange() { return *exchange_; }
  v1::OpsService::Stub& ops() { return *ops_; }
  v1::TraceService::Stub& traces() { return *traces_; }

  // The request of the completed exchange (alice buys 10.00 USD), and its saga.
  const v1::ExchangeRequest& completed_request() const { return completed_request_; }
  const std::string& completed_saga() const { return completed_saga_; }
  // A new quote for `customer` (KRW for 10.00 USD); its id.
  std::string Quote(const std::string& customer);
  // Waits until every saga is final (a failed one releases its holds after the answer).
  void WaitSettled();
  // Moves the coordinator's clock past the expiry of every quote given so far.
  void ExpireQuotes();

  // Every table of the three databases, and which participants are paused.
  std::string Snapshot();
  // The accounts tables of both ledgers (balances, held, incoming).
  std::string Balances();

 private:
  testing::SkippingClock clock_;
  TestDatabase krw_database_, fx_database_, coordinator_database_;
  std::unique_ptr<ledger::LedgerServer> krw_, fx_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_;
  std::unique_ptr<v1::OpsService::Stub> ops_;
  std::unique_ptr<v1::TraceService::Stub> traces_;
  v1::ExchangeRequest completed_request_;
  std::string completed_saga_;
};

}  // namespace fxmesh::testing
