// fxmesh-bench: throughput and latency of the ledger and of whole exchanges, measured over real
// gRPC on loopback against in-process servers on SQLite or PostgreSQL. `make bench` runs it; the
// figures go to docs/benchmarks.md.
//
//   fxmesh-bench --db_dir=DIR [--postgres_url=postgresql://...] --seconds=10 --clients=16
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/ids.h"
#include "common/log.h"
#include "coordinator/coordinator_server.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "ledger/ledger_server.h"

ABSL_FLAG(std::string, db_dir, "", "folder for SQLite files (SQLite runs)");
ABSL_FLAG(std::string, postgres_url, "",
          "a PostgreSQL server's maintenance url; databases bench_krw, bench_fx, bench_coordinator "
          "must exist (PostgreSQL runs)");
ABSL_FLAG(int, seconds, 10, "how long each measurement runs");
ABSL_FLAG(int, clients, 16, "concurrent clients");

namespace fxmesh {
namespace {

struct Measurement {
  int64_t operations = 0;
  std::vector<double> latencies_ms;
};

// Runs `operation(client, n)` from `clients` threads for `seconds`; collects latencies.
template <typename Operation>
Measurement Measure(int clients, int seconds, Operation operation) {
  std::vector<Measurement> per_client(clients);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (int n = 0; !stop; ++n) {
        const absl::Time start = absl::Now();
        if (!operation(c, n)) continue;
        per_client[c].latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        ++per_client[c].operations;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (std::thread& thread : threads) thread.join();
  Measurement total;
  for (Measurement& m : per_client) {
    total.operations += m.operations;
    total.latencies_ms.insert(total.latencies_ms.end(), m.latencies_ms.begin(),
                              m.latencies_ms.end());
  }
  std::sort(total.latencies_ms.begin(), total.latencies_ms.end());
  return total;
}

void Report(const std::string& name, const Measurement& m, int seconds) {
  auto percentile = [&](double p) {
    if (m.latencies_ms.empty()) return 0.0;
    return m.latencies_ms[std::min(m.latencies_ms.size() - 1,
                                   static_cast<size_t>(p * m.latencies_ms.size()))];
  };
  std::printf("%-44s %9.0f /s   p50 %7.2f ms   p99 %7.2f ms   (%lld in %d s)\n", name.c_str(),
              static_cast<double>(m.operations) / seconds, percentile(0.50), percentile(0.99),
              static_cast<long long>(m.operations), seconds);
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

int Run(const std::string& label, const std::string& krw_url, const std::string& fx_url,
        const std::string& coordinator_url) {
  const int seconds = absl::GetFlag(FLAGS_seconds);
  const int clients = absl::GetFlag(FLAGS_clients);
  ledger::LedgerServerOptions krw_options, fx_options;
  krw_options.database.url = krw_url;
  krw_options.currencies = *ParseCurrencyList("KRW");
  fx_options.database.url = fx_url;
  fx_options.currencies = *ParseCurrencyList("USD");
  auto krw = ledger::LedgerServer::Start(krw_options, SystemClock::Get());
  auto fx = ledger::LedgerServer::Start(fx_options, SystemClock::Get());
  if (!krw.ok() || !fx.ok()) {
    std::fprintf(stderr, "cannot start ledgers: %s %s\n", krw.status().ToString().c_str(),
                 fx.status().ToString().c_str());
    return 1;
  }
  coordinator::CoordinatorServerOptions options;
  options.database.url = coordinator_url;
  options.rates_text = "USD 1370.25\n";
  options.spread_bps = 50;
  options.participant_addresses = {{"krw-ledger", absl::StrCat("127.0.0.1:", (*krw)->port())},
                                   {"fx-ledger", absl::StrCat("127.0.0.1:", (*fx)->port())}};
  options.engine.daily_limit_krw_minor = limits::kAmountMinorMax;
  options.engine.owner_id = "bench";
  auto coordinator = coordinator::CoordinatorServer::Start(options, SystemClock::Get());
  if (!coordinator.ok()) {
    std::fprintf(stderr, "cannot start the coordinator: %s\n",
                 coordinator.status().ToString().c_str());
    return 1;
  }
  auto channel = [](int port) {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                               grpc::InsecureChannelCredentials());
  };
  auto krw_stub = v1::LedgerService::NewStub(channel((*krw)->port()));
  auto fx_stub = v1::LedgerService::NewStub(channel((*fx)->port()));
  auto exchange_stub = v1::ExchangeService::NewStub(channel((*coordinator)->port()));

  // One funded account per client, so clients contend on the bank's positions only.
  auto fund = [&](v1::LedgerService::Stub& stub, const std::string& account,
                  const std::string& currency, const std::string& owner) {
    v1::OpenAccountRequest open;
    open.set_account_id(account);
    open.set_currency(currency);
    open.set_owner(owner);
    v1::AccountResponse opened;
    (void)stub.OpenAccount(Context().get(), open, &opened);
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id(absl::StrCat("fund-", account));
    deposit.set_account_id(account);
    deposit.mutable_amount()->set_amount_minor(limits::kAmountMinorMax);
    deposit.mutable_amount()->set_currency(currency);
    v1::ExternalTransferResponse deposited;
    (void)stub.Deposit(Context().get(), deposit, &deposited);
  };
  fund(*krw_stub, "position:KRW", "KRW", "bank");
  fund(*fx_stub, "position:USD", "USD", "bank");
  for (int c = 0; c < clients; ++c) {
    fund(*krw_stub, absl::StrCat("c", c, "-krw"), "KRW", absl::StrCat("c", c));
    fund(*fx_stub, absl::StrCat("c", c, "-usd"), "USD", absl::StrCat("c", c));
  }
  const std::string run = NewSagaId().substr(0, 8);

  Report(absl::StrCat(label, " ledger Try+Confirm (one branch)"),
         Measure(clients, seconds,
                 [&](int c, int n) {
                   v1::TryRequest request;
                   request.mutable_branch()->set_saga_id(NewSagaId());
                   request.mutable_branch()->set_branch("krw");
                   request.set_customer_id(absl::StrCat("c", c));
                   request.set_debit_account_id(absl::StrCat("c", c, "-krw"));
                   request.set_credit_account_id("position:KRW");
                   request.mutable_amount()->set_amount_minor(1'000 + n % 100);
                   request.mutable_amount()->set_currency("KRW");
                   v1::BranchResponse tried, confirmed;
                   if (!krw_stub->Try(Context().get(), request, &tried).ok()) return false;
                   v1::BranchRequest confirm;
                   *confirm.mutable_branch() = request.branch();
                   return krw_stub->Confirm(Context().get(), confirm, &confirmed).ok() &&
                          confirmed.outcome() == v1::OUTCOME_APPLIED;
                 }),
         seconds);

  // Quotes are taken ahead, as a client would, so the figure is the exchange itself.
  Report(absl::StrCat(label, " exchange KRW→USD end to end"),
         Measure(clients, seconds,
                 [&](int c, int n) {
                   v1::GetQuoteRequest quote_request;
                   quote_request.set_sell_currency("KRW");
                   quote_request.set_buy_currency("USD");
                   quote_request.set_buy_amount_minor(100 + n % 50);
                   v1::Quote quote;
                   if (!exchange_stub->GetQuote(Context().get(), quote_request, &quote).ok())
                     return false;
                   v1::ExchangeRequest request;
                   request.set_idempotency_key(absl::StrCat(run, "-", c, "-", n));
                   request.set_customer_id(absl::StrCat("c", c));
                   request.set_source_account_id(absl::StrCat("c", c, "-krw"));
                   request.set_target_account_id(absl::StrCat("c", c, "-usd"));
                   request.set_quote_id(quote.quote_id());
                   v1::ExchangeResponse response;
                   return exchange_stub->Exchange(Context().get(), request, &response).ok() &&
                          response.exchange().status() == v1::EXCHANGE_STATUS_COMPLETED;
                 }),
         seconds);

  (*coordinator)->Shutdown(absl::Seconds(1));
  (*krw)->Shutdown(absl::Seconds(1));
  (*fx)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace fxmesh

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  fxmesh::SetLogLevel(fxmesh::LogLevel::kError);
  int failures = 0;
  if (!absl::GetFlag(FLAGS_db_dir).empty()) {
    const std::string dir = absl::GetFlag(FLAGS_db_dir);
    failures += fxmesh::Run("sqlite", "sqlite:" + dir + "/krw.db", "sqlite:" + dir + "/fx.db",
                            "sqlite:" + dir + "/coordinator.db");
  }
  if (!absl::GetFlag(FLAGS_postgres_url).empty()) {
    std::string base = absl::GetFlag(FLAGS_postgres_url);
    base = base.substr(0, base.rfind('/') + 1);
    failures +=
        fxmesh::Run("postgres", base + "bench_krw", base + "bench_fx", base + "bench_coordinator");
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::printf("peak resident memory of the benchmark process (3 services + clients): %ld MiB\n",
              usage.ru_maxrss / 1024);
  return failures;
}
