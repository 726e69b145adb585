// Proves the shipped `fxmesh` binary works the way a customer, an operator and a script meet it:
// run as a child process against both ledgers and the coordinator running as processes on
// loopback, it opens accounts, deposits, quotes and exchanges (exit 0, --json output that parses
// back into the response messages, balances checked on the ledgers themselves); a failing
// exchange and a rejected withdrawal exit 1 with the reason; a bad amount exits 2 and sends
// nothing; an unknown saga exits 3; an unreachable service exits 4 with how to retry safely; a
// PENDING exchange exits 5 and `watch` follows it to the end; the operator listings (sagas,
// history, alerts, participants, audit, dead letters, reconcile) show what the services hold;
// `health` tells ready, not ready and silent services apart by its exit code.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/binaries/mesh_processes.h"
#include "tests/binaries/process.h"

namespace fxmesh::testing {
namespace {

// What a failed check should show: the whole conversation with the tool.
std::string Describe(const CommandResult& result) {
  return absl::StrCat("exit ", result.exit_code, "\n--- stdout\n", result.out, "--- stderr\n",
                      result.err);
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The line of a table that starts with `first_cell`, or "".
std::string RowOf(const std::string& table, const std::string& first_cell) {
  for (const std::string& line : Lines(table)) {
    if (absl::StartsWith(line, first_cell + " ")) return line;
  }
  return "";
}

// `json` parsed as the message M; fails the test if it is not exactly one M.
template <typename M>
M Parse(const std::string& json) {
  M message;
  INFO(json);
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &message).ok());
  return message;
}

CommandResult Fxmesh(const std::vector<std::string>& args,
                     const std::vector<std::string>& environment = {}) {
  return RunCommand(FXMESH_CLI_PATH, args, environment);
}

std::string Loopback(int port) { return absl::StrCat("127.0.0.1:", port); }

// Both ledgers and the coordinator as processes (the bank's positions funded), and the tool
// pointed at them with the global options, given before the command.
class CliMesh : public MeshProcesses {
 public:
  explicit CliMesh(const std::vector<std::string>& coordinator_flags = {}) {
    StartCoordinator(coordinator_flags);
  }

  // host:port of each service, as the tool is told it.
  std::string coordinator_address() const { return Loopback(coordinator_port()); }
  std::string krw_address() const { return Loopback(ledger_port("krw")); }
  std::string fx_address() const { return Loopback(ledger_port("fx")); }

  CommandResult Run(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--coordinator", coordinator_address(), "--krw-ledger",
                                    krw_address(),   "--fx-ledger",         fx_address()};
    all.insert(all.end(), args.begin(), args.end());
    return Fxmesh(all);
  }

  // Runs a command that must succeed and returns its result.
  CommandResult Ok(const std::vector<std::string>& args) {
    CommandResult result = Run(args);
    INFO(absl::StrJoin(args, " ") << "\n" << Describe(result));
    REQUIRE(result.exit_code == 0);
    return result;
  }

  // A quote for `amount` of `side` ("--sell" or "--buy"), through the tool; returns its id.
  std::string Quote(const std::string& sell, const std::string& buy, const std::string& side,
                    const std::string& amount) {
    CommandResult quoted = Ok({"quote", sell, buy, side, amount, "--json"});
    return Parse<v1::Quote>(quoted.out).quote_id();
  }
};

const std::string kNoSuchSaga = "0123456789abcdef0123456789abcdef";

TEST_CASE("A customer opens accounts deposits quotes and exchanges with the tool",
          "[binary][cli]") {
  CliMesh mesh;
  CommandResult opened = mesh.Ok({"accounts", "open", "alice-krw", "KRW", "--owner", "alice"});
  CHECK(absl::StrContains(opened.out, "Opened alice-krw on krw-ledger"));
  mesh.Ok({"accounts", "open", "alice-usd", "usd", "--owner", "alice"});
  // Opening it again changes nothing and is no failure.
  CommandResult again = mesh.Ok({"accounts", "open", "alice-usd", "USD", "--owner", "alice"});
  CHECK(absl::StrContains(again.out, "already open"));

  CommandResult deposited =
      mesh.Ok({"deposit", "alice-krw", "1,000,000", "KRW", "--request-id", "dep-1"});
  CHECK(absl::StrContains(deposited.out, "Deposited 1,000,000 KRW into alice-krw"));
  CHECK(mesh.Available(mesh.krw(), "alice-krw") == 1'000'000);
  // The same request id again is applied at most once.
  CommandResult repeated =
      mesh.Ok({"deposit", "alice-krw", "1000000", "KRW", "--request-id", "dep-1"});
  CHECK(absl::StrContains(repeated.out, "already applied"));
  CHECK(mesh.Available(mesh.krw(), "alice-krw") == 1'000'000);

  // Buy exactly 100.00 USD: the quote's buy side is 10000 cents.
  CommandResult quoted = mesh.Ok({"quote", "KRW", "USD", "--buy", "100.00", "--json"});
  const v1::Quote quote = Parse<v1::Quote>(quoted.out);
  CHECK(quote.buy().amount_minor() == 10'000);
  CHECK(quote.buy().currency() == "USD");
  CHECK(quote.sell().currency() == "KRW");

  CommandResult exchanged =
      mesh.Ok({"exchange", "--quote", quote.quote_id(), "--from", "alice-krw", "--to", "alice-usd",
               "--customer", "alice", "--key", "ex-1", "--json"});
  REQUIRE(Lines(exchanged.out).size() == 1);
  const v1::Exchange exchange = Parse<v1::ExchangeResponse>(exchanged.out).exchange();
  CHECK(exchange.status() == v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(exchange.idempotency_key() == "ex-1");
  CHECK(mesh.Available(mesh.fx(), "alice-usd") == 10'000);
  CHECK(mesh.Available(mesh.krw(), "alice-krw") == 1'000'000 - quote.sell().amount_minor());

  // The same exchange looked up by key, and the accounts as the tool shows them.
  CommandResult got = mesh.Ok({"get", "--key", "ex-1", "--customer", "alice"});
  CHECK(absl::StrContains(got.out, exchange.saga_id()));
  CHECK(absl::StrContains(got.out, "COMPLETED"));
  CommandResult shown = mesh.Ok({"accounts", "show", "alice-usd"});
  CHECK(absl::StrContains(shown.out, "fx-ledger"));
  CHECK(absl::StrContains(shown.out, "100.00 USD"));

  // Without --request-id, one is generated and printed, so that a retry can reuse it.
  CommandResult withdrew = mesh.Ok({"withdraw", "alice-usd", "20.5", "USD"});
  CHECK(absl::StrContains(withdrew.out, "Withdrew 20.50 USD from alice-usd (request id cli-"));
  CHECK(mesh.Available(mesh.fx(), "alice-usd") == 7'950);

  // Without --key, the exchange's generated key is printed on stderr, and stdout stays JSON.
  const std::string back = mesh.Quote("USD", "KRW", "--sell", "50");
  CommandResult sold = mesh.Ok({"exchange", "--quote", back, "--from", "alice-usd", "--to",
                                "alice-krw", "--customer", "alice", "--json"});
  const v1::Exchange sale = Parse<v1::ExchangeResponse>(sold.out).exchange();
  CHECK(absl::StrContains(sold.err, absl::StrCat("idempotency key ", sale.idempotency_key())));
  CHECK(absl::StartsWith(sale.idempotency_key(), "cli-"));
  CHECK(mesh.Available(mesh.fx(), "alice-usd") == 2'950);
  mesh.CheckLedgers();
}

TEST_CASE("A failing exchange and a rejected withdrawal exit 1 with the reason", "[binary][cli]") {
  CliMesh mesh;
  mesh.Fund(mesh.krw(), "bob-krw", "KRW", 1'000);
  mesh.Fund(mesh.fx(), "bob-usd", "USD", 0);
  const std::string quote = mesh.Quote("KRW", "USD", "--sell", "5000000");
  CommandResult failed = mesh.Run({"exchange", "--quote", quote, "--from", "bob-krw", "--to",
                                   "bob-usd", "--customer", "bob", "--key", "ex-poor"});
  INFO(Describe(failed));
  CHECK(failed.exit_code == 1);
  CHECK(absl::StrContains(failed.out, "FAILED"));
  CHECK(absl::StrContains(failed.err, "INSUFFICIENT_FUNDS"));

  // Watching the failed exchange ends when its saga is final, with the same verdict.
  const std::string saga_id =
      Parse<v1::Exchange>(mesh.Run({"get", "--key", "ex-poor", "--customer", "bob", "--json"}).out)
          .saga_id();
  CommandResult watched = mesh.Run({"watch", saga_id, "--json"});
  INFO(Describe(watched));
  CHECK(watched.exit_code == 1);
  const v1::Exchange last = Parse<v1::Exchange>(Lines(watched.out).back());
  CHECK(last.state() == v1::SAGA_STATE_CANCELLED);
  CHECK(last.failure_reason() == "INSUFFICIENT_FUNDS");

  CommandResult rejected = mesh.Run({"withdraw", "bob-krw", "2000", "KRW"});
  INFO(Describe(rejected));
  CHECK(rejected.exit_code == 1);
  CHECK(absl::StrContains(rejected.err, "krw-ledger rejected the withdrawal: INSUFFICIENT_FUNDS"));
  CHECK(mesh.Available(mesh.krw(), "bob-krw") == 1'000);
  mesh.CheckLedgers();
}

TEST_CASE("A bad amount exits 2 and sends nothing", "[binary][cli]") {
  CliMesh mesh;
  mesh.Fund(mesh.fx(), "carol-usd", "USD", 500);
  CommandResult bad = mesh.Run({"deposit", "carol-usd", "100.505", "USD"});
  INFO(Describe(bad));
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK(absl::StrContains(bad.err, "amount '100.505' has 3 decimals, but USD has only 2"));
  CHECK(absl::StrContains(bad.err, "usage: fxmesh deposit ACCOUNT AMOUNT CURRENCY"));
  CHECK(mesh.Available(mesh.fx(), "carol-usd") == 500);

  CommandResult unknown = mesh.Run({"exchnage"});
  CHECK(unknown.exit_code == 2);
  CHECK(absl::StrContains(unknown.err, "unknown command 'exchnage'"));
}

TEST_CASE("What the services refuse exits 3 with the gRPC code and message", "[binary][cli]") {
  CliMesh mesh;
  CommandResult missing = mesh.Run({"get", kNoSuchSaga});
  INFO(Describe(missing));
  CHECK(missing.exit_code == 3);
  CHECK(missing.out.empty());
  CHECK(absl::StrContains(missing.err, "NOT_FOUND"));
  CHECK(absl::StrContains(missing.err, "no such exchange"));
  CHECK(absl::StrContains(missing.err, mesh.coordinator_address()));

  CommandResult history = mesh.Run({"history", kNoSuchSaga});
  CHECK(history.exit_code == 3);
  CHECK(absl::StrContains(history.err, "NOT_FOUND"));

  CommandResult no_account = mesh.Run({"accounts", "show", "nobody"});
  CHECK(no_account.exit_code == 3);
  CHECK(absl::StrContains(no_account.err, "no account nobody on krw-ledger"));

  CommandResult bad_quote = mesh.Run({"exchange", "--quote", "no-such-quote", "--from", "a", "--to",
                                      "b", "--customer", "c", "--key", "k-1"});
  CHECK(bad_quote.exit_code == 3);
  CHECK(absl::StrContains(bad_quote.err, "NOT_FOUND"));
}

TEST_CASE("An unreachable service exits 4 and says how to retry safely", "[binary][cli]") {
  CommandResult exchange =
      Fxmesh({"--coordinator", "127.0.0.1:1", "exchange", "--quote", "q-1", "--from", "a", "--to",
              "b", "--customer", "c", "--key", "ex-42"});
  INFO(Describe(exchange));
  CHECK(exchange.exit_code == 4);
  CHECK(exchange.out.empty());
  CHECK(absl::StrContains(exchange.err, "UNAVAILABLE"));
  CHECK(absl::StrContains(exchange.err, "127.0.0.1:1"));
  CHECK(absl::StrContains(exchange.err, "the outcome is unknown"));
  CHECK(absl::StrContains(exchange.err, "--key ex-42"));

  // The ledger address from the environment; the generated request id is in the retry command.
  CommandResult deposit = Fxmesh({"deposit", "a", "5", "KRW"}, {"FXMESH_KRW_LEDGER=127.0.0.1:1"});
  INFO(Describe(deposit));
  CHECK(deposit.exit_code == 4);
  CHECK(absl::StrContains(deposit.err, "krw-ledger at 127.0.0.1:1"));
  CHECK(absl::StrContains(deposit.err, "fxmesh deposit a 5 KRW --request-id cli-"));

  CommandResult listing = Fxmesh({"sagas", "--coordinator=127.0.0.1:1", "--json"});
  CHECK(listing.exit_code == 4);
  CHECK(listing.out.empty());
}

TEST_CASE("A pending exchange exits 5 and watch follows it until it is final", "[binary][cli]") {
  // Quotes that hold for 3 s: with the FX ledger down, the saga retries its Try that long.
  CliMesh mesh({"--quote_ttl_ms=3000"});
  mesh.Fund(mesh.krw(), "dan-krw", "KRW", 1'000'000);
  mesh.Fund(mesh.fx(), "dan-usd", "USD", 0);
  const std::string quote = mesh.Quote("KRW", "USD", "--buy", "10");
  mesh.KillLedger("fx");
  CommandResult pending =
      mesh.Run({"exchange", "--quote", quote, "--from", "dan-krw", "--to", "dan-usd", "--customer",
                "dan", "--key", "ex-slow", "--timeout", "1.5", "--json"});
  INFO(Describe(pending));
  REQUIRE(pending.exit_code == 5);
  const v1::Exchange exchange = Parse<v1::ExchangeResponse>(pending.out).exchange();
  CHECK(exchange.status() == v1::EXCHANGE_STATUS_PENDING);
  CHECK(absl::StrContains(pending.err, absl::StrCat("fxmesh watch ", exchange.saga_id())));

  // A watch that gives up first exits 4; the exchange goes on.
  CommandResult impatient = mesh.Run({"watch", exchange.saga_id(), "--timeout", "0.5"});
  INFO(Describe(impatient));
  CHECK(impatient.exit_code == 4);
  CHECK(absl::StrContains(impatient.err, "DEADLINE_EXCEEDED"));
  CHECK(absl::StrContains(impatient.err,
                          absl::StrCat("watch it again: fxmesh watch ", exchange.saga_id())));

  mesh.StartLedger("fx");
  CommandResult watched = mesh.Run({"watch", exchange.saga_id(), "--json"});
  INFO(Describe(watched));
  const v1::Exchange last = Parse<v1::Exchange>(Lines(watched.out).back());
  // The ledger may be back before the quote expires (the Try then succeeds) or after (the saga
  // cancels): either way the watch ends at a final state and exits by it.
  REQUIRE((last.state() == v1::SAGA_STATE_COMPLETED || last.state() == v1::SAGA_STATE_CANCELLED));
  CHECK(watched.exit_code == (last.state() == v1::SAGA_STATE_COMPLETED ? 0 : 1));
  mesh.CheckLedgers();
}

TEST_CASE("Operators list sagas and read history alerts participants and the audit log",
          "[binary][cli]") {
  CliMesh mesh;
  mesh.Fund(mesh.krw(), "erin-krw", "KRW", 1'000'000);
  mesh.Fund(mesh.fx(), "erin-usd", "USD", 0);
  auto exchange = [&](const std::string& key, const std::string& krw) {
    const std::string quote = mesh.Quote("KRW", "USD", "--sell", krw);
    CommandResult result = mesh.Run({"exchange", "--quote", quote, "--from", "erin-krw", "--to",
                                     "erin-usd", "--customer", "erin", "--key", key, "--json"});
    return Parse<v1::ExchangeResponse>(result.out).exchange();
  };
  const v1::Exchange done = exchange("ok-1", "137000");
  const v1::Exchange failed = exchange("poor-1", "9000000");
  REQUIRE(done.status() == v1::EXCHANGE_STATUS_COMPLETED);
  REQUIRE(failed.status() == v1::EXCHANGE_STATUS_FAILED);
  mesh.AwaitFinal(failed.saga_id());

  CommandResult sagas = mesh.Ok({"sagas"});
  CHECK(absl::StrContains(sagas.out, "SAGA ID"));
  CHECK(absl::StrContains(sagas.out, absl::StrCat(done.saga_id(), "  COMPLETED  erin")));
  CHECK(absl::StrContains(sagas.out, failed.saga_id()));
  CHECK(absl::StrContains(sagas.out, "INSUFFICIENT_FUNDS"));
  CHECK(absl::StrContains(sagas.out, "2 sagas"));

  CommandResult completed = mesh.Ok({"sagas", "--state", "completed", "--json"});
  const v1::ListSagasResponse listed = Parse<v1::ListSagasResponse>(completed.out);
  REQUIRE(listed.sagas_size() == 1);
  CHECK(listed.sagas(0).saga_id() == done.saga_id());
  CommandResult limited = mesh.Ok({"sagas", "--limit", "1"});
  CHECK(absl::StrContains(limited.out, "showing the first 1 saga; more match"));

  CommandResult history = mesh.Ok({"history", done.saga_id()});
  CHECK(absl::StrContains(history.out, "Branches"));
  CHECK(absl::StrContains(history.out, "krw-ledger"));
  CHECK(absl::StrContains(history.out, "TRYING → CONFIRMING"));
  CHECK(absl::StrContains(history.out, "CONFIRMING → COMPLETED"));
  const v1::SagaHistory parsed =
      Parse<v1::SagaHistory>(mesh.Ok({"history", done.saga_id(), "--json"}).out);
  CHECK(parsed.saga().state() == v1::SAGA_STATE_COMPLETED);
  CHECK(parsed.steps_size() >= 3);

  CommandResult alerts = mesh.Ok({"alerts"});
  CHECK(absl::StrContains(alerts.out, "stuck sagas:"));
  CHECK(absl::StrContains(alerts.out, "dead letters pending:"));
  CHECK(Parse<v1::Alerts>(mesh.Ok({"alerts", "--json"}).out).stuck_sagas_size() == 0);

  // Pause and resume the FX ledger: the participants listing and the audit log show both.
  mesh.Ok({"pause", "fx-ledger", "--operator", "kim", "--reason", "database upgrade"});
  CommandResult paused = mesh.Ok({"participants"});
  CHECK(absl::StrContains(paused.out, "paused"));
  CHECK(absl::StrContains(paused.out, "database upgrade"));
  mesh.Ok({"resume", "fx-ledger", "--operator", "kim"});
  const v1::ListParticipantsResponse participants =
      Parse<v1::ListParticipantsResponse>(mesh.Ok({"participants", "--json"}).out);
  REQUIRE(participants.participants_size() == 2);
  for (const v1::Participant& participant : participants.participants()) {
    CHECK_FALSE(participant.paused());
  }
  CommandResult audit = mesh.Ok({"audit"});
  CHECK(absl::StrContains(audit.out, "kim"));
  CHECK(absl::StrContains(audit.out, "2 entries"));

  // An operator resolution of a finished saga is refused: it is not stuck.
  CommandResult propose = mesh.Run({"propose", done.saga_id(), "--action", "cancel", "--reason",
                                    "CUSTOMER_REQUEST", "--operator", "kim"});
  INFO(Describe(propose));
  CHECK(propose.exit_code == 3);
  CHECK(absl::StrContains(propose.err, "FAILED_PRECONDITION"));

  // The coordinator's address from the environment works the same.
  CommandResult from_environment = Fxmesh(
      {"sagas", "--active"}, {absl::StrCat("FXMESH_COORDINATOR=", mesh.coordinator_address())});
  INFO(Describe(from_environment));
  CHECK(from_environment.exit_code == 0);
  CHECK(absl::StrContains(from_environment.out, "No saga matches."));
}

TEST_CASE("Replay with nothing to replay says so and changes nothing", "[binary][cli]") {
  CliMesh mesh;
  CommandResult listed = mesh.Ok({"dead-letters"});
  CHECK(absl::StrContains(listed.out, "No dead letter is pending."));
  CommandResult replayed = mesh.Ok({"replay", "--all", "--operator", "kim", "--reason", "check"});
  CHECK(absl::StrContains(replayed.out, "Nothing to replay"));
  const v1::ReplayDeadLettersResponse response = Parse<v1::ReplayDeadLettersResponse>(
      mesh.Ok({"replay", "--all", "--operator", "kim", "--reason", "check", "--json"}).out);
  CHECK(response.replayed_size() == 0);
  CHECK(response.skipped_size() == 0);
  CommandResult unknown = mesh.Run({"replay", "7", "--operator", "kim", "--reason", "check"});
  INFO(Describe(unknown));
  CHECK(unknown.exit_code == 3);
  CHECK(absl::StrContains(unknown.err, "no dead letter 7"));
}

TEST_CASE("Reconcile shows both balance sheets and holds", "[binary][cli]") {
  CliMesh mesh;
  mesh.Fund(mesh.krw(), "fay-krw", "KRW", 250'000);
  CommandResult reconciled = mesh.Ok({"reconcile"});
  CHECK(absl::StrContains(reconciled.out, "krw-ledger (" + mesh.krw_address() + "): balanced"));
  CHECK(absl::StrContains(reconciled.out, "fx-ledger (" + mesh.fx_address() + "): balanced"));
  CHECK(absl::StrContains(reconciled.out, "10,000,250,000 KRW"));
  CHECK(absl::StrContains(reconciled.out, "10,000,000.00 USD"));
  const std::vector<std::string> sheets = Lines(mesh.Ok({"reconcile", "--json"}).out);
  REQUIRE(sheets.size() == 2);
  for (const std::string& sheet : sheets) CHECK(Parse<v1::BalanceSheet>(sheet).balanced());

  CommandResult holds = mesh.Ok({"holds", "--ledger", "krw", "--state", "held"});
  CHECK(absl::StrContains(holds.out, "No hold matches."));
}

// A stand-in service served in this process on a free loopback port, written to `port`.
std::unique_ptr<grpc::Server> ServeOnLoopback(grpc::Service& service, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);
  return server;
}

// A ledger that reports itself out of balance, standing in for a corrupted one: the tool is what
// is under test here, and a real ledger never serves an unbalanced sheet.
class UnbalancedLedger final : public v1::LedgerService::Service {
  grpc::Status GetBalanceSheet(grpc::ServerContext*, const v1::GetBalanceSheetRequest*,
                               v1::BalanceSheet* sheet) override {
    v1::CurrencyTotals* totals = sheet->add_currencies();
    totals->set_currency("KRW");
    totals->set_available_minor(900);
    totals->set_deposited_minor(1'000);
    sheet->set_balanced(false);
    return grpc::Status::OK;
  }
};

TEST_CASE("Reconcile exits 1 when a ledger is out of balance", "[binary][cli]") {
  CliMesh mesh;
  UnbalancedLedger ledger;
  int port = 0;
  std::unique_ptr<grpc::Server> server = ServeOnLoopback(ledger, &port);
  CommandResult result = mesh.Run({"reconcile", "--krw-ledger", absl::StrCat("127.0.0.1:", port)});
  INFO(Describe(result));
  CHECK(result.exit_code == 1);
  CHECK(absl::StrContains(result.out, "OUT OF BALANCE"));
  CHECK(absl::StrContains(result.out, "fx-ledger (" + mesh.fx_address() + "): balanced"));
  CHECK(absl::StrContains(result.err, "krw-ledger is out of balance"));
  server->Shutdown();
}

// A service whose readiness check answers NOT_SERVING, standing in for one that lost its database.
class NotReady final : public grpc::health::v1::Health::Service {
  grpc::Status Check(grpc::ServerContext*, const grpc::health::v1::HealthCheckRequest*,
                     grpc::health::v1::HealthCheckResponse* response) override {
    response->set_status(grpc::health::v1::HealthCheckResponse::NOT_SERVING);
    return grpc::Status::OK;
  }
};

TEST_CASE("Health exits 0 when ready and 1 or 4 when a service is not ready or silent",
          "[binary][cli]") {
  CliMesh mesh;
  using grpc::health::v1::HealthCheckResponse;
  const CommandResult ready = mesh.Ok({"health", "krw-ledger", "--json"});
  CHECK(Parse<HealthCheckResponse>(ready.out).status() == HealthCheckResponse::SERVING);
  const CommandResult live = mesh.Ok({"health", "coordinator", "--liveness"});
  CHECK(absl::StrContains(live.out, "LIVE"));
  CHECK(absl::StrContains(RowOf(live.out, "coordinator"), " SERVING"));

  NotReady not_ready;
  int port = 0;
  std::unique_ptr<grpc::Server> server = ServeOnLoopback(not_ready, &port);
  CommandResult unready = mesh.Run({"health", "fx-ledger", "--fx-ledger", Loopback(port)});
  INFO(Describe(unready));
  CHECK(unready.exit_code == 1);
  CHECK(absl::StrContains(unready.out, "NOT_SERVING"));
  CHECK(absl::StrContains(unready.err, "not serving: fx-ledger"));
  server->Shutdown();

  // Every service: the relay is not running here, and not knowing wins over the others' answers.
  CommandResult all = mesh.Run({"health", "--relay", "127.0.0.1:1"});
  INFO(Describe(all));
  CHECK(all.exit_code == 4);
  CHECK(absl::StrContains(RowOf(all.out, "krw-ledger"), " SERVING"));
  CHECK(absl::StrContains(RowOf(all.out, "relay"), "no answer: UNAVAILABLE"));
  CHECK(absl::StrContains(all.err, "no answer from relay at 127.0.0.1:1"));
  CHECK(mesh.Run({"health", "kafka"}).exit_code == 2);
}

}  // namespace
}  // namespace fxmesh::testing
