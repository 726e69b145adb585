// Proves, without any service, the parts of the fxmesh tool that decide what is sent and what is
// shown: decimal amounts convert exactly to minor units by each currency's exponent and back,
// every malformed command line is a usage error (exit 2) whose message names the mistake, enum
// and table output is aligned and readable, errors map to the documented exit codes, and progress
// is drawn only when enabled and only after a call has run for a while.
#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "cli/amount.h"
#include "cli/cli.h"
#include "cli/exit_codes.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/views.h"
#include "common/limits.h"

namespace fxmesh::cli {
namespace {

Currency Usd() { return *ParseCurrency("USD"); }
Currency Krw() { return *ParseCurrency("KRW"); }
Currency Kwd() { return *ParseCurrency("KWD"); }

// The error message of a failed parse, to check it names the mistake.
std::string ErrorOf(const absl::StatusOr<int64_t>& parsed) {
  REQUIRE_FALSE(parsed.ok());
  return std::string(parsed.status().message());
}

TEST_CASE("Amounts in major units convert exactly to minor units", "[unit][cli]") {
  CHECK(*ParseAmount("100.50", Usd()) == 10050);
  CHECK(*ParseAmount("100.5", Usd()) == 10050);
  CHECK(*ParseAmount("100", Usd()) == 10000);
  CHECK(*ParseAmount("0.01", Usd()) == 1);
  CHECK(*ParseAmount("137000", Krw()) == 137000);
  CHECK(*ParseAmount("1,000,000", Krw()) == 1000000);
  CHECK(*ParseAmount("1,234.56", Usd()) == 123456);
  CHECK(*ParseAmount("1.234", Kwd()) == 1234);
  // The largest amount one request may carry, to the last minor unit.
  CHECK(*ParseAmount("10000000000000.00", Usd()) == limits::kAmountMinorMax);
  CHECK(*ParseAmount("1000000000000000", Krw()) == limits::kAmountMinorMax);
}

TEST_CASE("Amounts with more decimals than the currency has are refused", "[unit][cli]") {
  CHECK(ErrorOf(ParseAmount("100.505", Usd())) ==
        "amount '100.505' has 3 decimals, but USD has only 2");
  CHECK(absl::StrContains(ErrorOf(ParseAmount("1.5", Krw())), "KRW has no minor unit"));
  // A trailing zero is still a decimal KRW does not have: fxmesh never rounds what it is told.
  CHECK(absl::StrContains(ErrorOf(ParseAmount("137000.0", Krw())), "whole number"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("1.2345", Kwd())), "KWD has only 3"));
}

TEST_CASE("Malformed amounts are refused with what is wrong", "[unit][cli]") {
  for (const char* text : {"", "abc", "1.", ".5", "1..2", "1e5", "1 000", "12x", "0x10", "1.2.3"}) {
    INFO(text);
    CHECK(absl::StrContains(ErrorOf(ParseAmount(text, Usd())), "is not a number"));
  }
  CHECK(absl::StrContains(ErrorOf(ParseAmount("-5", Usd())), "positive number without a sign"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("+5", Usd())), "without a sign"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("0", Usd())), "greater than 0"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("0.00", Usd())), "greater than 0"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("1,00", Usd())), "misplaced ','"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("1000,000", Krw())), "misplaced ','"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount(",100", Krw())), "misplaced ','"));
  CHECK(absl::StrContains(ErrorOf(ParseAmount("10000000000000.01", Usd())), "exceeds the maximum"));
  // Far more digits than an int64 holds must not overflow on the way to that answer.
  CHECK(absl::StrContains(ErrorOf(ParseAmount("99999999999999999999999999", Krw())),
                          "exceeds the maximum"));
}

TEST_CASE("Currencies are looked up in the ISO table, in any case", "[unit][cli]") {
  CHECK(ParseCurrency("usd")->code == "USD");
  CHECK(ParseCurrency("JPY")->decimals == 0);
  absl::StatusOr<Currency> unknown = ParseCurrency("XYZ");
  REQUIRE_FALSE(unknown.ok());
  CHECK(absl::StrContains(unknown.status().message(), "unknown currency 'XYZ'"));
}

TEST_CASE("Amounts are displayed as they are typed", "[unit][cli]") {
  CHECK(FormatAmount(10050, "USD") == "100.50 USD");
  CHECK(FormatAmount(1000000, "KRW") == "1,000,000 KRW");
  CHECK(FormatAmount(5, "USD") == "0.05 USD");
  CHECK(FormatAmount(-137711, "KRW") == "-137,711 KRW");
  // A currency outside the table is shown in minor units rather than guessed.
  CHECK(FormatAmount(1234, "XTS") == "1234 XTS (minor units)");
  // What is displayed parses back to the same amount.
  for (int64_t minor : {1, 99, 100, 123456789, 1000000000}) {
    const std::string shown = FormatAmount(minor, "USD");
    CHECK(*ParseAmount(shown.substr(0, shown.find(' ')), Usd()) == minor);
  }
}

TEST_CASE("Timeouts parse as decimal seconds", "[unit][cli]") {
  CHECK(*ParseScaledDecimal("1.5", 3, 10'000, "--timeout") == 1500);
  CHECK(*ParseScaledDecimal("10", 3, 10'000, "--timeout") == 10000);
  CHECK_FALSE(ParseScaledDecimal("10.0001", 3, 10'000, "--timeout").ok());
  CHECK_FALSE(ParseScaledDecimal("11", 3, 10'000, "--timeout").ok());
}

// --- The command line -------------------------------------------------------------------------

CommandLine Parse(const std::vector<std::string>& args, const Environment& environment = {}) {
  return ParseCommandLine(args, environment, Commands());
}

TEST_CASE("Global options go before or after the command", "[unit][cli]") {
  CommandLine before = Parse({"--json", "--coordinator", "10.0.0.1:1", "sagas", "--active"});
  REQUIRE(before.error.empty());
  REQUIRE(before.command != nullptr);
  CHECK(before.command->name == "sagas");
  CHECK(before.options.json);
  CHECK(before.options.coordinator == "10.0.0.1:1");
  CHECK(before.Has("active"));

  CommandLine after = Parse({"accounts", "open", "alice-usd", "usd", "--owner=alice",
                             "--fx-ledger=10.0.0.2:2", "--timeout", "2.5", "--json"});
  REQUIRE(after.error.empty());
  CHECK(after.command->name == "accounts open");
  CHECK(after.arguments == std::vector<std::string>{"alice-usd", "usd"});
  CHECK(after.Get("owner") == "alice");
  CHECK(after.options.fx_ledger == "10.0.0.2:2");
  CHECK(after.options.timeout_ms == 2500);
  CHECK(after.options.json);
}

TEST_CASE("The environment sets addresses and the command line wins", "[unit][cli]") {
  const Environment environment = {{"FXMESH_COORDINATOR", "coordinator:50051"},
                                   {"FXMESH_KRW_LEDGER", "krw:50061"},
                                   {"FXMESH_FX_LEDGER", "fx:50062"}};
  CommandLine from_environment = Parse({"alerts"}, environment);
  CHECK(from_environment.options.coordinator == "coordinator:50051");
  CHECK(from_environment.options.krw_ledger == "krw:50061");
  CHECK(from_environment.options.fx_ledger == "fx:50062");
  CHECK(Parse({"alerts", "--coordinator", "other:1"}, environment).options.coordinator ==
        "other:1");
  CommandLine defaults = Parse({"alerts"});
  CHECK(defaults.options.coordinator == "127.0.0.1:50051");
  CHECK(defaults.options.krw_ledger == "127.0.0.1:50061");
  CHECK(defaults.options.fx_ledger == "127.0.0.1:50062");
  CHECK_FALSE(defaults.options.timeout_ms.has_value());
}

TEST_CASE("Option names may use underscores and -- ends the options", "[unit][cli]") {
  CommandLine line = Parse({"deposit", "--request_id", "r-1", "--", "-odd-account", "5", "KRW"});
  REQUIRE(line.error.empty());
  CHECK(line.Get("request-id") == "r-1");
  CHECK(line.arguments == std::vector<std::string>{"-odd-account", "5", "KRW"});
}

TEST_CASE("Command line mistakes are named", "[unit][cli]") {
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  const std::vector<Case> cases = {
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"accounts"}, "accounts needs a subcommand: open or show"},
      {{"accounts", "close", "x"}, "unknown command 'accounts close'"},
      {{"deposit", "alice"}, "missing AMOUNT"},
      {{"deposit", "alice", "5", "KRW", "extra"}, "unexpected argument 'extra'"},
      {{"sagas", "--bogus"}, "unknown option --bogus for 'sagas'"},
      {{"--bogus", "sagas"}, "unknown option --bogus"},
      {{"sagas", "--limit"}, "--limit needs a value (N)"},
      {{"sagas", "--active=yes"}, "--active is a switch and takes no value"},
      {{"sagas", "--customer", "a", "--customer", "b"}, "--customer is given twice"},
      {{"sagas", "--customer="}, "--customer needs a non-empty ID"},
      {{"retry", "0123"}, "missing --operator NAME"},
      {{"exchange", "--quote", "q"}, "missing --from ACCOUNT"},
      {{"sagas", "--timeout", "0"}, "--timeout must be a number of seconds above 0"},
      {{"sagas", "--timeout", "soon"}, "--timeout must be a number of seconds"},
      {{"sagas", "--coordinator="}, "--coordinator needs a non-empty value"},
      {{"-x", "sagas"}, "unknown option '-x'"},
  };
  for (const Case& c : cases) {
    INFO(absl::StrJoin(c.args, " "));
    CHECK(absl::StrContains(Parse(c.args).error, c.error));
  }
}

// Runs the tool in this process with no service behind it: only usage errors and help can
// answer without one.
struct Run {
  int exit_code;
  std::string out, err;
};
Run RunInProcess(const std::vector<std::string>& args, Terminals terminals = {}) {
  std::ostringstream out, err;
  const int exit_code = RunCli(args, {}, out, err, terminals);
  return {exit_code, out.str(), err.str()};
}

TEST_CASE("A usage error exits 2 with the message and the usage line on stderr", "[unit][cli]") {
  Run bad_amount = RunInProcess({"deposit", "alice-usd", "100.505", "USD"});
  CHECK(bad_amount.exit_code == 2);
  CHECK(bad_amount.out.empty());
  CHECK(absl::StrContains(bad_amount.err, "amount '100.505' has 3 decimals, but USD has only 2"));
  CHECK(absl::StrContains(bad_amount.err,
                          "usage: fxmesh deposit ACCOUNT AMOUNT CURRENCY [--request-id ID]"));

  Run both = RunInProcess({"quote", "KRW", "USD", "--sell", "1", "--buy", "1"});
  CHECK(both.exit_code == 2);
  CHECK(absl::StrContains(both.err, "give exactly one of --sell AMOUNT"));

  Run replay = RunInProcess({"replay", "--operator", "kim", "--reason", "r"});
  CHECK(replay.exit_code == 2);
  CHECK(absl::StrContains(replay.err, "say what to replay"));

  Run bare = RunInProcess({});
  CHECK(bare.exit_code == 2);
  CHECK(absl::StrContains(bare.err, "Customer commands:"));
}

TEST_CASE("Help goes to stdout and lists every command and the exit codes", "[unit][cli]") {
  Run overview = RunInProcess({"help"});
  CHECK(overview.exit_code == 0);
  for (const CommandSpec& command : Commands()) {
    if (command.name == "help") continue;
    INFO(command.name);
    CHECK(absl::StrContains(overview.out, absl::StrCat("  ", command.name, " ")));
  }
  for (const char* code : {"  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  "}) {
    CHECK(absl::StrContains(overview.out, code));
  }
  Run one = RunInProcess({"help", "accounts", "open"});
  CHECK(one.exit_code == 0);
  CHECK(absl::StrContains(one.out, "Usage: fxmesh accounts open ACCOUNT CURRENCY [--owner NAME]"));
  CHECK(RunInProcess({"exchange", "--help"}).out == RunInProcess({"help", "exchange"}).out);
  Run unknown = RunInProcess({"help", "nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(absl::StrContains(unknown.err, "unknown command 'nope'"));
}

TEST_CASE("Service errors map to the documented exit codes", "[unit][cli]") {
  CHECK(ExitCodeFor(absl::OkStatus()) == ExitCode::kOk);
  CHECK(ExitCodeFor(UsageError("bad")) == ExitCode::kUsage);
  // A service's INVALID_ARGUMENT is a refusal, not a usage error.
  CHECK(ExitCodeFor(absl::InvalidArgumentError("bad")) == ExitCode::kRefused);
  for (const absl::Status& refused :
       {absl::NotFoundError(""), absl::AlreadyExistsError(""), absl::FailedPreconditionError(""),
        absl::PermissionDeniedError(""), absl::ResourceExhaustedError("")}) {
    CHECK(ExitCodeFor(refused) == ExitCode::kRefused);
  }
  for (const absl::Status& unknown :
       {absl::UnavailableError(""), absl::DeadlineExceededError(""), absl::InternalError(""),
        absl::UnknownError(""), absl::AbortedError("")}) {
    CHECK(ExitCodeFor(unknown) == ExitCode::kNoAnswer);
  }
}

// --- Output -----------------------------------------------------------------------------------

TEST_CASE("Tables align columns by characters and amounts to the right", "[unit][cli]") {
  Table table({"NAME", {"AMOUNT", Align::kRight}, "NOTE"});
  table.AddRow({"alice", "1,000 KRW", "CREATED → TRYING"});
  table.AddRow({"bo", "5.00 USD"});
  CHECK(table.Render(false) ==
        "NAME      AMOUNT  NOTE\n"
        "alice  1,000 KRW  CREATED → TRYING\n"
        "bo      5.00 USD\n");
  // Colors wrap the padded cells, so the columns line up the same on a terminal.
  const std::string colored = table.Render(true);
  CHECK(absl::StrContains(colored, "\033[1mNAME \033[0m"));
  CHECK(absl::StrReplaceAll(colored, {{"\033[1m", ""}, {"\033[0m", ""}}) == table.Render(false));
}

TEST_CASE("Records show as aligned label and value lines", "[unit][cli]") {
  Fields fields;
  fields.Add("saga id", "abc");
  fields.Add("status", Cell("COMPLETED", Style::kGood));
  CHECK(fields.Render(false) == "saga id:  abc\nstatus:   COMPLETED\n");
  CHECK(absl::StrContains(fields.Render(true), "\033[32mCOMPLETED\033[0m"));
}

TEST_CASE("Enum values read and print without their prefix", "[unit][cli]") {
  CHECK(EnumText(v1::SagaState_descriptor(), v1::SAGA_STATE_CONFIRMING) == "CONFIRMING");
  CHECK(EnumText(v1::SagaState_descriptor(), v1::SAGA_STATE_CANCELLED) == "CANCELLED");
  CHECK(EnumText(v1::ResolutionAction_descriptor(), v1::RESOLUTION_ACTION_MARK_COMPLETED) ==
        "MARK_COMPLETED");
  CHECK(*ParseEnumText(v1::SagaState_descriptor(), "completed", "--state") ==
        v1::SAGA_STATE_COMPLETED);
  CHECK(*ParseEnumText(v1::SagaState_descriptor(), "SAGA_STATE_TRYING", "--state") ==
        v1::SAGA_STATE_TRYING);
  CHECK(*ParseEnumText(v1::ResolutionAction_descriptor(), "mark-completed", "--action") ==
        v1::RESOLUTION_ACTION_MARK_COMPLETED);
  absl::StatusOr<int> unspecified =
      ParseEnumText(v1::SagaState_descriptor(), "unspecified", "--state");
  REQUIRE_FALSE(unspecified.ok());
  CHECK(unspecified.status().message() ==
        "--state 'unspecified' is not one of CREATED, TRYING, CONFIRMING, COMPLETED, CANCELLING, "
        "CANCELLED");
}

TEST_CASE("A balance sheet row is checked against both conservation equations", "[unit][cli]") {
  v1::CurrencyTotals totals;
  totals.set_currency("KRW");
  totals.set_available_minor(700);
  totals.set_held_minor(300);
  totals.set_deposited_minor(1500);
  totals.set_withdrawn_minor(500);
  totals.set_incoming_minor(40);
  totals.set_open_credit_holds_minor(40);
  CHECK(CurrencyBalances(totals));
  v1::BalanceSheet sheet;
  *sheet.add_currencies() = totals;
  CHECK(absl::StrContains(BalanceSheetTable(sheet).Render(false), "balanced"));
  totals.set_held_minor(301);
  CHECK_FALSE(CurrencyBalances(totals));
  totals.set_held_minor(300);
  totals.set_incoming_minor(41);
  CHECK_FALSE(CurrencyBalances(totals));
  *sheet.mutable_currencies(0) = totals;
  CHECK(absl::StrContains(BalanceSheetTable(sheet).Render(false), "OUT OF BALANCE"));
}

TEST_CASE("JSON output is one proto3 JSON object per line with every field", "[unit][cli]") {
  std::ostringstream out, err;
  Printer printer(out, err, OutputOptions{.json = true});
  v1::BalanceSheet sheet;
  sheet.set_balanced(false);
  printer.Json(sheet);
  printer.Text("not in JSON mode\n");
  printer.Json(sheet);
  CHECK(out.str() ==
        "{\"currencies\":[],\"balanced\":false}\n{\"currencies\":[],\"balanced\":false}\n");
  CHECK(err.str().empty());
}

// --- Progress ---------------------------------------------------------------------------------

TEST_CASE("Progress draws only after a while and erases its line", "[unit][cli]") {
  std::ostringstream drawn;
  {
    Progress progress(drawn, /*enabled=*/true, "waiting for the exchange's outcome");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(limits::kCliProgressAfterMs + 3 * limits::kCliProgressTickMs));
  }
  const std::string text = drawn.str();
  // "\r| waiting for the exchange's outcome  1.0s\033[K": the elapsed time, redrawn in place.
  CHECK(absl::StartsWith(text, "\r| waiting for the exchange's outcome  "));
  CHECK(absl::StrContains(text, "s\033[K"));
  CHECK(absl::EndsWith(text, "\r\033[K"));

  std::ostringstream quick;
  { Progress progress(quick, /*enabled=*/true, "quick"); }
  CHECK(quick.str().empty());

  std::ostringstream disabled;
  {
    Progress progress(disabled, /*enabled=*/false, "off");
    std::this_thread::sleep_for(
        std::chrono::milliseconds(limits::kCliProgressAfterMs + limits::kCliProgressTickMs));
  }
  CHECK(disabled.str().empty());
}

}  // namespace
}  // namespace fxmesh::cli
