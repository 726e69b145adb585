// fxmesh itself: both ledgers and the coordinator (without Kafka, so every Confirm and Cancel is
// settled by the coordinator's in-process relay, coordinator::LocalRelay, the path Kafka's relay
// also takes), on SQLite files or on three PostgreSQL databases.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/scenario.h"
#include "bench/seed.h"
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
    if (variant.seeded_customers > 0) {
      options_.customers = static_cast<int>(variant.seeded_customers);
      RETURN_IF_ERROR(Seed(krw_options.database, fx_options.database));
    }
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
    if (variant.seeded_customers > 0) return CheckSeededLedgers(*krw_stub, *fx_stub);
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

  std::string SetupText() const override { return setup_text_; }

  std::string OperationText() const override {
    return variant_.cancel_path ? "GetQuote, then Exchange answered FAILED (both branches ended)"
                                : "GetQuote, then Exchange answered COMPLETED";
  }

 private:
  // Seeds both ledgers' databases at once (one thread each), before either serves.
  absl::Status Seed(const DatabaseOptions& krw_database, const DatabaseOptions& fx_database) {
    const int64_t customers = variant_.seeded_customers;
    const absl::Time start = absl::Now();
    absl::StatusOr<SeedReport> krw_seed, fx_seed;
    std::thread krw_thread([&] {
      krw_seed = SeedLedger({.database = krw_database,
                             .currency = "KRW",
                             .customers = customers,
                             .account_suffix = "krw",
                             .deposit_minor = kSeedKrwMinor});
    });
    fx_seed = SeedLedger({.database = fx_database,
                          .currency = "USD",
                          .customers = customers,
                          .account_suffix = "usd",
                          .deposit_minor = kSeedUsdMinor});
    krw_thread.join();
    if (!krw_seed.ok()) return krw_seed.status();
    if (!fx_seed.ok()) return fx_seed.status();
    setup_text_ = absl::StrFormat(
        "%s customers (%s accounts) seeded in bulk through the ledgers' engine in %.1f s, before "
        "the ledgers served (krw ledger %.1f s, fx ledger %.1f s, in parallel); not measured",
        GroupThousands(customers), GroupThousands(krw_seed->accounts + fx_seed->accounts),
        absl::ToDoubleSeconds(absl::Now() - start), krw_seed->seconds, fx_seed->seconds);
    std::fprintf(stderr, "  %s\n", setup_text_.c_str());
    return absl::OkStatus();
  }

  // Once serving, each ledger's balance sheet (GetBalanceSheet) balances and counts every seeded
  // account and the position.
  absl::Status CheckSeededLedgers(v1::LedgerService::Stub& krw, v1::LedgerService::Stub& fx) {
    for (v1::LedgerService::Stub* ledger : {&krw, &fx}) {
      grpc::ClientContext context;
      context.set_deadline(Deadline());
      v1::BalanceSheet sheet;
      grpc::Status status = ledger->GetBalanceSheet(&context, v1::GetBalanceSheetRequest(), &sheet);
      if (!status.ok()) return absl::UnavailableError("GetBalanceSheet: " + status.error_message());
      if (!sheet.balanced() || sheet.currencies_size() != 1 ||
          sheet.currencies(0).account_count() != variant_.seeded_customers + 1) {
        return absl::FailedPreconditionError(
            "a seeded ledger does not balance or lacks accounts: " + sheet.ShortDebugString());
      }
    }
    return absl::OkStatus();
  }

  std::string setup_text_;
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
