#include "tests/chaos/workload.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "tests/chaos/checker.h"

namespace fxmesh::chaos {
namespace {

// The mix of operations, in percent: exchanges, resubmissions of an earlier request, and
// snapshot reads of both ledgers.
constexpr int kExchangePercent = 70, kResubmitPercent = 5;
// A customer starts with this much in each account; the bank's positions with far more.
constexpr int64_t kCustomerKrwMinor = 100'000'000;  // 100 M KRW
constexpr int64_t kCustomerUsdMinor = 10'000'000;   // 100,000.00 USD
constexpr int64_t kPositionKrwMinor = 10'000'000'000'000;
constexpr int64_t kPositionUsdMinor = 10'000'000'000;
// Exchange sizes, and how often a client asks for far more than any customer has (those fail
// with INSUFFICIENT_FUNDS and are compensated, which the run should see too).
constexpr int64_t kSellKrwMinorMin = 10'000, kSellKrwMinorMax = 2'000'000;
constexpr int64_t kSellUsdMinorMin = 1'000, kSellUsdMinorMax = 150'000;
constexpr int kTooLargePercent = 3;
// Clients are impatient: an answer is awaited at most this long, so many answers are PENDING or
// DEADLINE_EXCEEDED and the saga goes on without the client.
constexpr int64_t kDeadlineMsMin = 300, kDeadlineMsMax = 3'000;
constexpr absl::Duration kReadTimeout = absl::Seconds(2);
// A client told UNAVAILABLE waits this long before its next call, as a real client backs off,
// rather than spinning on a coordinator that is down.
constexpr absl::Duration kUnavailableBackoff = absl::Milliseconds(100);
constexpr absl::Duration kSetupTimeout = absl::Seconds(10);

int64_t Between(std::mt19937_64& draw, int64_t low, int64_t high) {
  return low + static_cast<int64_t>(draw() % static_cast<uint64_t>(high - low + 1));
}

absl::Status Check(const grpc::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", status.error_message()));
}

}  // namespace

Workload::Workload(ChaosMesh& mesh, WorkloadOptions options)
    : mesh_(mesh), options_(std::move(options)) {
  for (int client = 0; client < options_.clients; ++client)
    coordinator_of_.push_back(static_cast<size_t>(client) % mesh_.coordinators());
  for (int i = 0; i < options_.customers; ++i) {
    const std::string id = absl::StrCat("chaos-c", i);
    customers_.push_back({id, absl::StrCat(id, "-KRW"), absl::StrCat(id, "-USD")});
  }
}

std::map<std::string, std::vector<std::string>> Workload::Accounts() const {
  std::map<std::string, std::vector<std::string>> accounts = {{"krw", {"position:KRW"}},
                                                              {"fx", {"position:USD"}}};
  for (const Customer& customer : customers_) {
    accounts["krw"].push_back(customer.krw_account);
    accounts["fx"].push_back(customer.usd_account);
  }
  return accounts;
}

absl::Status Workload::Setup() {
  auto open_and_fund = [&](const std::string& ledger, const std::string& account,
                           const std::string& owner, const std::string& currency,
                           int64_t amount) -> absl::Status {
    if (!owner.empty()) {
      v1::OpenAccountRequest open;
      open.set_account_id(account);
      open.set_currency(currency);
      open.set_owner(owner);
      v1::AccountResponse opened;
      RETURN_IF_ERROR(
          Check(mesh_.ledger(ledger).OpenAccount(ContextWithin(kSetupTimeout).get(), open, &opened),
                absl::StrCat("opening ", account)));
    }
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id(absl::StrCat("chaos-fund-", account));
    deposit.set_account_id(account);
    deposit.mutable_amount()->set_amount_minor(amount);
    deposit.mutable_amount()->set_currency(currency);
    v1::ExternalTransferResponse deposited;
    RETURN_IF_ERROR(
        Check(mesh_.ledger(ledger).Deposit(ContextWithin(kSetupTimeout).get(), deposit, &deposited),
              absl::StrCat("funding ", account)));
    if (deposited.outcome() != v1::OUTCOME_APPLIED) {
      return absl::InternalError(absl::StrCat("funding ", account, ": ", deposited.detail()));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(open_and_fund("krw", "position:KRW", "", "KRW", kPositionKrwMinor));
  RETURN_IF_ERROR(open_and_fund("fx", "position:USD", "", "USD", kPositionUsdMinor));
  for (const Customer& customer : customers_) {
    RETURN_IF_ERROR(
        open_and_fund("krw", customer.krw_account, customer.id, "KRW", kCustomerKrwMinor));
    RETURN_IF_ERROR(
        open_and_fund("fx", customer.usd_account, customer.id, "USD", kCustomerUsdMinor));
  }
  return absl::OkStatus();
}

void Workload::Run(absl::Time start) {
  std::vector<std::thread> clients;
  for (int i = 0; i < options_.clients; ++i) {
    clients.emplace_back([this, i, start] { Client(i, start); });
  }
  for (std::thread& client : clients) client.join();
}

v1::ExchangeService::Stub& Workload::CoordinatorOf(int client) {
  return mesh_.exchange(coordinator_of_[client]);
}

void Workload::FailOver(int client) {
  coordinator_of_[client] = (coordinator_of_[client] + 1) % mesh_.coordinators();
}

History Workload::TakeHistory() {
  absl::MutexLock lock(&mu_);
  return std::move(history_);
}

void Workload::Client(int index, absl::Time start) {
  // Each client draws from its own stream so the mix does not depend on thread timing.
  std::mt19937_64 draw(options_.seed * 1'000 + static_cast<uint64_t>(index));
  const absl::Time end = start + options_.duration;
  for (int64_t serial = 0; absl::Now() < end; ++serial) {
    const int64_t roll = Between(draw, 0, 99);
    if (roll < kExchangePercent) {
      Exchange(index, draw, start, serial);
    } else if (roll < kExchangePercent + kResubmitPercent) {
      Resubmit(index, draw, start);
    } else {
      Snapshot(draw);
    }
  }
}

void Workload::Exchange(int client, std::mt19937_64& draw, absl::Time start, int64_t serial) {
  const Customer& customer = customers_[Between(draw, 0, options_.customers - 1)];
  const bool sells_krw = Between(draw, 0, 1) == 0;
  const bool too_large = Between(draw, 0, 99) < kTooLargePercent;
  v1::GetQuoteRequest ask;
  ask.set_sell_currency(sells_krw ? "KRW" : "USD");
  ask.set_buy_currency(sells_krw ? "USD" : "KRW");
  if (sells_krw) {
    ask.set_sell_amount_minor(too_large ? 10 * kCustomerKrwMinor
                                        : Between(draw, kSellKrwMinorMin, kSellKrwMinorMax));
  } else {
    ask.set_sell_amount_minor(too_large ? 10 * kCustomerUsdMinor
                                        : Between(draw, kSellUsdMinorMin, kSellUsdMinorMax));
  }
  ExchangeCall call;
  call.client = client;
  std::unique_ptr<grpc::ClientContext> quoting = ContextWithin(kReadTimeout);
  mesh_.tls().AddCustomerToken(*quoting, customer.id);
  if (!CoordinatorOf(client).GetQuote(quoting.get(), ask, &call.quote).ok()) {
    {
      absl::MutexLock lock(&mu_);
      ++history_.quotes_failed;
    }
    if (mesh_.coordinators() > 1) FailOver(client);
    absl::SleepFor(kUnavailableBackoff);
    return;
  }
  call.request.set_idempotency_key(absl::StrCat("chaos-", options_.seed, "-", client, "-", serial));
  call.request.set_customer_id(customer.id);
  call.request.set_source_account_id(sells_krw ? customer.krw_account : customer.usd_account);
  call.request.set_target_account_id(sells_krw ? customer.usd_account : customer.krw_account);
  call.request.set_quote_id(call.quote.quote_id());
  Send(std::move(call), draw, start);
}

void Workload::Resubmit(int client, std::mt19937_64& draw, absl::Time start) {
  ExchangeCall call;
  {
    absl::MutexLock lock(&mu_);
    if (history_.exchanges.empty()) return;
    const ExchangeCall& earlier =
        history_.exchanges[Between(draw, 0, static_cast<int64_t>(history_.exchanges.size()) - 1)];
    call.request = earlier.request;
    call.quote = earlier.quote;
  }
  call.client = client;
  call.resubmission = true;
  Send(std::move(call), draw, start);
}

void Workload::Send(ExchangeCall call, std::mt19937_64& draw, absl::Time start) {
  // Without replicas there is nowhere to fail over to: one call, as the SQLite runs always made.
  const bool may_fail_over = mesh_.coordinators() > 1;
  while (true) {
    const absl::Duration deadline =
        absl::Milliseconds(Between(draw, kDeadlineMsMin, kDeadlineMsMax));
    v1::ExchangeResponse response;
    call.coordinator = static_cast<int>(coordinator_of_[call.client]);
    call.sent = absl::Now() - start;
    std::unique_ptr<grpc::ClientContext> context = ContextWithin(deadline);
    mesh_.tls().AddCustomerToken(*context, call.request.customer_id());
    const grpc::Status status =
        CoordinatorOf(call.client).Exchange(context.get(), call.request, &response);
    call.answered = absl::Now() - start;
    call.code = status.error_code();
    call.error = status.error_message();
    if (status.ok()) call.answer = response.exchange();
    const bool unknown = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    const bool again = may_fail_over && unknown && !call.failover;
    ExchangeCall next;
    if (again) {
      next.client = call.client;
      next.request = call.request;
      next.quote = call.quote;
      next.failover = true;
    }
    {
      absl::MutexLock lock(&mu_);
      history_.exchanges.push_back(std::move(call));
    }
    if (!again) {
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        absl::SleepFor(kUnavailableBackoff);
      }
      return;
    }
    // Once per call: a client whose both replicas fail backs off like any other.
    FailOver(next.client);
    call = std::move(next);
  }
}

void Workload::Snapshot(std::mt19937_64& draw) {
  const Customer& customer = customers_[Between(draw, 0, options_.customers - 1)];
  // Reads alternate over the ledgers' replicas (with one replica, always that one).
  const size_t replica = snapshot_serial_++;
  std::vector<Violation> violations;
  bool failed = false;
  for (const auto& [ledger, account] :
       {std::pair<std::string, std::string>{"krw", customer.krw_account},
        {"fx", customer.usd_account}}) {
    v1::BalanceSheet sheet;
    if (!mesh_.ledger_replica(ledger, replica)
             .GetBalanceSheet(ContextWithin(kReadTimeout).get(), v1::GetBalanceSheetRequest(),
                              &sheet)
             .ok()) {
      failed = true;
      continue;
    }
    for (Violation& violation : CheckBalanceSheet(absl::StrCat(ledger, " snapshot"), sheet)) {
      violations.push_back(std::move(violation));
    }
    v1::GetAccountRequest get;
    get.set_account_id(account);
    v1::Account found;
    if (!mesh_.ledger_replica(ledger, replica)
             .GetAccount(ContextWithin(kReadTimeout).get(), get, &found)
             .ok()) {
      failed = true;
      continue;
    }
    if (found.available_minor() < 0 || found.held_minor() < 0 || found.incoming_minor() < 0) {
      violations.push_back({"2. no negative balance", "",
                            absl::StrCat(ledger, " snapshot: ", found.ShortDebugString())});
    }
  }
  absl::MutexLock lock(&mu_);
  ++history_.snapshots;
  if (failed) ++history_.snapshots_failed;
  for (Violation& violation : violations) history_.snapshot_violations.push_back(violation);
}

}  // namespace fxmesh::chaos
