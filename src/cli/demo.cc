#include "cli/demo.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/money.h"
#include "fxmesh/v1/exchange.grpc.pb.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ops.grpc.pb.h"

namespace fxmesh::cli {
namespace {

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

std::string Money(int64_t minor, const std::string& code) {
  absl::StatusOr<Currency> currency = LookupCurrency(code);
  return currency.ok() ? FormatMoney(minor, *currency) : absl::StrCat(minor, " ", code);
}

class Demo {
 public:
  explicit Demo(const DemoOptions& options)
      : customer_(absl::StrCat("demo-", NewSagaId().substr(0, 6))),
        exchange_(v1::ExchangeService::NewStub(Channel(options.coordinator))),
        ops_(v1::OpsService::NewStub(Channel(options.coordinator))),
        krw_(v1::LedgerService::NewStub(Channel(options.krw_ledger))),
        fx_(v1::LedgerService::NewStub(Channel(options.fx_ledger))) {}

  bool Run() {
    Step("1. A customer, " + customer_ +
         ", opens a KRW and a USD account and deposits 1,000,000 KRW");
    if (!Open(*krw_, Account("krw"), "KRW") || !Open(*fx_, Account("usd"), "USD") ||
        !Deposit(*krw_, Account("krw"), 1'000'000, "KRW") ||
        // The bank's own money to sell: USD and KRW positions.
        !Deposit(*fx_, "position:USD", 1'000'000, "USD") ||
        !Deposit(*krw_, "position:KRW", 10'000'000, "KRW")) {
      return false;
    }
    Balances();

    Step("2. A quote: how much KRW for 100.00 USD? It holds for 30 s.");
    std::optional<v1::Quote> quote = Quote("KRW", "USD", 0, 10'000);
    if (!quote) return false;
    Say(absl::StrCat("   quote ", quote->quote_id(), ": pay ",
                     Money(quote->sell().amount_minor(), "KRW"), " for ",
                     Money(quote->buy().amount_minor(), "USD")));

    Step("3. Exchange on it: Try both legs, decide, Confirm both legs.");
    std::optional<v1::Exchange> done = Exchange(*quote, Account("krw"), Account("usd"));
    if (!done || done->status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    Balances();

    Step("4. And back: sell 50.00 USD for KRW.");
    quote = Quote("USD", "KRW", 5'000, 0);
    if (!quote) return false;
    done = Exchange(*quote, Account("usd"), Account("krw"));
    if (!done || done->status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    Balances();

    Step("5. A failing exchange: 5,000,000 KRW, more than the customer has.");
    quote = Quote("KRW", "USD", 5'000'000, 0);
    if (!quote) return false;
    done = Exchange(*quote, Account("krw"), Account("usd"));
    if (!done || done->status() != v1::EXCHANGE_STATUS_FAILED) return Failed("did not fail");
    Say("   the FX leg's Try had reserved the bank's USD: the relay now cancels both legs...");
    if (!AwaitState(done->saga_id(), v1::SAGA_STATE_CANCELLED)) return false;
    History(done->saga_id());
    Balances();

    Step("6. An operator pauses the FX ledger for maintenance: new exchanges are refused at once,");
    Say("   with nothing reserved, and the customer is told to retry with the same key.");
    if (!Pause(true)) return false;
    quote = Quote("KRW", "USD", 100'000, 0);
    if (!quote) return false;
    v1::ExchangeRequest request = Request(*quote, Account("krw"), Account("usd"));
    v1::ExchangeResponse refused;
    grpc::Status paused = exchange_->Exchange(Context().get(), request, &refused);
    if (paused.error_code() != grpc::StatusCode::UNAVAILABLE) return Failed("was not refused");
    Say(absl::StrCat("   refused: ", paused.error_message()));
    if (!Pause(false)) return false;
    Say("   the same request, with the same key, now goes through:");
    done = Send(request, absl::Seconds(10));
    if (!done || done->status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    Balances();

    Step("7. A second operator audits what happened: every operator action is in the audit log.");
    v1::ListAuditRequest audit;
    v1::ListAuditResponse entries;
    if (!Ok(ops_->ListAudit(Context().get(), audit, &entries), "audit")) return false;
    for (int i = std::max(0, entries.entries_size() - 2); i < entries.entries_size(); ++i) {
      const v1::AuditEntry& entry = entries.entries(i);
      Say(absl::StrCat("   ", entry.operator_(), " ", entry.action(), ": ", entry.detail()));
    }

    Step("Done. Next: fxmesh sagas, fxmesh history <saga>, fxmesh trace <saga>, fxmesh alerts.");
    return true;
  }

 private:
  static std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
    return grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  }
  std::string Account(const std::string& kind) const { return absl::StrCat(customer_, "-", kind); }
  static void Step(const std::string& text) { printf("\n%s\n", text.c_str()); }
  static void Say(const std::string& text) { printf("%s\n", text.c_str()); }
  static bool Failed(const std::string& why) {
    fprintf(stderr, "demo: %s\n", why.c_str());
    return false;
  }
  static bool Ok(const grpc::Status& status, const std::string& what) {
    if (status.ok()) return true;
    return Failed(absl::StrCat(what, ": ", status.error_message(),
                               " (is the mesh running? start it with `fxmesh dev`)"));
  }

  bool Open(v1::LedgerService::Stub& ledger, const std::string& account, const std::string& code) {
    v1::OpenAccountRequest request;
    request.set_account_id(account);
    request.set_currency(code);
    request.set_owner(customer_);
    v1::AccountResponse response;
    return Ok(ledger.OpenAccount(Context().get(), request, &response), "open " + account);
  }
  bool Deposit(v1::LedgerService::Stub& ledger, const std::string& account, int64_t minor,
               const std::string& code) {
    v1::ExternalTransferRequest request;
    request.set_request_id(absl::StrCat(customer_, "-deposit-", account));
    request.set_account_id(account);
    request.mutable_amount()->set_amount_minor(minor);
    request.mutable_amount()->set_currency(code);
    v1::ExternalTransferResponse response;
    return Ok(ledger.Deposit(Context().get(), request, &response), "deposit into " + account);
  }
  void Balances() {
    auto available = [&](v1::LedgerService::Stub& ledger, const std::string& account) {
      v1::GetAccountRequest request;
      request.set_account_id(account);
      v1::Account found;
      return ledger.GetAccount(Context().get(), request, &found).ok() ? found.available_minor() : 0;
    };
    Say(absl::StrCat("   balances: ", Money(available(*krw_, Account("krw")), "KRW"), "  |  ",
                     Money(available(*fx_, Account("usd")), "USD")));
  }
  std::optional<v1::Quote> Quote(const std::string& sell, const std::string& buy,
                                 int64_t sell_minor, int64_t buy_minor) {
    v1::GetQuoteRequest request;
    request.set_sell_currency(sell);
    request.set_buy_currency(buy);
    if (sell_minor > 0) request.set_sell_amount_minor(sell_minor);
    if (buy_minor > 0) request.set_buy_amount_minor(buy_minor);
    v1::Quote quote;
    if (!Ok(exchange_->GetQuote(Context().get(), request, &quote), "quote")) return std::nullopt;
    return quote;
  }
  v1::ExchangeRequest Request(const v1::Quote& quote, const std::string& from,
                              const std::string& to) const {
    v1::ExchangeRequest request;
    request.set_idempotency_key(absl::StrCat(customer_, "-", NewSagaId().substr(0, 8)));
    request.set_customer_id(customer_);
    request.set_source_account_id(from);
    request.set_target_account_id(to);
    request.set_quote_id(quote.quote_id());
    return request;
  }
  std::optional<v1::Exchange> Exchange(const v1::Quote& quote, const std::string& from,
                                       const std::string& to) {
    return Send(Request(quote, from, to), absl::Seconds(10));
  }
  std::optional<v1::Exchange> Send(const v1::ExchangeRequest& request, absl::Duration wait) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + wait));
    v1::ExchangeResponse response;
    if (!Ok(exchange_->Exchange(&context, request, &response), "exchange")) return std::nullopt;
    const v1::Exchange& exchange = response.exchange();
    Say(absl::StrCat("   saga ", exchange.saga_id(), ": ",
                     v1::ExchangeStatus_Name(exchange.status()),
                     exchange.failure_reason().empty() ? "" : " — " + exchange.failure_reason()));
    return exchange;
  }
  bool AwaitState(const std::string& saga_id, v1::SagaState state) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    v1::GetExchangeRequest request;
    request.set_saga_id(saga_id);
    v1::Exchange found;
    while (absl::Now() < give_up) {
      if (exchange_->GetExchange(Context().get(), request, &found).ok() && found.state() == state)
        return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return Failed(absl::StrCat("saga ", saga_id, " did not reach ", v1::SagaState_Name(state),
                               " within 30 s"));
  }
  void History(const std::string& saga_id) {
    v1::GetSagaHistoryRequest request;
    request.set_saga_id(saga_id);
    v1::SagaHistory history;
    if (!ops_->GetSagaHistory(Context().get(), request, &history).ok()) return;
    Say("   its step log:");
    for (const v1::Step& step : history.steps())
      Say(absl::StrCat("     ", v1::SagaState_Name(step.to_state()).substr(11), "  ",
                       step.detail()));
  }
  bool Pause(bool paused) {
    v1::Participant participant;
    if (paused) {
      v1::PauseParticipantRequest request;
      request.set_participant("fx-ledger");
      request.set_operator_("ops-kim");
      request.set_reason("demo: maintenance");
      return Ok(ops_->PauseParticipant(Context().get(), request, &participant), "pause");
    }
    v1::ResumeParticipantRequest request;
    request.set_participant("fx-ledger");
    request.set_operator_("ops-kim");
    if (!Ok(ops_->ResumeParticipant(Context().get(), request, &participant), "resume"))
      return false;
    Say("   ops-kim resumes the FX ledger");
    return true;
  }

  const std::string customer_;
  std::unique_ptr<v1::ExchangeService::Stub> exchange_;
  std::unique_ptr<v1::OpsService::Stub> ops_;
  std::unique_ptr<v1::LedgerService::Stub> krw_, fx_;
};

}  // namespace

int RunDemo(const DemoOptions& options) { return Demo(options).Run() ? 0 : 1; }

}  // namespace fxmesh::cli
