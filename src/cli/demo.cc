#include "cli/demo.h"

#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/views.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/money.h"
#include "common/proto_time.h"
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
      : session_(session), customer_(absl::StrCat("demo-", NewSagaId().substr(0, 6))) {
    // Over TLS, every exchange call carries this customer's token, as a gateway's would.
    session_.ActFor(customer_);
  }

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
    // On the coordinator's clock: everything operators do in this run is audited after it.
    const google::protobuf::Timestamp run_started = quote.created_at();
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
    ASSIGN_OR_RETURN(v1::Exchange settled, AwaitState(done.saga_id(), v1::SAGA_STATE_CANCELLED));
    if (settled.state() != v1::SAGA_STATE_CANCELLED) {
      return Failed("the failed exchange did not end CANCELLED within 30 s");
    }
    RETURN_IF_ERROR(History(done.saga_id(), /*with_branches=*/false).status());
    RETURN_IF_ERROR(Balances());

    Step("6. An operator pauses the FX ledger for maintenance: new exchanges are refused at once,");
    Say("   with nothing reserved, and the customer is told to retry with the same key.");
    RETURN_IF_ERROR(Pause(true));
    v1::ExchangeRequest request;
    ASSIGN_OR_RETURN(ExitCode paused, ThenUndo([&] { return RefusedWhilePaused(request); },
                                               [&] { return Pause(false); }));
    if (paused != ExitCode::kOk) return paused;
    Say("   the same request, with the same key, now goes through:");
    ASSIGN_OR_RETURN(done, Send(request));
    if (done.status() != v1::EXCHANGE_STATUS_COMPLETED) return Failed("not completed");
    RETURN_IF_ERROR(Balances());

    Step("7. A stuck exchange, resolved by two operators.");
    ASSIGN_OR_RETURN(ExitCode stuck, StuckExchange());
    if (stuck != ExitCode::kOk) return stuck;

    Step("8. An auditor reads what happened: every operator action is in the audit log.");
    ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, AuditSince(run_started));
    for (const v1::AuditEntry& entry : entries) {
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
  // Runs `story`, then `undo` whatever the story did, so that the demo never leaves the mesh
  // changed behind it (a ledger paused, a fault armed). The story's failure is the one reported.
  absl::StatusOr<ExitCode> ThenUndo(absl::FunctionRef<absl::StatusOr<ExitCode>()> story,
                                    absl::FunctionRef<absl::Status()> undo) {
    absl::StatusOr<ExitCode> told = story();
    absl::Status undone = undo();
    if (!told.ok() || *told != ExitCode::kOk) return told;
    RETURN_IF_ERROR(undone);
    return ExitCode::kOk;
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
    request.set_customer_id(customer_);
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
  // The exchange as answered; `timeout` replaces the session's deadline (the customer's patience).
  absl::StatusOr<v1::Exchange> Send(const v1::ExchangeRequest& request,
                                    std::optional<absl::Duration> timeout = std::nullopt) {
    v1::ExchangeResponse response;
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "exchanging", [&](grpc::ClientContext& context) {
          if (timeout) context.set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
          return session_.exchange().Exchange(&context, request, &response);
        }));
    const v1::Exchange& exchange = response.exchange();
    Say(absl::StrCat("   saga ", exchange.saga_id(), ": ",
                     v1::ExchangeStatus_Name(exchange.status()),
                     exchange.failure_reason().empty() ? "" : " — " + exchange.failure_reason()));
    return exchange;
  }
  // Asks `reached` every kCliDemoPollMs until it says true (then true) or `within_ms` passes
  // (then false).
  absl::StatusOr<bool> Await(int64_t within_ms, absl::FunctionRef<absl::StatusOr<bool>()> reached) {
    const absl::Time give_up = absl::Now() + absl::Milliseconds(within_ms);
    for (;;) {
      ASSIGN_OR_RETURN(bool done, reached());
      if (done) return true;
      if (absl::Now() >= give_up) return false;
      absl::SleepFor(absl::Milliseconds(limits::kCliDemoPollMs));
    }
  }
  // The saga as last seen: in `state`, unless kCliDemoSettleWaitMsMax passed first.
  absl::StatusOr<v1::Exchange> AwaitState(const std::string& saga_id, v1::SagaState state) {
    v1::GetExchangeRequest request;
    request.set_saga_id(saga_id);
    request.set_customer_id(customer_);
    v1::Exchange found;
    RETURN_IF_ERROR(Await(limits::kCliDemoSettleWaitMsMax, [&]() -> absl::StatusOr<bool> {
                      RETURN_IF_ERROR(session_.Call(Service::kCoordinator, "waiting for the saga",
                                                    [&](grpc::ClientContext& context) {
                                                      return session_.exchange().GetExchange(
                                                          &context, request, &found);
                                                    }));
                      return found.state() == state;
                    }).status());
    return found;
  }
  // A table as the tool's own commands print it, indented under the step.
  void Show(const Table& table) {
    const std::string text = table.Render(session_.printer().options().stdout_colors);
    Say(absl::StrCat("     ",
                     absl::StrReplaceAll(absl::StripSuffix(text, "\n"), {{"\n", "\n     "}})));
  }
  // Prints the saga's branches (`with_branches`) and its step log from step `first_step` on (0:
  // all of it); returns how many steps the log holds.
  absl::StatusOr<int> History(const std::string& saga_id, bool with_branches, int first_step = 0) {
    v1::GetSagaHistoryRequest request;
    request.set_saga_id(saga_id);
    v1::SagaHistory history;
    RETURN_IF_ERROR(session_.Call(
        Service::kCoordinator, "reading the saga's history", [&](grpc::ClientContext& context) {
          return session_.ops().GetSagaHistory(&context, request, &history);
        }));
    if (with_branches) {
      Say("   its branches:");
      Show(BranchTable(history.saga()));
    }
    Say(first_step == 0 ? "   its step log:" : "   its step log goes on:");
    for (int i = first_step; i < history.steps_size(); ++i) {
      const v1::Step& step = history.steps(i);
      Say(absl::StrCat("     ", v1::SagaState_Name(step.to_state()).substr(11), "  ",
                       step.detail()));
    }
    return history.steps_size();
  }
  absl::Status Pause(bool paused) {
    v1::Participant participant;
    if (paused) {
      v1::PauseParticipantRequest request;
      request.set_participant("fx-ledger");
      request.set_operator_("ops-kim");
      request.set_reason("demo: maintenance");
      return session_.Call(Service::kCoordinator, "pausing", [&](grpc::ClientContext& context) {
        return session_.ops(request.operator_()).PauseParticipant(&context, request, &participant);
      });
    }
    v1::ResumeParticipantRequest request;
    request.set_participant("fx-ledger");
    request.set_operator_("ops-kim");
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "resuming", [&](grpc::ClientContext& context) {
          return session_.ops(request.operator_())
              .ResumeParticipant(&context, request, &participant);
        }));
    Say("   ops-kim resumes the FX ledger");
    return absl::OkStatus();
  }

  // Step 6, while the FX ledger is paused: a new exchange is refused. `request` keeps it, to be
  // sent again once the ledger is resumed.
  absl::StatusOr<ExitCode> RefusedWhilePaused(v1::ExchangeRequest& request) {
    ASSIGN_OR_RETURN(v1::Quote quote, Quote("KRW", "USD", 100'000, 0));
    request = Request(quote, Account("krw"), Account("usd"));
    absl::StatusOr<v1::Exchange> refused = Send(request);
    if (!absl::IsUnavailable(refused.status())) return Failed("was not refused");
    Say(absl::StrCat("   refused: ", refused.status().message()));
    return ExitCode::kOk;
  }

  // Step 7. Arms the FX ledger's dev fault, tells the story, and clears the fault whatever
  // happened.
  absl::StatusOr<ExitCode> StuckExchange() {
    Say("   (dev only) The FX ledger is made to answer every Try with UNAVAILABLE, as if it");
    Say("   were down: fxmesh dev starts the ledgers with --dev_faults (LedgerFaultService).");
    absl::Status armed = SetTryFault(true);
    if (absl::IsUnimplemented(armed)) {
      return Failed(
          "fx-ledger does not serve fxmesh.v1.LedgerFaultService: this step needs ledgers "
          "started with --dev_faults, as fxmesh dev starts them");
    }
    RETURN_IF_ERROR(armed);
    ASSIGN_OR_RETURN(ExitCode told, ThenUndo([&] { return StuckExchangeWhileArmed(); },
                                             [&] { return SetTryFault(false); }));
    if (told != ExitCode::kOk) return told;
    Say("   The fault is cleared: the FX ledger answers Trys again.");
    return ExitCode::kOk;
  }

  absl::StatusOr<ExitCode> StuckExchangeWhileArmed() {
    ASSIGN_OR_RETURN(int64_t krw_before, Available(Service::kKrwLedger, Account("krw")));
    ASSIGN_OR_RETURN(v1::Quote quote, Quote("KRW", "USD", 100'000, 0));
    const absl::Time expires = ToTime(quote.expires_at());
    Say(absl::StrCat(
        "   The customer exchanges 100,000 KRW and waits ",
        absl::FormatDuration(absl::Milliseconds(limits::kCliDemoStuckExchangeTimeoutMs)),
        " for an answer:"));
    ASSIGN_OR_RETURN(v1::Exchange pending,
                     Send(Request(quote, Account("krw"), Account("usd")),
                          absl::Milliseconds(limits::kCliDemoStuckExchangeTimeoutMs)));
    if (pending.status() != v1::EXCHANGE_STATUS_PENDING) {
      return Failed("the exchange was not left PENDING while the FX ledger refused its Trys");
    }
    const std::string& saga_id = pending.saga_id();
    Say("   The KRW leg's Try reserved the KRW; the FX leg's Try got no answer, so nobody knows");
    Say("   whether it happened. The coordinator retries it until the quote expires at");
    Say(absl::StrCat("   ", absl::FormatTime("%H:%M:%SZ", expires, absl::UTCTimeZone()),
                     ", and would then cancel the exchange by itself."));
    ASSIGN_OR_RETURN(bool retried,
                     Await(limits::kCliDemoStepWaitMsMax, [&]() -> absl::StatusOr<bool> {
                       ASSIGN_OR_RETURN(int64_t refused, TrysRefused());
                       return refused >= 3;
                     }));
    if (!retried) return Failed("the coordinator did not retry the FX leg's Try");
    int steps_read = 0;
    ASSIGN_OR_RETURN(ExitCode found, FindStuck(saga_id, &steps_read));
    if (found != ExitCode::kOk) return found;
    ASSIGN_OR_RETURN(ExitCode resolved, ResolveByTwoOperators(saga_id, steps_read));
    if (resolved != ExitCode::kOk) return resolved;
    ASSIGN_OR_RETURN(ExitCode released, NothingHeld(saga_id));
    if (released != ExitCode::kOk) return released;
    ASSIGN_OR_RETURN(int64_t krw_after, Available(Service::kKrwLedger, Account("krw")));
    RETURN_IF_ERROR(Balances());
    if (krw_after != krw_before) return Failed("the customer's KRW did not all come back");
    ASSIGN_OR_RETURN(int64_t refused, TrysRefused());
    Say(absl::StrCat("   The FX ledger answered ", refused,
                     " Trys with UNAVAILABLE while the fault was armed."));
    return ExitCode::kOk;
  }

  // What an operator looking for unfinished exchanges sees: the saga, its branches, its step log
  // (`*steps_read` steps).
  absl::StatusOr<ExitCode> FindStuck(const std::string& saga_id, int* steps_read) {
    Say(absl::StrCat("   Operator alice finds it among the unfinished sagas (fxmesh sagas --active",
                     " --customer ", customer_, "):"));
    v1::ListSagasRequest active;
    active.set_active_only(true);
    active.set_customer_id(customer_);
    v1::ListSagasResponse listed;
    RETURN_IF_ERROR(
        session_.Call(Service::kCoordinator, "listing sagas", [&](grpc::ClientContext& context) {
          return session_.ops().ListSagas(&context, active, &listed);
        }));
    Show(SagaTable(listed.sagas(), absl::Now()));
    if (listed.sagas_size() != 1 || listed.sagas(0).saga_id() != saga_id ||
        listed.sagas(0).state() != v1::SAGA_STATE_TRYING) {
      return Failed("the stuck saga is not the one unfinished saga, in TRYING");
    }
    Say(absl::StrCat("   and reads why (fxmesh history ", saga_id, "):"));
    ASSIGN_OR_RETURN(*steps_read, History(saga_id, /*with_branches=*/true));
    return ExitCode::kOk;
  }

  // Maker-checker: alice proposes to cancel, cannot approve it herself, bob approves; the saga
  // then ends CANCELLED by that resolution, and its step log goes on from `steps_read`.
  absl::StatusOr<ExitCode> ResolveByTwoOperators(const std::string& saga_id, int steps_read) {
    Say("   The FX ledger is down and the customer is waiting: alice proposes to cancel");
    Say(absl::StrCat("   (fxmesh propose ", saga_id,
                     " --action cancel --reason FX_LEDGER_DOWN --operator alice):"));
    v1::ProposeResolutionRequest proposal;
    proposal.set_saga_id(saga_id);
    proposal.set_action(v1::RESOLUTION_ACTION_CANCEL);
    proposal.set_reason_code("FX_LEDGER_DOWN");
    proposal.set_note("demo: fx-ledger answers no Try");
    proposal.set_operator_("alice");
    v1::Resolution resolution;
    RETURN_IF_ERROR(session_.Call(Service::kCoordinator, "proposing a resolution",
                                  [&](grpc::ClientContext& context) {
                                    return session_.ops(proposal.operator_())
                                        .ProposeResolution(&context, proposal, &resolution);
                                  }));
    Say(absl::StrCat("   resolution ", resolution.resolution_id(),
                     " proposed; it waits for a second operator."));
    absl::Status own = Approve(resolution.resolution_id(), "alice");
    if (!absl::IsPermissionDenied(own)) return Failed("alice could approve her own resolution");
    Say("   alice cannot approve it herself (maker-checker): PERMISSION_DENIED.");
    Say(absl::StrCat("   Operator bob checks it and approves (fxmesh approve ",
                     resolution.resolution_id(), " --operator bob):"));
    // A coordinator refuses an approval with UNAVAILABLE while another replica is driving the saga
    // (a Try retry); asking again a moment later is what an operator would do.
    absl::Status approved;
    ASSIGN_OR_RETURN(bool accepted,
                     Await(limits::kCliDemoStepWaitMsMax, [&]() -> absl::StatusOr<bool> {
                       approved = Approve(resolution.resolution_id(), "bob");
                       if (absl::IsUnavailable(approved)) return false;
                       RETURN_IF_ERROR(approved);
                       return true;
                     }));
    if (!accepted) return approved;
    Say("   the coordinator decides to cancel, and the relay cancels both legs...");
    ASSIGN_OR_RETURN(v1::Exchange settled, AwaitState(saga_id, v1::SAGA_STATE_CANCELLED));
    if (settled.state() != v1::SAGA_STATE_CANCELLED) {
      return Failed("the resolved exchange did not end CANCELLED within 30 s");
    }
    if (settled.failure_reason() != "MANUAL") {
      return Failed(absl::StrCat("the exchange was cancelled for ", settled.failure_reason(),
                                 ", not by the operators: did its quote expire first?"));
    }
    Say(absl::StrCat("   saga ", saga_id, ": ", v1::ExchangeStatus_Name(settled.status()), " — ",
                     settled.failure_reason(), " (", settled.failure_detail(), ")"));
    RETURN_IF_ERROR(History(saga_id, /*with_branches=*/false, steps_read).status());
    return ExitCode::kOk;
  }

  // Both ledgers' holds of the saga: none may be left HELD.
  absl::StatusOr<ExitCode> NothingHeld(const std::string& saga_id) {
    Say(absl::StrCat("   No hold of it is left HELD (fxmesh holds --saga ", saga_id, "):"));
    Table holds = HoldTable();
    bool held = false;
    int fx_holds = 0;
    for (Service ledger : {Service::kKrwLedger, Service::kFxLedger}) {
      v1::ListHoldsRequest request;
      request.set_saga_id(saga_id);
      v1::ListHoldsResponse found;
      RETURN_IF_ERROR(session_.Call(ledger, "listing holds", [&](grpc::ClientContext& context) {
        return session_.ledger(ledger).ListHolds(&context, request, &found);
      }));
      AddHoldRows(holds, found.holds(), ServiceName(ledger), absl::Now());
      for (const v1::Hold& hold : found.holds()) held = held || hold.state() == v1::HOLD_STATE_HELD;
      if (ledger == Service::kFxLedger) fx_holds = found.holds_size();
    }
    Show(holds);
    if (held) return Failed("a hold of the cancelled saga is still HELD");
    if (fx_holds == 0) Say("   (the FX ledger has none: no Try of it ever got through.)");
    return ExitCode::kOk;
  }

  // Arms (or clears) the FX ledger's dev fault on Try.
  absl::Status SetTryFault(bool arm) {
    v1::LedgerFaults faults;
    return session_.Call(
        Service::kFxLedger, arm ? "arming a dev fault" : "clearing a dev fault",
        [&](grpc::ClientContext& context) {
          if (arm) {
            v1::ArmFaultRequest request;
            request.set_call(v1::FAULT_CALL_TRY);
            return session_.faults(Service::kFxLedger).ArmFault(&context, request, &faults);
          }
          v1::ClearFaultsRequest request;
          request.set_call(v1::FAULT_CALL_TRY);
          return session_.faults(Service::kFxLedger).ClearFaults(&context, request, &faults);
        });
  }
  // How many Trys the FX ledger's armed fault has refused.
  absl::StatusOr<int64_t> TrysRefused() {
    v1::LedgerFaults faults;
    RETURN_IF_ERROR(session_.Call(Service::kFxLedger, "reading the dev faults",
                                  [&](grpc::ClientContext& context) {
                                    return session_.faults(Service::kFxLedger)
                                        .GetFaults(&context, v1::GetFaultsRequest(), &faults);
                                  }));
    for (const v1::LedgerFault& fault : faults.faults()) {
      if (fault.call() == v1::FAULT_CALL_TRY) return fault.calls_refused();
    }
    return 0;
  }
  absl::Status Approve(int64_t resolution_id, const std::string& operator_name) {
    v1::ApproveResolutionRequest request;
    request.set_resolution_id(resolution_id);
    request.set_operator_(operator_name);
    v1::Resolution resolution;
    return session_.Call(Service::kCoordinator, "approving a resolution",
                         [&](grpc::ClientContext& context) {
                           return session_.ops(request.operator_())
                               .ApproveResolution(&context, request, &resolution);
                         });
  }
  // The audit entries written at or after `since` (on the coordinator's clock), oldest first.
  // Every page is read, because the log keeps every earlier run's entries before them.
  absl::StatusOr<std::vector<v1::AuditEntry>> AuditSince(const google::protobuf::Timestamp& since) {
    v1::ListAuditRequest request;
    request.set_page_size(limits::kListPageSizeMax);
    std::vector<v1::AuditEntry> entries;
    for (;;) {
      v1::ListAuditResponse page;
      RETURN_IF_ERROR(session_.Call(Service::kCoordinator, "reading the audit log",
                                    [&](grpc::ClientContext& context) {
                                      return session_.ops().ListAudit(&context, request, &page);
                                    }));
      for (const v1::AuditEntry& entry : page.entries()) {
        if (ToTime(entry.at()) >= ToTime(since)) entries.push_back(entry);
      }
      if (page.next_page_token().empty()) return entries;
      request.set_page_token(page.next_page_token());
    }
  }

  Session& session_;
  const std::string customer_;
};

}  // namespace

absl::StatusOr<ExitCode> RunDemo(Session& session) { return Demo(session).Run(); }

}  // namespace fxmesh::cli
