#include "cli/demo.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/money.h"
#include "common/status_macros.h"

namespace fxmesh::cli {
namespace {

std::string Money(int64_t minor, const std::string& code) {
  absl::StatusOr<Currency> currency = LookupCurrency(code);
  return currency.ok() ? FormatMoney(minor, *currency) : absl::StrCat(minor, " ", code);
}

class Demo {
 public:
  explicit Demo(Session& session)
      : session_(session), customer_(absl::StrCat("demo-", NewSagaId().substr(0, 6))) {}

  absl::StatusOr<ExitCode> Run() {
    Step(absl::StrCat("1. A customer, ", customer_,
                      ", opens a KRW and a USD account and deposits 1,000,000 KRW"));
    RETURN_IF_ERROR(Open(Service::kKrwLedger, Account("krw"), "KRW"));
    RETURN_IF_ERROR(Open(Service::kFxLedger, Account("usd"), "USD"));
    RETURN_IF_ERROR(Deposit(Service::kKrwLedger, Account("krw"), 1'000'000, "KRW"));
    // The bank's own money to sell: USD and KRW positions.
    RETURN_IF_ERROR(Deposit(Service::kFxLedger, "position:USD", 1'000'000, "USD"));
    RETURN_IF_ERROR(Deposit(Service::kKrwLedger, "position:KRW", 10'000'000, "KRW"));
    RETURN_IF_ERROR(Balances());

    Step("2. A quote: how much KRW for 100.00 USD? It holds for 30 s.");
    ASSIGN_OR_RETURN(v1::Quote quote, Quote("KRW", "USD", 0, 10'000));
    Say(absl::StrCat("   quote ", quote.quote_id(), ": pay ",
                     Money(quote.sell().amount_minor(), "KRW"), " for ",
                     Money(quote.buy().amount_minor(), "USD")));

    Step("3. Exchange on it: Try both legs, decide, Confirm both legs.");
    ASSIGN_OR_RETURN(v1::Exchange done, Send(Request(quote, Account("krw"), Account("usd"))));
    if (done.status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    RETURN_IF_ERROR(Balances());

    Step("4. And back: sell 50.00 USD for KRW.");
    ASSIGN_OR_RETURN(quote, Quote("USD", "KRW", 5'000, 0));
    ASSIGN_OR_RETURN(done, Send(Request(quote, Account("usd"), Account("krw"))));
    if (done.status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    RETURN_IF_ERROR(Balances());

    Step("5. A failing exchange: 5,000,000 KRW, more than the customer has.");
    ASSIGN_OR_RETURN(quote, Quote("KRW", "USD", 5'000'000, 0));
    ASSIGN_OR_RETURN(done, Send(Request(quote, Account("krw"), Account("usd"))));
    if (done.status() != v1::EXCHANGE_STATUS_FAILED) return Failed("did not fail");
    Say("   the FX leg's Try had reserved the bank's USD: the relay now cancels both legs...");
    ASSIGN_OR_RETURN(bool cancelled, AwaitState(done.saga_id(), v1::SAGA_STATE_CANCELLED));
    if (!cancelled) return Failed("the failed exchange did not end CANCELLED within 30 s");
    RETURN_IF_ERROR(History(done.saga_id()));
    RETURN_IF_ERROR(Balances());

    Step("6. An operator pauses the FX ledger for maintenance: new exchanges are refused at once,");
    Say("   with nothing reserved, and the customer is told to retry with the same key.");
    RETURN_IF_ERROR(Pause(true));
    ASSIGN_OR_RETURN(quote, Quote("KRW", "USD", 100'000, 0));
    const v1::ExchangeRequest request = Request(quote, Account("krw"), Account("usd"));
    absl::StatusOr<v1::Exchange> refused = Send(request);
    if (!absl::IsUnavailable(refused.status())) return Failed("was not refused");
    Say(absl::StrCat("   refused: ", refused.status().message()));
    RETURN_IF_ERROR(Pause(false));
    Say("   the same request, with the same key, now goes through:");
    ASSIGN_OR_RETURN(done, Send(request));
    if (done.status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    RETURN_IF_ERROR(Balances());

    Step("7. A second operator audits what happened: every operator action is in the audit log.");
    v1::ListAuditResponse entries;
    RETURN_IF_ERROR(session_.Call(
        Service::kCoordinator, "reading the audit log", [&](grpc::ClientContext& context) {
          return session_.ops().ListAudit(&context, v1::ListAuditRequest(), &entries);
        }));
    for (int i = std::max(0, entries.entries_size() - 2); i < entries.entries_size(); ++i) {
      const v1::AuditEntry& entry = entries.entries(i);
      Say(absl::StrCat("   ", entry.operator_(), " ", entry.action(), ": ", entry.detail()));
    }

    Step("Done. Next: fxmesh sagas, fxmesh history <saga>, fxmesh trace <saga>, fxmesh alerts.");
    return ExitCode::kOk;
  }

 private:
  std::string Account(const std::string& kind) const { return absl::StrCat(customer_, "-", kind); }
  void Step(const std::string& text) { session_.printer().Text(absl::StrCat("\n", text, "\n")); }
  void Say(const std::string& text) { session_.printer().Text(absl::StrCat(text, "\n")); }
  ExitCode Failed(const std::string& why) {
    session_.printer().Error(absl::StrCat("demo: ", why));
    return ExitCode::kFailed;
  }

  absl::Status Open(Service ledger, const std::string& account, const std::string& code) {
    v1::OpenAccountRequest request;
    request.set_account_id(account);
    request.set_currency(code);
    request.set_owner(customer_);
    v1::AccountResponse response;
    return session_.Call(ledger, "opening an account", [&](grpc::ClientContext& context) {
      return session_.ledger(ledger).OpenAccount(&context, request, &response);
    });
  }
  absl::Status Deposit(Service ledger, const std::string& account, int64_t minor,
                       const std::string& code) {
    v1::ExternalTransferRequest request;
    request.set_request_id(absl::StrCat(customer_, "-deposit-", account));
    request.set_account_id(account);
    request.mutable_amount()->set_amount_minor(minor);
    request.mutable_amount()->set_currency(code);
    v1::ExternalTransferResponse response;
    return session_.Call(ledger, "depositing", [&](grpc::ClientContext& context) {
      return session_.ledger(ledger).Deposit(&context, request, &response);
    });
  }
  absl::StatusOr<int64_t> Available(Service ledger, const std::string& account) {
    v1::GetAccountRequest request;
    request.set_account_id(account);
    v1::Account found;
    RETURN_IF_ERROR(session_.Call(ledger, "reading an account", [&](grpc::ClientContext& context) {
      return session_.ledger(ledger).GetAccount(&context, request, &found);
    }));
    return found.available_minor();
  }
  absl::Status Balances() {
    ASSIGN_OR_RETURN(int64_t krw, Available(Service::kKrwLedger, Account("krw")));
    ASSIGN_OR_RETURN(int64_t usd, Available(Service::kFxLedger, Account("usd")));
    Say(absl::StrCat("   balances: ", Money(krw, "KRW"), "  |  ", Money(usd, "USD")));
    return absl::OkStatus();
  }
  absl::StatusOr<v1::Quote> Quote(const std::string& sell, const std::string& buy,
                                  int64_t sell_minor, int64_t buy_minor) {
    v1::GetQuoteRequest request;
    request.set_sell_currency(sell);
    request.set_buy_currency(buy);
    if (sell_minor > 0) request.set_sell_amount_minor(sell_minor);
    if (buy_minor > 0) request.set_buy_amount_minor(buy_minor);
    v1::Quote quote;
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "quoting", [&](grpc::ClientContext& context) {
          return session_.exchange().GetQuote(&context, request, &quote);
        }));
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
  absl::StatusOr<v1::Exchange> Send(const v1::ExchangeRequest& request) {
    v1::ExchangeResponse response;
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "exchanging", [&](grpc::ClientContext& context) {
          return session_.exchange().Exchange(&context, request, &response);
        }));
    const v1::Exchange& exchange = response.exchange();
    Say(absl::StrCat("   saga ", exchange.saga_id(), ": ",
                     v1::ExchangeStatus_Name(exchange.status()),
                     exchange.failure_reason().empty() ? "" : " — " + exchange.failure_reason()));
    return exchange;
  }
  // Whether the saga reached `state` within 30 s.
  absl::StatusOr<bool> AwaitState(const std::string& saga_id, v1::SagaState state) {
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    v1::GetExchangeRequest request;
    request.set_saga_id(saga_id);
    while (absl::Now() < give_up) {
      v1::Exchange found;
      RETURN_IF_ERROR(session_.Call(
          Service::kCoordinator, "waiting for the saga", [&](grpc::ClientContext& context) {
            return session_.exchange().GetExchange(&context, request, &found);
          }));
      if (found.state() == state) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  absl::Status History(const std::string& saga_id) {
    v1::GetSagaHistoryRequest request;
    request.set_saga_id(saga_id);
    v1::SagaHistory history;
    RETURN_IF_ERROR(session_.Call(
        Service::kCoordinator, "reading the saga's history", [&](grpc::ClientContext& context) {
          return session_.ops().GetSagaHistory(&context, request, &history);
        }));
    Say("   its step log:");
    for (const v1::Step& step : history.steps()) {
      Say(absl::StrCat("     ", v1::SagaState_Name(step.to_state()).substr(11), "  ",
                       step.detail()));
    }
    return absl::OkStatus();
  }
  absl::Status Pause(bool paused) {
    v1::Participant participant;
    if (paused) {
      v1::PauseParticipantRequest request;
      request.set_participant("fx-ledger");
      request.set_operator_("ops-kim");
      request.set_reason("demo: maintenance");
      return session_.Call(Service::kCoordinator, "pausing", [&](grpc::ClientContext& context) {
        return session_.ops().PauseParticipant(&context, request, &participant);
      });
    }
    v1::ResumeParticipantRequest request;
    request.set_participant("fx-ledger");
    request.set_operator_("ops-kim");
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "resuming", [&](grpc::ClientContext& context) {
          return session_.ops().ResumeParticipant(&context, request, &participant);
        }));
    Say("   ops-kim resumes the FX ledger");
    return absl::OkStatus();
  }

  Session& session_;
  const std::string customer_;
};

}  // namespace

absl::StatusOr<ExitCode> RunDemo(Session& session) { return Demo(session).Run(); }

}  // namespace fxmesh::cli
