// The baselines on PostgreSQL, each behind a small gRPC service whose Exchange call the client
// makes once per exchange (the same RPC cost as fxmesh's Exchange; no quote is taken):
// - two-phase commit: the exchange as one distributed transaction over two databases, one per
//   currency, with PREPARE TRANSACTION in each and then COMMIT PREPARED in each;
// - the monolith: the exchange as one local transaction in one database holding both currencies.
// Each handler hands the transaction to a worker pool, so no gRPC thread waits on the database.
#include <grpcpp/grpcpp.h>
#include <soci/soci.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/scenario.h"
#include "common/db.h"
#include "common/executor.h"
#include "common/grpc_server.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "fxmesh/v1/exchange.grpc.pb.h"

namespace fxmesh::bench {
namespace {

// Workers running transactions, and the sessions each database's pool holds for them.
constexpr size_t kWorkers = 32;
constexpr size_t kQueueDepthMax = 100'000;

// One leg of an exchange inside one database: debit, credit, and a journal row for each.
void Move(soci::session& session, const std::string& xid, const std::string& debit,
          const std::string& credit, int64_t amount_minor) {
  const int64_t negative = -amount_minor;
  session << "UPDATE bench_accounts SET balance_minor = balance_minor - :a WHERE id = :id",
      soci::use(amount_minor), soci::use(debit);
  session << "UPDATE bench_accounts SET balance_minor = balance_minor + :a WHERE id = :id",
      soci::use(amount_minor), soci::use(credit);
  session << "INSERT INTO bench_journal (xid, account_id, amount_minor) VALUES (:x, :id, :a)",
      soci::use(xid), soci::use(debit), soci::use(negative);
  session << "INSERT INTO bench_journal (xid, account_id, amount_minor) VALUES (:x, :id, :a)",
      soci::use(xid), soci::use(credit), soci::use(amount_minor);
}

// Opens `database` with the bench's schema and the given accounts, each funded generously.
absl::StatusOr<std::unique_ptr<Database>> OpenFunded(const ScenarioOptions& options,
                                                     const std::string& database,
                                                     const std::vector<std::string>& accounts) {
  DatabaseOptions database_options;
  database_options.url = PostgresDatabaseUrl(options, database);
  database_options.pool_size = kWorkers;
  ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(database_options));
  RETURN_IF_ERROR(db->Transact([&](soci::session& session) -> absl::StatusOr<Completion> {
    session << "CREATE TABLE IF NOT EXISTS bench_accounts (id TEXT PRIMARY KEY, balance_minor "
               "BIGINT NOT NULL)";
    session << "CREATE TABLE IF NOT EXISTS bench_journal (id BIGSERIAL PRIMARY KEY, xid TEXT NOT "
               "NULL, account_id TEXT NOT NULL, amount_minor BIGINT NOT NULL)";
    const int64_t balance = limits::kAmountMinorMax;
    for (const std::string& account : accounts) {
      session << "INSERT INTO bench_accounts (id, balance_minor) VALUES (:id, :b) ON CONFLICT (id) "
                 "DO UPDATE SET balance_minor = EXCLUDED.balance_minor",
          soci::use(account), soci::use(balance);
    }
    return Completion::kCommit;
  }));
  return db;
}

std::vector<std::string> Accounts(int customers, const std::string& position,
                                  const std::string& suffix) {
  std::vector<std::string> accounts = {position};
  for (int c = 0; c < customers; ++c) accounts.push_back(absl::StrCat("c", c, suffix));
  return accounts;
}

// The exchange's transaction(s): OK when committed.
using Transaction = std::function<absl::Status(const v1::ExchangeRequest& request, int64_t n)>;

// ExchangeService's Exchange, answered COMPLETED once `transaction` has committed. The request's
// idempotency key ends in the operation number, from which the amounts follow (UsdMinorFor).
class BaselineService final : public v1::ExchangeService::CallbackService {
 public:
  explicit BaselineService(Transaction transaction)
      : transaction_(std::move(transaction)), executor_("baseline", kWorkers, kQueueDepthMax) {}

  grpc::ServerUnaryReactor* Exchange(grpc::CallbackServerContext* context,
                                     const v1::ExchangeRequest* request,
                                     v1::ExchangeResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const std::string& key = request->idempotency_key();
    int64_t n = 0;
    if (!absl::SimpleAtoi(key.substr(key.rfind('-') + 1), &n)) {
      reactor->Finish(grpc::Status(grpc::INVALID_ARGUMENT, "idempotency_key must end in -<n>"));
      return reactor;
    }
    const bool queued = executor_.Submit([this, reactor, request, response, n] {
      absl::Status status = transaction_(*request, n);
      if (!status.ok()) {
        return reactor->Finish(grpc::Status(grpc::UNAVAILABLE, std::string(status.message())));
      }
      response->mutable_exchange()->set_status(v1::EXCHANGE_STATUS_COMPLETED);
      reactor->Finish(grpc::Status::OK);
    });
    if (!queued) reactor->Finish(grpc::Status(grpc::RESOURCE_EXHAUSTED, "queue full"));
    return reactor;
  }

 private:
  Transaction transaction_;
  Executor executor_;
};

class BaselineScenario final : public Scenario {
 public:
  BaselineScenario(std::string operation_text, Transaction transaction)
      : operation_text_(std::move(operation_text)), service_(std::move(transaction)) {}
  ~BaselineScenario() override {
    if (server_) server_->Shutdown(absl::Seconds(2));
  }

  absl::Status Start(const ScenarioOptions& options) {
    options_ = options;
    ASSIGN_OR_RETURN(server_, GrpcServer::Start("127.0.0.1:0", {&service_}));
    stub_ = v1::ExchangeService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
    return absl::OkStatus();
  }

  void Exchange(int64_t n, std::function<void(OpResult)> done) override {
    struct Call {
      grpc::ClientContext context;
      v1::ExchangeRequest request;
      v1::ExchangeResponse response;
    };
    auto call = std::make_shared<Call>();
    const std::string customer = absl::StrCat("c", n % options_.customers);
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    call->request.set_idempotency_key(absl::StrCat(options_.run_id, "-", n));
    call->request.set_customer_id(customer);
    call->request.set_source_account_id(customer + "-krw");
    call->request.set_target_account_id(customer + "-usd");
    stub_->async()->Exchange(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status status) {
          done(status.ok() && call->response.exchange().status() == v1::EXCHANGE_STATUS_COMPLETED
                   ? OpResult::kCompleted
                   : OpResult::kFailed);
        });
  }

  std::string OperationText() const override { return operation_text_; }

 private:
  const std::string operation_text_;
  ScenarioOptions options_;
  BaselineService service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<v1::ExchangeService::Stub> stub_;
};

// Runs `body` in an explicit transaction and prepares it as `gid`; on an error rolls back.
absl::Status Prepare(Database& db, const std::string& gid,
                     const std::function<void(soci::session&)>& body) {
  return db.Read([&](soci::session& session) -> absl::Status {
    try {
      session << "BEGIN";
      body(session);
      session << "PREPARE TRANSACTION '" + gid + "'";
      return absl::OkStatus();
    } catch (const soci::soci_error& error) {
      try {
        session << "ROLLBACK";
      } catch (const soci::soci_error&) {
        // The session is broken; the pool reconnects it on its next lease.
      }
      return absl::AbortedError(error.what());
    }
  });
}

absl::Status FinishPrepared(Database& db, const std::string& gid, bool commit) {
  return db.Read([&](soci::session& session) {
    session << (commit ? "COMMIT PREPARED '" : "ROLLBACK PREPARED '") + gid + "'";
    return absl::OkStatus();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> StartTwoPhaseCommitScenario(
    const ScenarioOptions& options) {
  // Shared by the transaction function and the scenario, which owns it through the function.
  ASSIGN_OR_RETURN(
      std::shared_ptr<Database> krw,
      OpenFunded(options, "bench_2pc_krw", Accounts(options.customers, "position:KRW", "-krw")));
  ASSIGN_OR_RETURN(
      std::shared_ptr<Database> usd,
      OpenFunded(options, "bench_2pc_usd", Accounts(options.customers, "position:USD", "-usd")));
  const std::string run_id = options.run_id;
  auto transaction = [krw, usd, run_id](const v1::ExchangeRequest& request,
                                        int64_t n) -> absl::Status {
    const std::string xid = request.idempotency_key();
    const std::string krw_gid = absl::StrCat("bench-", xid, "-krw");
    const std::string usd_gid = absl::StrCat("bench-", xid, "-usd");
    // The coordinator prepares one branch after the other, then commits both: each holds its
    // position row locked from its UPDATE until its COMMIT PREPARED.
    absl::Status krw_prepared = Prepare(*krw, krw_gid, [&](soci::session& session) {
      Move(session, xid, request.source_account_id(), "position:KRW", KrwMinorFor(n));
    });
    if (!krw_prepared.ok()) return krw_prepared;
    absl::Status usd_prepared = Prepare(*usd, usd_gid, [&](soci::session& session) {
      Move(session, xid, "position:USD", request.target_account_id(), UsdMinorFor(n));
    });
    if (!usd_prepared.ok()) {
      (void)FinishPrepared(*krw, krw_gid, /*commit=*/false);
      return usd_prepared;
    }
    RETURN_IF_ERROR(FinishPrepared(*krw, krw_gid, /*commit=*/true));
    return FinishPrepared(*usd, usd_gid, /*commit=*/true);
  };
  auto scenario = std::make_unique<BaselineScenario>(
      "Exchange: PREPARE TRANSACTION in the KRW database, then in the USD database, then COMMIT "
      "PREPARED in each",
      transaction);
  RETURN_IF_ERROR(scenario->Start(options));
  return scenario;
}

absl::StatusOr<std::unique_ptr<Scenario>> StartMonolithScenario(const ScenarioOptions& options) {
  std::vector<std::string> accounts = Accounts(options.customers, "position:KRW", "-krw");
  for (const std::string& account : Accounts(options.customers, "position:USD", "-usd")) {
    accounts.push_back(account);
  }
  ASSIGN_OR_RETURN(std::shared_ptr<Database> db, OpenFunded(options, "bench_monolith", accounts));
  auto transaction = [db](const v1::ExchangeRequest& request, int64_t n) -> absl::Status {
    const std::string xid = request.idempotency_key();
    return db->Transact([&](soci::session& session) -> absl::StatusOr<Completion> {
      Move(session, xid, request.source_account_id(), "position:KRW", KrwMinorFor(n));
      Move(session, xid, "position:USD", request.target_account_id(), UsdMinorFor(n));
      return Completion::kCommit;
    });
  };
  auto scenario = std::make_unique<BaselineScenario>(
      "Exchange: one local transaction moving both currencies", transaction);
  RETURN_IF_ERROR(scenario->Start(options));
  return scenario;
}

}  // namespace fxmesh::bench
