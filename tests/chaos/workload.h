// The bank test's clients: 16 threads that, for the run's duration, exchange money both ways
// between 20 customers' KRW and USD accounts (unique idempotency keys, short deadlines), resubmit
// earlier requests with their original key, and read both ledgers' balance sheets. Every exchange
// call and its answer is recorded for the checker; snapshot reads are checked as they come.
#pragma once

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
  void Exchange(int client, std::mt19937_64& draw, absl::Time start, int64_t serial);
  void Resubmit(int client, std::mt19937_64& draw, absl::Time start);
  void Snapshot(std::mt19937_64& draw);
  // Sends `call.request` with a short deadline and records the answer.
  void Send(ExchangeCall call, std::mt19937_64& draw, absl::Time start);

  ChaosMesh& mesh_;
  const WorkloadOptions options_;
  std::vector<Customer> customers_;
  absl::Mutex mu_;
  History history_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fxmesh::chaos
