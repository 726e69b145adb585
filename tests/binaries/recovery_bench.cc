// `make bench`'s recovery measurement (docs/benchmarks.md, "Recovery"): the real ledger and
// coordinator processes on SQLite; 1,000 exchanges are started while the fx ledger is stopped
// (SIGSTOP), so each saga waits on its fx Try; once all of them are in flight the coordinator is
// killed with SIGKILL, the fx ledger resumes, and the coordinator restarts on the same database.
// It measures how long after the restart every saga is terminal, checks that both ledgers
// balance with no hold left HELD, and writes the figures as JSON to $FXMESH_RECOVERY_JSON (when
// set). Not a CTest test: scripts/run-benchmarks.sh runs it; FXMESH_RECOVERY_SAGAS changes the
// count.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "tests/binaries/mesh_processes.h"

namespace fxmesh::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kCustomers = 50;
// Each exchange's deadline: the coordinator answers PENDING this soon, freeing its worker for the
// next one while the saga waits on the stopped ledger.
constexpr auto kExchangeDeadline = std::chrono::milliseconds(300);
// Exchange calls outstanding at once: fewer than the coordinator's workers
// (limits::kSagaWorkerThreads).
constexpr int kOutstandingMax = 48;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Sagas by state, over every page of ListSagas.
std::map<v1::SagaState, int> CountSagas(MeshProcesses& mesh) {
  std::map<v1::SagaState, int> counts;
  v1::ListSagasRequest request;
  request.set_page_size(500);
  while (true) {
    v1::ListSagasResponse page;
    grpc::Status status = mesh.ops().ListSagas(MeshProcesses::Context().get(), request, &page);
    if (!status.ok()) return {};  // The coordinator is not serving yet.
    for (const v1::Saga& saga : page.sagas()) ++counts[saga.state()];
    if (page.next_page_token().empty()) return counts;
    request.set_page_token(page.next_page_token());
  }
}

int Active(const std::map<v1::SagaState, int>& counts) {
  int active = 0;
  for (const auto& [state, count] : counts) {
    if (state != v1::SAGA_STATE_COMPLETED && state != v1::SAGA_STATE_CANCELLED) active += count;
  }
  return active;
}

int Total(const std::map<v1::SagaState, int>& counts) {
  int total = 0;
  for (const auto& [state, count] : counts) total += count;
  return total;
}

struct ExchangeCall {
  grpc::ClientContext context;
  v1::ExchangeRequest request;
  v1::ExchangeResponse response;
};

TEST_CASE("sagas in flight when the coordinator is killed all end soon after it restarts",
          "[bench][recovery]") {
  const char* count_text = std::getenv("FXMESH_RECOVERY_SAGAS");
  const int sagas = count_text != nullptr ? std::atoi(count_text) : 1'000;
  REQUIRE(sagas > 0);
  MeshProcesses mesh;
  for (int c = 0; c < kCustomers; ++c) {
    mesh.Fund(mesh.krw(), absl::StrCat("c", c, "-krw"), "KRW", 1'000'000'000'000);
    mesh.Fund(mesh.fx(), absl::StrCat("c", c, "-usd"), "USD", 0);
  }
  // Production's recovery pace (the test default is faster), no daily limit or rate limit for
  // these few busy customers, and every saga reported stuck only long after the measurement.
  const std::vector<std::string> flags = {"--recovery_interval_ms=1000",
                                          "--daily_limit_krw=1000000000000000",
                                          "--customer_rate_per_second=0"};
  mesh.StartCoordinator(flags);

  std::vector<std::string> quotes;
  for (int n = 0; n < sagas; ++n) {
    v1::GetQuoteRequest request;
    request.set_sell_currency("KRW");
    request.set_buy_currency("USD");
    request.set_buy_amount_minor(100 + n % 50);
    request.set_customer_id(absl::StrCat("c", n % kCustomers));
    v1::Quote quote;
    REQUIRE(mesh.exchange().GetQuote(MeshProcesses::Context().get(), request, &quote).ok());
    quotes.push_back(quote.quote_id());
  }

  // The fx ledger stops answering: every saga's fx Try waits, and the sagas pile up in flight.
  mesh.ledger_process("fx").Signal(SIGSTOP);
  std::vector<std::unique_ptr<ExchangeCall>> calls;
  absl::Mutex mu;
  int answered = 0;
  for (int n = 0; n < sagas; ++n) {
    {
      // A call the coordinator dequeues after its deadline is refused before it makes a saga, so
      // fewer are outstanding than it has workers.
      absl::MutexLock lock(&mu);
      auto worker_free = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return n - answered < kOutstandingMax;
      };
      mu.Await(absl::Condition(&worker_free));
    }
    auto& call = calls.emplace_back(std::make_unique<ExchangeCall>());
    const std::string customer = absl::StrCat("c", n % kCustomers);
    call->request.set_idempotency_key(absl::StrCat("recovery-", n));
    call->request.set_customer_id(customer);
    call->request.set_source_account_id(customer + "-krw");
    call->request.set_target_account_id(customer + "-usd");
    call->request.set_quote_id(quotes[n]);
    call->context.set_deadline(std::chrono::system_clock::now() + kExchangeDeadline);
    mesh.exchange().async()->Exchange(&call->context, &call->request, &call->response,
                                      [&](grpc::Status) {
                                        absl::MutexLock lock(&mu);
                                        ++answered;
                                      });
  }
  const Clock::time_point started = Clock::now();
  while (Total(CountSagas(mesh)) < sagas && SecondsSince(started) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::map<v1::SagaState, int> before_kill = CountSagas(mesh);
  const int in_flight = Active(before_kill);

  mesh.coordinator().Signal(SIGKILL);
  const int exit_code = mesh.coordinator().WaitForExit();
  {
    // Every exchange call has ended (answered PENDING, or cut off by the kill) before anything
    // here can fail: their callbacks use `mu` and `answered`.
    absl::MutexLock lock(&mu);
    auto all_answered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return answered == sagas; };
    mu.Await(absl::Condition(&all_answered));
  }
  INFO("sagas created " << Total(before_kill) << ", in flight " << in_flight);
  REQUIRE(Total(before_kill) == sagas);
  REQUIRE(exit_code == 128 + SIGKILL);
  mesh.ledger_process("fx").Signal(SIGCONT);

  const Clock::time_point restart = Clock::now();
  mesh.StartCoordinator(flags);
  const double serving_s = SecondsSince(restart);
  std::map<v1::SagaState, int> counts = CountSagas(mesh);
  while (Active(counts) > 0 && SecondsSince(restart) < 120) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    counts = CountSagas(mesh);
  }
  const double terminal_s = SecondsSince(restart);
  REQUIRE(Active(counts) == 0);
  mesh.CheckLedgers();

  const std::string json = absl::StrCat(
      "{\"sagas\": ", sagas, ", \"in_flight_at_kill\": ", in_flight,
      ", \"restart_to_serving_s\": ", serving_s, ", \"restart_to_all_terminal_s\": ", terminal_s,
      ", \"completed\": ", counts[v1::SAGA_STATE_COMPLETED],
      ", \"cancelled\": ", counts[v1::SAGA_STATE_CANCELLED], "}");
  std::printf("recovery: %s\n", json.c_str());
  if (const char* out = std::getenv("FXMESH_RECOVERY_JSON")) std::ofstream(out) << json << "\n";
}

}  // namespace
}  // namespace fxmesh::testing
