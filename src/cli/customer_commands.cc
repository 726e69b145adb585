// The customer commands: accounts, deposits and withdrawals on the ledgers, quotes and exchanges
// on the coordinator. Each validates its arguments before sending anything (mistakes are usage
// errors), makes its calls through the Session, and prints the response messages.
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/amount.h"
#include "cli/internal/command_support.h"
#include "cli/progress.h"
#include "cli/views.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"
#include "google/protobuf/wrappers.pb.h"

namespace fxmesh::cli::internal {
namespace {

absl::StatusOr<ExitCode> OpenAccount(const CommandLine& line, Session& session) {
  ASSIGN_OR_RETURN(Currency currency, AsUsage(ParseCurrency(line.arguments[1])));
  const Service ledger = LedgerFor(currency);
  v1::OpenAccountRequest request;
  request.set_account_id(line.arguments[0]);
  request.set_currency(currency.code);
  request.set_owner(line.Get("owner"));
  session.SetNoAnswerHint(
      "the outcome is unknown: the account may or may not be open. Repeating the command is "
      "safe: an account already open with this currency and owner stays as it is.");
  ASSIGN_OR_RETURN(v1::AccountResponse response,
                   Ask<v1::AccountResponse>(
                       session, ledger, "opening the account",
                       [&](grpc::ClientContext& context, v1::AccountResponse* answer) {
                         return session.ledger(ledger).OpenAccount(&context, request, answer);
                       }));
  Printer& printer = session.printer();
  const ExitCode code =
      ReportLedgerOutcome(session, ledger, "opening the account", response.outcome(),
                          response.reason(), response.detail());
  if (code != ExitCode::kOk) return code;
  printer.Text(
      response.outcome() == v1::OUTCOME_APPLIED
          ? absl::StrCat("Opened ", request.account_id(), " on ", ServiceName(ledger), ".\n\n")
          : absl::StrCat(request.account_id(),
                         " was already open with this currency and owner; nothing "
                         "changed.\n\n"));
  printer.Print(AccountFields(response.account(), ServiceName(ledger)));
  return code;
}

// Asks both ledgers, since an account id alone does not say which one holds it (and the same id
// may exist on both, in different currencies).
absl::StatusOr<ExitCode> ShowAccount(const CommandLine& line, Session& session) {
  v1::GetAccountRequest request;
  request.set_account_id(line.arguments[0]);
  int found = 0;
  absl::Status unanswered;
  for (Service ledger : {Service::kKrwLedger, Service::kFxLedger}) {
    absl::StatusOr<v1::Account> account =
        Ask<v1::Account>(session, ledger, "looking the account up",
                         [&](grpc::ClientContext& context, v1::Account* answer) {
                           return session.ledger(ledger).GetAccount(&context, request, answer);
                         });
    if (absl::IsNotFound(account.status())) continue;
    if (!account.ok()) {
      unanswered = account.status();
      continue;
    }
    if (found++ > 0) session.printer().Text("\n");
    session.printer().Print(AccountFields(*account, ServiceName(ledger)));
  }
  if (found > 0) {
    if (!unanswered.ok()) session.printer().Note(unanswered.message());
    return ExitCode::kOk;
  }
  // Neither has it, or one could not say: "not found" is only certain when both answered.
  if (!unanswered.ok()) return unanswered;
  return absl::NotFoundError(absl::StrCat("no account ", request.account_id(), " on krw-ledger (",
                                          session.Address(Service::kKrwLedger), ") or fx-ledger (",
                                          session.Address(Service::kFxLedger), ")"));
}

// Deposit and Withdraw: money entering or leaving a ledger, idempotent by request id.
absl::StatusOr<ExitCode> Transfer(const CommandLine& line, Session& session, bool deposit) {
  ASSIGN_OR_RETURN(Currency currency, AsUsage(ParseCurrency(line.arguments[2])));
  ASSIGN_OR_RETURN(int64_t amount_minor, AsUsage(ParseAmount(line.arguments[1], currency)));
  const Service ledger = LedgerFor(currency);
  const bool generated = !line.Has("request-id");
  v1::ExternalTransferRequest request;
  request.set_request_id(generated ? NewClientKey() : line.Get("request-id"));
  request.set_account_id(line.arguments[0]);
  request.mutable_amount()->set_amount_minor(amount_minor);
  request.mutable_amount()->set_currency(currency.code);
  const std::string verb = deposit ? "deposit" : "withdraw";
  const std::string amount = FormatAmount(amount_minor, currency.code);
  const std::string noun = deposit ? "the deposit" : "the withdrawal";
  session.SetNoAnswerHint(absl::StrCat(
      "the outcome is unknown: ", noun,
      " may or may not have been applied. Repeat it with the same request id, which applies it "
      "at most once:\n  fxmesh ",
      verb, " ", request.account_id(), " ", line.arguments[1], " ", currency.code, " --request-id ",
      request.request_id()));
  // Scripts read only JSON from stdout, so the id they may need for a retry goes to stderr.
  if (generated && session.printer().json()) {
    session.printer().Note(absl::StrCat("request id ", request.request_id()));
  }
  ASSIGN_OR_RETURN(v1::ExternalTransferResponse response,
                   Ask<v1::ExternalTransferResponse>(
                       session, ledger, deposit ? "depositing" : "withdrawing",
                       [&](grpc::ClientContext& context, v1::ExternalTransferResponse* answer) {
                         v1::LedgerService::Stub& stub = session.ledger(ledger);
                         return deposit ? stub.Deposit(&context, request, answer)
                                        : stub.Withdraw(&context, request, answer);
                       }));
  Printer& printer = session.printer();
  const ExitCode code = ReportLedgerOutcome(session, ledger, noun, response.outcome(),
                                            response.reason(), response.detail());
  if (code != ExitCode::kOk) return code;
  if (response.outcome() == v1::OUTCOME_DUPLICATE) {
    printer.Text(absl::StrCat("Request ", request.request_id(),
                              " was already applied; nothing changed.\n\n"));
  } else {
    printer.Text(absl::StrCat(deposit ? "Deposited " : "Withdrew ", amount,
                              deposit ? " into " : " from ", request.account_id(), " (request id ",
                              request.request_id(), ").\n\n"));
  }
  printer.Print(AccountFields(response.account(), ServiceName(ledger)));
  return code;
}

// The customer a quote, get or watch acts for: --customer. Over TLS with customer tokens the
// call carries that customer's token, so it must be named.
absl::Status ActForCustomer(const CommandLine& line, Session& session, bool required) {
  if (!line.Has("customer")) {
    if (!required) return absl::OkStatus();
    return UsageError(
        "name the customer with --customer ID: over TLS each call carries the customer's token");
  }
  session.ActFor(line.Get("customer"));
  return absl::OkStatus();
}

absl::StatusOr<ExitCode> Quote(const CommandLine& line, Session& session) {
  ASSIGN_OR_RETURN(Currency sell, AsUsage(ParseCurrency(line.arguments[0])));
  ASSIGN_OR_RETURN(Currency buy, AsUsage(ParseCurrency(line.arguments[1])));
  if (line.Has("sell") == line.Has("buy")) {
    return UsageError(
        "give exactly one of --sell AMOUNT (how much to sell) or --buy AMOUNT (how much to "
        "receive)");
  }
  v1::GetQuoteRequest request;
  RETURN_IF_ERROR(ActForCustomer(line, session, /*required=*/session.SignsCustomerTokens()));
  request.set_customer_id(line.Get("customer"));
  request.set_sell_currency(sell.code);
  request.set_buy_currency(buy.code);
  if (line.Has("sell")) {
    ASSIGN_OR_RETURN(int64_t minor, AsUsage(ParseAmount(line.Get("sell"), sell)));
    request.set_sell_amount_minor(minor);
  } else {
    ASSIGN_OR_RETURN(int64_t minor, AsUsage(ParseAmount(line.Get("buy"), buy)));
    request.set_buy_amount_minor(minor);
  }
  ASSIGN_OR_RETURN(v1::Quote quote,
                   Ask<v1::Quote>(session, Service::kCoordinator, "asking for a quote",
                                  [&](grpc::ClientContext& context, v1::Quote* answer) {
                                    return session.exchange().GetQuote(&context, request, answer);
                                  }));
  Printer& printer = session.printer();
  printer.Print(QuoteFields(quote, absl::Now()));
  printer.Text(absl::StrCat("\nExchange on it before it expires:\n  fxmesh exchange --quote ",
                            quote.quote_id(), " --from ACCOUNT --to ACCOUNT --customer ",
                            quote.customer_id().empty() ? "ID" : quote.customer_id(), "\n"));
  return ExitCode::kOk;
}

absl::StatusOr<ExitCode> Exchange(const CommandLine& line, Session& session) {
  const bool generated = !line.Has("key");
  v1::ExchangeRequest request;
  request.set_idempotency_key(generated ? NewClientKey() : line.Get("key"));
  request.set_customer_id(line.Get("customer"));
  session.ActFor(request.customer_id());
  request.set_source_account_id(line.Get("from"));
  request.set_target_account_id(line.Get("to"));
  request.set_quote_id(line.Get("quote"));
  session.SetNoAnswerHint(absl::StrCat(
      "the outcome is unknown: the exchange may or may not have started. Repeat it with the same "
      "key, which never exchanges twice:\n  fxmesh exchange --quote ",
      request.quote_id(), " --from ", request.source_account_id(), " --to ",
      request.target_account_id(), " --customer ", request.customer_id(), " --key ",
      request.idempotency_key(), "\nor look it up: fxmesh get --key ", request.idempotency_key(),
      " --customer ", request.customer_id()));
  // As for deposits: with --json the generated key is also noted where a script's log keeps it.
  if (generated && session.printer().json()) {
    session.printer().Note(absl::StrCat("idempotency key ", request.idempotency_key()));
  }
  // The coordinator answers by this call's deadline with the outcome, or PENDING.
  ASSIGN_OR_RETURN(v1::ExchangeResponse response,
                   Ask<v1::ExchangeResponse>(
                       session, Service::kCoordinator, "waiting for the exchange's outcome",
                       [&](grpc::ClientContext& context, v1::ExchangeResponse* answer) {
                         return session.exchange().Exchange(&context, request, answer);
                       }));
  return ReportExchange(session, response.exchange());
}

absl::StatusOr<ExitCode> Get(const CommandLine& line, Session& session) {
  if (line.arguments.empty() == !line.Has("key")) {
    return UsageError("give either a SAGA_ID or --key KEY");
  }
  if (line.Has("key") && !line.Has("customer")) {
    return UsageError("--key needs --customer: idempotency keys are each customer's own");
  }
  RETURN_IF_ERROR(ActForCustomer(line, session, /*required=*/session.SignsCustomerTokens()));
  v1::GetExchangeRequest request;
  request.set_customer_id(line.Get("customer"));
  if (line.Has("key")) {
    request.set_idempotency_key(line.Get("key"));
  } else {
    request.set_saga_id(absl::AsciiStrToLower(line.arguments[0]));
  }
  ASSIGN_OR_RETURN(v1::Exchange exchange,
                   Ask<v1::Exchange>(session, Service::kCoordinator, "looking the exchange up",
                                     [&](grpc::ClientContext& context, v1::Exchange* answer) {
                                       return session.exchange().GetExchange(&context, request,
                                                                             answer);
                                     }));
  return ReportExchange(session, exchange);
}

// Streams WatchExchange: one line per change, then the final exchange. The watch has its own,
// longer default deadline, since a saga may take a quote's lifetime to fail.
absl::StatusOr<ExitCode> Watch(const CommandLine& line, Session& session) {
  Printer& printer = session.printer();
  v1::WatchExchangeRequest request;
  request.set_saga_id(absl::AsciiStrToLower(line.arguments[0]));
  RETURN_IF_ERROR(ActForCustomer(line, session, /*required=*/session.SignsCustomerTokens()));
  request.set_customer_id(line.Get("customer"));
  session.SetNoAnswerHint(absl::StrCat(
      "the exchange goes on without a watcher; watch it again: fxmesh watch ", request.saga_id()));
  grpc::ClientContext context;
  const int64_t timeout_ms = session.TimeoutMs(limits::kCliWatchTimeoutMsDefault);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  RETURN_IF_ERROR(session.AddCustomerToken(context));
  std::unique_ptr<grpc::ClientReader<v1::Exchange>> reader =
      session.exchange().WatchExchange(&context, request);
  const absl::Time started = absl::Now();
  std::optional<v1::Exchange> last;
  for (;;) {
    v1::Exchange update;
    bool read = false;
    {
      // Progress draws only while waiting, so it never interleaves with a printed line.
      Progress progress(printer.err(), printer.options().progress,
                        absl::StrCat("watching ", request.saga_id()), started);
      read = reader->Read(&update);
    }
    if (!read) break;
    printer.Json(update);
    // Scripts get every update; a person only the changes of state (a retry changes the
    // exchange's timestamps, not what it means).
    if (!last || last->state() != update.state() || last->status() != update.status()) {
      printer.Text(
          absl::StrCat(TimeText(update.updated_at()), "  ",
                       printer.Style(EnumText(v1::SagaState_descriptor(), update.state()),
                                     StyleOf(update.state())),
                       "  ",
                       printer.Style(EnumText(v1::ExchangeStatus_descriptor(), update.status()),
                                     StyleOf(update.status())),
                       "\n"));
    }
    last = std::move(update);
  }
  grpc::Status finished = reader->Finish();
  if (!finished.ok()) return session.CallError(Service::kCoordinator, finished);
  if (!last) {
    return absl::UnavailableError("the coordinator ended the watch without sending the exchange");
  }
  printer.Text("\n");
  return ReportExchange(session, *last);
}

absl::StatusOr<ExitCode> PrintToken(const CommandLine& line, Session& session) {
  if (!session.SignsCustomerTokens()) {
    return UsageError(
        "no customer-token key: give --tls-dir with the folder 'fxmesh dev --tls' made "
        "(it holds customer-tokens.key)");
  }
  if (absl::Status valid = ValidateKey(line.arguments[0], "CUSTOMER", limits::kAccountIdLengthMax);
      !valid.ok()) {
    return UsageError(valid.message());
  }
  session.ActFor(line.arguments[0]);
  ASSIGN_OR_RETURN(std::string token, session.CustomerToken());
  session.printer().Text(absl::StrCat(token, "\n"));
  google::protobuf::StringValue json;  // With --json: the token as one JSON string.
  json.set_value(token);
  session.printer().Json(json);
  return ExitCode::kOk;
}

}  // namespace

std::vector<CommandSpec> CustomerCommands() {
  std::vector<CommandSpec> commands;
  commands.push_back({
      .name = "accounts open",
      .arguments = {"ACCOUNT", "CURRENCY"},
      .options = {{"owner", "NAME", "the account's owner (a customer id)"}},
      .summary = "open an account (KRW on the KRW ledger, other currencies on the FX ledger)",
      .details = "Opening an account that is already open with the same currency and owner\n"
                 "changes nothing and succeeds; with another currency or owner it is rejected\n"
                 "(exit 1).",
      .example = "fxmesh accounts open alice-usd USD --owner alice",
      .run = OpenAccount,
  });
  commands.push_back({
      .name = "accounts show",
      .arguments = {"ACCOUNT"},
      .summary = "show an account's balances: available, held (reserved) and incoming",
      .details = "Asks both ledgers and shows every account with this id.",
      .example = "fxmesh accounts show alice-krw",
      .run = ShowAccount,
  });
  commands.push_back({
      .name = "deposit",
      .arguments = {"ACCOUNT", "AMOUNT", "CURRENCY"},
      .options = {{"request-id", "ID", "idempotency key of this deposit (default: a new one)"}},
      .summary = "put money into an account from outside the ledger",
      .details = "AMOUNT is in major units (100.50 USD, 137000 KRW). Without --request-id a new\n"
                 "id is generated and printed: repeating the command with that id never\n"
                 "deposits twice.",
      .example = "fxmesh deposit alice-krw 1000000 KRW --request-id dep-1",
      .run = [](const CommandLine& line,
                Session& session) { return Transfer(line, session, /*deposit=*/true); },
  });
  commands.push_back({
      .name = "withdraw",
      .arguments = {"ACCOUNT", "AMOUNT", "CURRENCY"},
      .options = {{"request-id", "ID", "idempotency key of this withdrawal (default: a new one)"}},
      .summary = "take money out of an account, out of the ledger",
      .details = "As deposit. A withdrawal larger than the available balance is rejected\n"
                 "(exit 1).",
      .example = "fxmesh withdraw alice-usd 20.00 USD",
      .run = [](const CommandLine& line,
                Session& session) { return Transfer(line, session, /*deposit=*/false); },
  });
  commands.push_back({
      .name = "quote",
      .arguments = {"SELL_CURRENCY", "BUY_CURRENCY"},
      .options = {{"sell", "AMOUNT", "how much SELL_CURRENCY to sell"},
                  {"buy", "AMOUNT", "how much BUY_CURRENCY to receive"},
                  {"customer", "ID", "the customer the quote is for (only they may use it)"}},
      .synopsis = "SELL_CURRENCY BUY_CURRENCY (--sell AMOUNT | --buy AMOUNT) [--customer ID]",
      .summary = "price an exchange and lock its rate for a while",
      .details = "One side of every exchange is KRW. The quote id is what 'exchange' needs;\n"
                 "with --customer, only that customer's exchange may use it (over TLS with\n"
                 "customer tokens, --customer is required).",
      .example = "fxmesh quote KRW USD --buy 100.00",
      .run = Quote,
  });
  commands.push_back({
      .name = "exchange",
      .options = {{"quote", "QUOTE_ID", "the quote to exchange on", true},
                  {"from", "ACCOUNT", "the account the sold currency leaves", true},
                  {"to", "ACCOUNT", "the account the bought currency reaches", true},
                  {"customer", "ID", "the customer (the daily limit counts per customer)", true},
                  {"key", "KEY", "idempotency key (default: a new one, shown with the result)"}},
      .summary = "exchange on a quote and wait for the outcome",
      .details = "Waits up to --timeout for the outcome: COMPLETED (exit 0), FAILED with the\n"
                 "reason (exit 1), or PENDING (exit 5) when the saga is still running; then\n"
                 "follow it with 'fxmesh watch SAGA_ID'. Repeating the command with the same\n"
                 "--key returns the same exchange and never exchanges twice.",
      .example = "fxmesh exchange --quote 3f2a... --from alice-krw --to alice-usd --customer alice",
      .run = Exchange,
  });
  commands.push_back({
      .name = "get",
      .arguments = {"[SAGA_ID]"},
      .options = {{"key", "KEY", "find the exchange by its idempotency key instead"},
                  {"customer", "ID", "whose exchange (needed with --key)"}},
      .synopsis = "(SAGA_ID | --key KEY --customer ID)",
      .summary = "show an exchange",
      .details = "Exits as 'exchange' does: 0 COMPLETED, 1 FAILED, 5 PENDING.",
      .example = "fxmesh get --key ex-1 --customer alice",
      .run = Get,
  });
  commands.push_back({
      .name = "watch",
      .arguments = {"SAGA_ID"},
      .options = {{"customer", "ID", "whose exchange (required over TLS with customer tokens)"}},
      .summary = "follow an exchange until it is final",
      .details = "Prints a line at every change, then the final exchange; exits 0 COMPLETED\n"
                 "or 1 FAILED. Gives up after --timeout (default 300 s) with exit 4; the\n"
                 "exchange itself goes on.",
      .example = "fxmesh watch 0123456789abcdef0123456789abcdef",
      .run = Watch,
  });
  commands.push_back({
      .name = "token",
      .arguments = {"CUSTOMER"},
      .summary = "print a customer token for other gRPC clients (development, with --tls-dir)",
      .details = "Signs a token for CUSTOMER with the local identity provider's key that\n"
                 "'fxmesh dev --tls' made, valid for 5 minutes, as a bank's gateway would get\n"
                 "one. Send it as metadata: -H \"authorization: Bearer $(fxmesh token alice)\".",
      .example = "fxmesh --tls-dir .fxmesh/tls token alice",
      .run = PrintToken,
  });
  return commands;
}

}  // namespace fxmesh::cli::internal
