// Proves the ledger over real gRPC on loopback: a LedgerServer on a free port, called through a
// channel exactly as the coordinator will call it — open, deposit, Try/Confirm/Cancel, get account,
// list holds and journal — with business outcomes in responses and malformed requests mapped to
// INVALID_ARGUMENT (a huge malformed id logged in one short line), and the health service
// reporting SERVING. With dev faults on, an armed call answers UNAVAILABLE and changes nothing
// until it is cleared; without them, the fault service is not served at all.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "ledger/dev/dev_faults.h"
#include "ledger/ledger_server.h"
#include "tests/ledger/ledger_harness.h"
#include "tests/support/test_database.h"

namespace fxmesh::ledger {
namespace {

class GrpcLedger {
 public:
  explicit GrpcLedger(testing::Backend backend, bool dev_faults = false) : database_(backend) {
    LedgerServerOptions options;
    options.database.url = database_.url();
    options.currencies = *ParseCurrencyList("USD,EUR,JPY,CNY");
    if (dev_faults) fault_switch_.ApplyTo(options);  // As the binaries' --dev_faults wires it.
    absl::StatusOr<std::unique_ptr<LedgerServer>> server = LedgerServer::Start(options, clock_);
    INFO(server.status().ToString());
    REQUIRE(server.ok());
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::LedgerService::NewStub(channel_);
    faults_ = v1::LedgerFaultService::NewStub(channel_);
  }

  v1::LedgerService::Stub& stub() { return *stub_; }
  v1::LedgerFaultService::Stub& faults() { return *faults_; }

  // Opens alice's USD account and funds the bank's USD position with 10,000.00 USD, as every test
  // here starts; returns both answers.
  std::pair<v1::AccountResponse, v1::ExternalTransferResponse> OpenAliceAndFundPosition() {
    v1::OpenAccountRequest open;
    open.set_account_id("alice-usd");
    open.set_currency("USD");
    open.set_owner("alice");
    v1::AccountResponse opened;
    REQUIRE(stub_->OpenAccount(Context().get(), open, &opened).ok());
    v1::ExternalTransferRequest deposit;
    deposit.set_request_id("fund-position");
    deposit.set_account_id("position:USD");
    deposit.mutable_amount()->set_amount_minor(1'000'000);
    deposit.mutable_amount()->set_currency("USD");
    v1::ExternalTransferResponse deposited;
    REQUIRE(stub_->Deposit(Context().get(), deposit, &deposited).ok());
    return {opened, deposited};
  }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

  // Every call carries a deadline, as every fxmesh client call must.
  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return context;
  }

 private:
  testing::TestDatabase database_;
  SystemClock clock_;
  DevFaultSwitch fault_switch_{clock_};
  std::unique_ptr<LedgerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  std::unique_ptr<v1::LedgerFaultService::Stub> faults_;
};

FXMESH_BACKEND_TEST("the ledger serves TCC branches over gRPC", "[ledger][integration]") {
  GrpcLedger ledger(backend);
  v1::LedgerService::Stub& stub = ledger.stub();

  grpc::health::v1::HealthCheckResponse health;
  grpc::health::v1::HealthCheckRequest health_request;
  auto health_stub = grpc::health::v1::Health::NewStub(ledger.channel());
  REQUIRE(health_stub->Check(ledger.Context().get(), health_request, &health).ok());
  CHECK(health.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  const auto [opened, deposited] = ledger.OpenAliceAndFundPosition();
  CHECK(opened.outcome() == v1::OUTCOME_APPLIED);
  CHECK(deposited.outcome() == v1::OUTCOME_APPLIED);

  // The FX leg of a KRW→USD exchange: USD moves from the bank's position to the customer.
  v1::TryRequest try_request;
  try_request.mutable_branch()->set_saga_id(TestSagaId(42));
  try_request.mutable_branch()->set_branch("fx");
  try_request.set_customer_id("alice");
  try_request.set_debit_account_id("position:USD");
  try_request.set_credit_account_id("alice-usd");
  try_request.mutable_amount()->set_amount_minor(7'342);
  try_request.mutable_amount()->set_currency("USD");
  v1::BranchResponse tried;
  REQUIRE(stub.Try(ledger.Context().get(), try_request, &tried).ok());
  CHECK(tried.outcome() == v1::OUTCOME_APPLIED);
  CHECK(tried.hold().state() == v1::HOLD_STATE_HELD);

  v1::GetAccountRequest get;
  get.set_account_id("alice-usd");
  v1::Account alice;
  REQUIRE(stub.GetAccount(ledger.Context().get(), get, &alice).ok());
  CHECK(alice.incoming_minor() == 7'342);
  CHECK(alice.available_minor() == 0);

  v1::ListHoldsRequest list;
  list.set_state(v1::HOLD_STATE_HELD);
  v1::ListHoldsResponse holds;
  REQUIRE(stub.ListHolds(ledger.Context().get(), list, &holds).ok());
  REQUIRE(holds.holds_size() == 1);
  CHECK(holds.holds(0).branch().saga_id() == TestSagaId(42));

  v1::BranchRequest confirm;
  *confirm.mutable_branch() = try_request.branch();
  v1::BranchResponse confirmed;
  REQUIRE(stub.Confirm(ledger.Context().get(), confirm, &confirmed).ok());
  CHECK(confirmed.outcome() == v1::OUTCOME_APPLIED);
  REQUIRE(stub.Confirm(ledger.Context().get(), confirm, &confirmed).ok());
  CHECK(confirmed.outcome() == v1::OUTCOME_DUPLICATE);
  REQUIRE(stub.GetAccount(ledger.Context().get(), get, &alice).ok());
  CHECK(alice.available_minor() == 7'342);
  CHECK(alice.incoming_minor() == 0);

  // A Cancel after the Confirm is a business "no", not a fault.
  v1::BranchResponse cancelled;
  REQUIRE(stub.Cancel(ledger.Context().get(), confirm, &cancelled).ok());
  CHECK(cancelled.outcome() == v1::OUTCOME_REJECTED);
  CHECK(cancelled.reason() == v1::REJECT_REASON_BRANCH_CONFIRMED);

  v1::ListJournalRequest journal_request;
  journal_request.set_account_id("alice-usd");
  v1::ListJournalResponse journal;
  REQUIRE(stub.ListJournal(ledger.Context().get(), journal_request, &journal).ok());
  REQUIRE(journal.entries_size() == 1);
  CHECK(journal.entries(0).amount().amount_minor() == 7'342);

  v1::BalanceSheet sheet;
  REQUIRE(stub.GetBalanceSheet(ledger.Context().get(), v1::GetBalanceSheetRequest(), &sheet).ok());
  CHECK(sheet.balanced());

  // Malformed requests are gRPC errors that say what is wrong; unknown accounts are NOT_FOUND.
  v1::TryRequest malformed = try_request;
  malformed.mutable_amount()->set_amount_minor(0);
  grpc::Status status = stub.Try(ledger.Context().get(), malformed, &tried);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("amount.amount_minor must be a positive"));
  get.set_account_id("nobody");
  status = stub.GetAccount(ledger.Context().get(), get, &alice);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
}

// The FX leg of test saga `n`: 10.00 USD from the bank's position to alice.
v1::TryRequest FxTry(int n) {
  v1::TryRequest request;
  request.mutable_branch()->set_saga_id(TestSagaId(n));
  request.mutable_branch()->set_branch("fx");
  request.set_customer_id("alice");
  request.set_debit_account_id("position:USD");
  request.set_credit_account_id("alice-usd");
  request.mutable_amount()->set_amount_minor(1'000);
  request.mutable_amount()->set_currency("USD");
  return request;
}

TEST_CASE("a dev fault makes a ledger call answer UNAVAILABLE until it is cleared",
          "[ledger][integration][sqlite]") {
  GrpcLedger ledger(testing::Backend::kSqlite, /*dev_faults=*/true);
  v1::LedgerService::Stub& stub = ledger.stub();
  v1::LedgerFaultService::Stub& faults = ledger.faults();
  ledger.OpenAliceAndFundPosition();

  v1::LedgerFaults armed;
  REQUIRE(faults.GetFaults(ledger.Context().get(), v1::GetFaultsRequest(), &armed).ok());
  CHECK(armed.faults().empty());
  v1::ArmFaultRequest arm;
  arm.set_call(v1::FAULT_CALL_TRY);
  REQUIRE(faults.ArmFault(ledger.Context().get(), arm, &armed).ok());
  REQUIRE(armed.faults_size() == 1);
  CHECK(armed.faults(0).call() == v1::FAULT_CALL_TRY);
  CHECK(armed.faults(0).calls_refused() == 0);

  // Armed: every Try is "don't know", and none reaches the ledger's books.
  v1::BranchResponse tried;
  for (int attempt = 0; attempt < 2; ++attempt) {
    grpc::Status status = stub.Try(ledger.Context().get(), FxTry(1), &tried);
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(status.error_message(), Catch::Contains("dev fault"));
  }
  v1::ListHoldsResponse holds;
  REQUIRE(stub.ListHolds(ledger.Context().get(), v1::ListHoldsRequest(), &holds).ok());
  CHECK(holds.holds().empty());
  REQUIRE(faults.GetFaults(ledger.Context().get(), v1::GetFaultsRequest(), &armed).ok());
  REQUIRE(armed.faults_size() == 1);
  CHECK(armed.faults(0).calls_refused() == 2);

  // Only the armed call fails: a Cancel still answers, until Cancel is armed too.
  v1::BranchRequest cancel;
  cancel.mutable_branch()->set_saga_id(TestSagaId(2));
  cancel.mutable_branch()->set_branch("fx");
  v1::BranchResponse cancelled;
  REQUIRE(stub.Cancel(ledger.Context().get(), cancel, &cancelled).ok());
  CHECK(cancelled.outcome() == v1::OUTCOME_NULL_COMPENSATION);
  arm.set_call(v1::FAULT_CALL_CANCEL);
  REQUIRE(faults.ArmFault(ledger.Context().get(), arm, &armed).ok());
  CHECK(armed.faults_size() == 2);
  cancel.mutable_branch()->set_saga_id(TestSagaId(3));
  CHECK(stub.Cancel(ledger.Context().get(), cancel, &cancelled).error_code() ==
        grpc::StatusCode::UNAVAILABLE);
  v1::ClearFaultsRequest clear;
  clear.set_call(v1::FAULT_CALL_CANCEL);
  REQUIRE(faults.ClearFaults(ledger.Context().get(), clear, &armed).ok());
  REQUIRE(armed.faults_size() == 1);
  CHECK(armed.faults(0).call() == v1::FAULT_CALL_TRY);

  // Cleared (every fault, with the call unset): the same Try now goes through.
  REQUIRE(faults.ClearFaults(ledger.Context().get(), v1::ClearFaultsRequest(), &armed).ok());
  CHECK(armed.faults().empty());
  REQUIRE(stub.Try(ledger.Context().get(), FxTry(1), &tried).ok());
  CHECK(tried.outcome() == v1::OUTCOME_APPLIED);
  CHECK(tried.hold().state() == v1::HOLD_STATE_HELD);

  // A fault for no call is a malformed request.
  arm.set_call(v1::FAULT_CALL_UNSPECIFIED);
  CHECK(faults.ArmFault(ledger.Context().get(), arm, &armed).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("a ledger without dev faults does not serve the fault service",
          "[ledger][integration][sqlite]") {
  GrpcLedger ledger(testing::Backend::kSqlite);
  v1::ArmFaultRequest arm;
  arm.set_call(v1::FAULT_CALL_TRY);
  v1::LedgerFaults armed;
  CHECK(ledger.faults().ArmFault(ledger.Context().get(), arm, &armed).error_code() ==
        grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace fxmesh::ledger

namespace fxmesh::ledger {
namespace {

// Everything written to stderr (where log lines go) while `work` runs.
template <typename Work>
std::string CaptureStderr(Work work) {
  std::fflush(stderr);
  std::FILE* temp = std::tmpfile();
  REQUIRE(temp != nullptr);
  const int file = fileno(temp);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  work();
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string captured;
  char buffer[4096];
  lseek(file, 0, SEEK_SET);
  for (ssize_t n; (n = read(file, buffer, sizeof(buffer))) > 0;) captured.append(buffer, n);
  std::fclose(temp);
  return captured;
}

TEST_CASE("a Try with a 10 KB saga id is refused and logged in one short line",
          "[ledger][integration][sqlite]") {
  GrpcLedger ledger(testing::Backend::kSqlite);
  ledger.OpenAliceAndFundPosition();
  v1::TryRequest request;
  request.mutable_branch()->set_saga_id(std::string(10'000, 'f'));
  request.mutable_branch()->set_branch("fx");
  request.set_customer_id("alice");
  request.set_debit_account_id("position:USD");
  request.set_credit_account_id("alice-usd");
  request.mutable_amount()->set_amount_minor(100);
  request.mutable_amount()->set_currency("USD");
  grpc::Status status;
  const std::string logged = CaptureStderr([&] {
    v1::BranchResponse response;
    status = ledger.stub().Try(ledger.Context().get(), request, &response);
  });
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  INFO(logged.substr(0, 400));
  CHECK(logged.find("branch call") != std::string::npos);
  for (absl::string_view line : absl::StrSplit(logged, '\n')) CHECK(line.size() < 1'000);
}

}  // namespace
}  // namespace fxmesh::ledger
