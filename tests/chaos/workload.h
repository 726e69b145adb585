// The bank test's clients: 16 threads that, for the run's duration, exchange money both ways
// between 20 customers' KRW and USD accounts (unique idempotency keys, short deadlines), resubmit
// earlier requests with their original key, and read both ledgers' balance sheets. Every exchange
// call and its answer is recorded for the checker; snapshot reads are checked as they come.
// With several coordinator replicas each client starts on one of them and, told UNAVAILABLE or
// DEADLINE_EXCEEDED, resubmits the same request (same idempotency key) to the next one and stays
// there, as a client behind a load balancer would.
#pragma once

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fxmesh/v1/exchange.pb.h"
#include "tests/chaos/chaos_mesh.h"

namespace fxmesh::chaos {

// One broken promise: which invariant, the first saga it concerns (if any) and what was seen.
struct Violation {
  std::string invariant;
  std::string saga_id;
  std::string detail;
};

struct Customer {
  std::string id;
  std::string krw_account;
  std::string usd_account;
};

// One Exchange call as the client saw it.
struct ExchangeCall {
  int client = 0;
  bool resubmission = false;
  // Sent again, at once, to the next coordinator replica after this client's previous call found
  // its replica unavailable or slow.
  bool failover = false;
  // The coordinator replica that was called.
  int coordinator = 0;
  v1::ExchangeRequest request;
  // The quote the request names, as the client was given it.
  v1::Quote quote;
  absl::Duration sent, answered;  // from the workload's start
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string error;
  v1::Exchange answer;  // when code is OK
};

struct History {
  std::vector<ExchangeCall> exchanges;
  int64_t quotes_failed = 0;
  int64_t snapshots = 0;
  int64_t snapshots_failed = 0;
  std::vector<Violation> snapshot_violations;
};

struct WorkloadOptions {
  uint64_t seed = 1;
  int clients = 16;
  int customers = 20;
  absl::Duration duration = absl::Seconds(60);
};

class Workload {
 public:
  // `mesh` must outlive the workload.
  Workload(ChaosMesh& mesh, WorkloadOptions options);

  // Opens every customer's accounts and funds them and the bank's positions. Run before faults.
  absl::Status Setup();
  // Every account the workload touches (customers' and positions) by ledger ("krw", "fx").
  std::map<std::string, std::vector<std::string>> Accounts() const;
  // Runs the clients from `start` until `start` + duration; blocks until they are done.
  void Run(absl::Time start);
  // Everything recorded. Call after Run().
  History TakeHistory();

 private:
  void Client(int index, absl::Time start);
  // The coordinator replica client `client` calls now.
  v1::ExchangeService::Stub& CoordinatorOf(int client);
  // Client `client` moves on to the next coordinator replica.
  void FailOver(int client);
  void Exchange(int client, std::mt19937_64& draw, absl::Time start, int64_t serial);
  void Resubmit(int client, std::mt19937_64& draw, absl::Time start);
  void Snapshot(std::mt19937_64& draw);
  // Sends `call.request` with a short deadline and records the answer.
  void Send(ExchangeCall call, std::mt19937_64& draw, absl::Time start);

  ChaosMesh& mesh_;
  const WorkloadOptions options_;
  std::vector<Customer> customers_;
  // Per client, the coordinator replica it calls; each client thread touches only its own.
  std::vector<size_t> coordinator_of_;
  // Spreads snapshot reads over the ledgers' replicas.
  std::atomic<size_t> snapshot_serial_{0};
  absl::Mutex mu_;
  History history_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::chaos
