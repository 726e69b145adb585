// fxmesh itself: both ledgers and the coordinator (without Kafka, so every Confirm and Cancel is
// settled by the coordinator's in-process relay, coordinator::LocalRelay, the path Kafka's relay
// also takes), on SQLite files or on three PostgreSQL databases.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/scenario.h"
#include "common/clock.h"
#include "common/limits.h"
#include "common/money.h"
#include "common/status_macros.h"
#include "coordinator/coordinator_server.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/ledger_server.h"

namespace fxmesh::bench {
namespace {

constexpr auto kCallDeadline = std::chrono::seconds(10);
// Funding opens two accounts per customer and deposits into each, from this many threads.
constexpr int kFundingThreads = 8;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + kCallDeadline;
}

// Opens `account` (unless it is the bank's position, which the ledger opens itself) and, unless
// `empty`, deposits the most an account may hold.
absl::Status Fund(v1::LedgerService::Stub& stub, const std::string& account,
                  const std::string& currency, const std::string& owner, bool empty = false) {
  if (owner != "bank") {
    grpc::ClientContext open_context;
    open_context.set_deadline(Deadline());
    v1::OpenAccountRequest open;
    open.set_account_id(account);
    open.set_currency(currency);
    open.set_owner(owner);
    v1::AccountResponse opened;
    grpc::Status status = stub.OpenAccount(&open_context, open, &opened);
    if (!status.ok()) return absl::UnavailableError("OpenAccount: " + status.error_message());
  }
  if (empty) return absl::OkStatus();
  grpc::ClientContext deposit_context;
  deposit_context.set_deadline(Deadline());
  v1::ExternalTransferRequest deposit;
  deposit.set_request_id(absl::StrCat("fund-", account));
  deposit.set_account_id(account);
  deposit.mutable_amount()->set_amount_minor(limits::kAmountMinorMax);
  deposit.mutable_amount()->set_currency(currency);
  v1::ExternalTransferResponse deposited;
  grpc::Status status = stub.Deposit(&deposit_context, deposit, &deposited);
  if (!status.ok()) return absl::UnavailableError("Deposit: " + status.error_message());
  return absl::OkStatus();
}

// A ledger that answers every branch call `delay` late, holding its worker meanwhile as a slow
// database would.
class SlowBranchCalls final : public ledger::BranchCalls {
 public:
  SlowBranchCalls(ledger::BranchCalls& inner, absl::Duration delay)
      : inner_(inner), delay_(delay) {}
  absl::Status Try(const v1::TryRequest& request, v1::BranchResponse* response) override {
    absl::SleepFor(delay_);
    return inner_.Try(request, response);
  }
  absl::Status Confirm(const v1::BranchRequest& request, v1::BranchResponse* response) override {
    absl::SleepFor(delay_);
    return inner_.Confirm(request, response);
  }
  absl::Status Cancel(const v1::BranchRequest& request, v1::BranchResponse* response) override {
    absl::SleepFor(delay_);
    return inner_.Cancel(request, response);
  }

 private:
  ledger::BranchCalls& inner_;
  const absl::Duration delay_;
};

class MeshScenario final : public Scenario {
 public:
  ~MeshScenario() override {
    if (coordinator_) coordinator_->Shutdown(absl::Seconds(2));
    if (krw_) krw_->Shutdown(absl::Seconds(1));
    if (fx_) fx_->Shutdown(absl::Seconds(1));
  }

  absl::Status Start(const MeshVariant& variant, const ScenarioOptions& options) {
    options_ = options;
    variant_ = variant;
    auto url = [&](const std::string& name) {
      return variant.postgres ? PostgresDatabaseUrl(options, "bench_" + name)
                              : absl::StrCat("sqlite:", options.sqlite_dir, "/", name, ".db");
    };
    ledger::LedgerServerOptions krw_options, fx_options;
    krw_options.database.url = url("krw");
    krw_options.currencies = *ParseCurrencyList("KRW");
    krw_options.service_name = "krw-ledger";
    fx_options.database.url = url("fx");
    fx_options.currencies = *ParseCurrencyList("USD");
    fx_options.service_name = "fx-ledger";
    if (variant.fx_ledger_delay_ms > 0) {
      const absl::Duration delay = absl::Milliseconds(variant.fx_ledger_delay_ms);
      fx_options.decorate_branch_calls = [delay](ledger::BranchCalls& engine) {
        return std::make_unique<SlowBranchCalls>(engine, delay);
      };
    }
    auto krw = ledger::LedgerServer::Start(krw_options, SystemClock::Get());
    if (!krw.ok()) return krw.status();
    krw_ = *std::move(krw);
    auto fx = ledger::LedgerServer::Start(fx_options, SystemClock::Get());
    if (!fx.ok()) return fx.status();
    fx_ = *std::move(fx);

    coordinator::CoordinatorServerOptions coordinator_options;
    coordinator_options.database.url = url("coordinator");
    coordinator_options.rates_text = "USD 1370.25\n";
    coordinator_options.spread_bps = 50;
    coordinator_options.participant_addresses = {
        {"krw-ledger", absl::StrCat("127.0.0.1:", krw_->port())},
        {"fx-ledger", absl::StrCat("127.0.0.1:", fx_->port())}};
    coordinator_options.engine.daily_limit_krw_minor = limits::kAmountMinorMax;
    coordinator_options.engine.owner_id = "bench";
    // The bench's few customers call far more often than a person would.
    coordinator_options.customers.requests_per_second = 0;
    auto coordinator =
        coordinator::CoordinatorServer::Start(coordinator_options, SystemClock::Get());
    if (!coordinator.ok()) return coordinator.status();
    coordinator_ = *std::move(coordinator);

    auto channel = [](int port) {
      return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                 grpc::InsecureChannelCredentials());
    };
    auto krw_stub = v1::LedgerService::NewStub(channel(krw_->port()));
    auto fx_stub = v1::LedgerService::NewStub(channel(fx_->port()));
    exchange_stub_ = v1::ExchangeService::NewStub(channel(coordinator_->port()));

    RETURN_IF_ERROR(Fund(*krw_stub, "position:KRW", "KRW", "bank"));
    RETURN_IF_ERROR(Fund(*fx_stub, "position:USD", "USD", "bank"));
    std::atomic<int> next{0};
    std::atomic<bool> failed{false};
    absl::Status first_error;
    absl::Mutex error_mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kFundingThreads; ++t) {
      threads.emplace_back([&] {
        for (int c = next++; c < options.customers && !failed; c = next++) {
          const std::string customer = absl::StrCat("c", c);
          absl::Status status =
              Fund(*krw_stub, customer + "-krw", "KRW", customer, variant.cancel_path);
          if (status.ok()) status = Fund(*fx_stub, customer + "-usd", "USD", customer);
          if (!status.ok()) {
            absl::MutexLock lock(&error_mu);
            failed = true;
            first_error = status;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return first_error;
  }

  void Exchange(int64_t n, std::function<void(OpResult)> done) override {
    QuoteThenExchange(
        *exchange_stub_, options_, n, std::move(done),
        variant_.cancel_path ? v1::EXCHANGE_STATUS_FAILED : v1::EXCHANGE_STATUS_COMPLETED);
  }

  std::string OperationText() const override {
    return variant_.cancel_path ? "GetQuote, then Exchange answered FAILED (both branches ended)"
                                : "GetQuote, then Exchange answered COMPLETED";
  }

 private:
  ScenarioOptions options_;
  MeshVariant variant_;
  std::unique_ptr<ledger::LedgerServer> krw_;
  std::unique_ptr<ledger::LedgerServer> fx_;
  std::unique_ptr<coordinator::CoordinatorServer> coordinator_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_stub_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Scenario>> StartMeshScenario(const MeshVariant& variant,
                                                            const ScenarioOptions& options) {
  auto scenario = std::make_unique<MeshScenario>();
  absl::Status status = scenario->Start(variant, options);
  if (!status.ok()) return status;
  return scenario;
}

}  // namespace fxmesh::bench
