// Proves that a ledger answers hostile input on every RPC of LedgerService, LedgerFaultService and
// its TraceService with INVALID_ARGUMENT, a documented business outcome (a REJECTED reason,
// NOT_FOUND for an unknown account) or DEADLINE_EXCEEDED, with a clear message, and changes
// nothing: every table of its database and its armed faults are compared before and after each row.
// A real ledger server over real gRPC, on SQLite.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/log.h"
#include "fxmesh/v1/ledger.grpc.pb.h"
#include "fxmesh/v1/ledger_fault.grpc.pb.h"
#include "fxmesh/v1/trace.grpc.pb.h"
#include "ledger/ledger_server.h"
#include "tests/coordinator/coordinator_harness.h"
#include "tests/security/hostile_input.h"
#include "tests/support/test_database.h"

namespace fxmesh::testing {
namespace {

using grpc::StatusCode;
using v1::LedgerService;

const std::string kHeldSaga = "a0000000000000000000000000000001";       // Tried, HELD.
const std::string kConfirmedSaga = "a0000000000000000000000000000002";  // Tried and confirmed.
const std::string kCancelledSaga = "a0000000000000000000000000000003";  // Cancelled untried.
const std::string kUnknownSaga = "a00000000000000000000000000000ff";

const Expect kOk{StatusCode::OK, ""};
const Expect kInvalid{StatusCode::INVALID_ARGUMENT, ""};

Expect Rejected(const std::string& reason) { return {StatusCode::OK, reason}; }

class HostileLedger {
 public:
  HostileLedger() : database_(Backend::kSqlite) {
    SetLogLevel(LogLevel::kError);
    server_ = coordinator::StartTestLedger(database_, "KRW", &fault_switch_);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    ledger_ = LedgerService::NewStub(channel);
    faults_ = v1::LedgerFaultService::NewStub(channel);
    traces_ = v1::TraceService::NewStub(channel);
  }

  LedgerService::Stub& ledger() { return *ledger_; }
  v1::LedgerFaultService::Stub& faults() { return *faults_; }
  v1::TraceService::Stub& traces() { return *traces_; }

  // Every table, and the armed faults.
  std::string Snapshot() {
    v1::LedgerFaults faults;
    grpc::ClientContext context;
    REQUIRE(faults_->GetFaults(&context, v1::GetFaultsRequest(), &faults).ok());
    return DumpTables(database_.url(),
                      {"accounts", "holds", "barriers", "journal", "external_transfers"}) +
           faults.ShortDebugString();
  }

  // alice and bob, each with a funded KRW account; a held, a confirmed and a cancelled branch.
  void Seed() {
    for (const char* customer : {"alice", "bob"}) {
      v1::OpenAccountRequest open;
      open.set_account_id(absl::StrCat(customer, "-krw"));
      open.set_currency("KRW");
      open.set_owner(customer);
      v1::AccountResponse opened;
      grpc::ClientContext open_context;
      REQUIRE(ledger_->OpenAccount(&open_context, open, &opened).ok());
      REQUIRE(opened.outcome() == v1::OUTCOME_APPLIED);
      v1::ExternalTransferRequest deposit = ValidDeposit();
      deposit.set_request_id(absl::StrCat("seed-", customer));
      deposit.set_account_id(open.account_id());
      v1::ExternalTransferResponse deposited;
      grpc::ClientContext deposit_context;
      REQUIRE(ledger_->Deposit(&deposit_context, deposit, &deposited).ok());
      REQUIRE(deposited.outcome() == v1::OUTCOME_APPLIED);
    }
    for (const std::string& saga : {kHeldSaga, kConfirmedSaga}) {
      v1::TryRequest request = ValidTry(saga);
      v1::BranchResponse response;
      grpc::ClientContext context;
      REQUIRE(ledger_->Try(&context, request, &response).ok());
      REQUIRE(response.outcome() == v1::OUTCOME_APPLIED);
    }
    for (const auto& [saga, confirm] : {std::pair{kConfirmedSaga, true}, {kCancelledSaga, false}}) {
      v1::BranchRequest request = Branch(saga);
      v1::BranchResponse response;
      grpc::ClientContext context;
      REQUIRE((confirm ? ledger_->Confirm(&context, request, &response)
                       : ledger_->Cancel(&context, request, &response))
                  .ok());
      REQUIRE(response.outcome() != v1::OUTCOME_REJECTED);
    }
  }

  static v1::TryRequest ValidTry(const std::string& saga_id) {
    v1::TryRequest request;
    request.mutable_branch()->set_saga_id(saga_id);
    request.mutable_branch()->set_branch("krw");
    request.set_debit_account_id("alice-krw");
    request.set_credit_account_id("position:KRW");
    request.mutable_amount()->set_amount_minor(1'000);
    request.mutable_amount()->set_currency("KRW");
    request.set_customer_id("alice");
    return request;
  }
  static v1::BranchRequest Branch(const std::string& saga_id) {
    v1::BranchRequest request;
    request.mutable_branch()->set_saga_id(saga_id);
    request.mutable_branch()->set_branch("krw");
    return request;
  }
  static v1::ExternalTransferRequest ValidDeposit() {
    v1::ExternalTransferRequest request;
    request.set_request_id("seed-alice");
    request.set_account_id("alice-krw");
    request.mutable_amount()->set_amount_minor(1'000'000);
    request.mutable_amount()->set_currency("KRW");
    return request;
  }

 private:
  TestDatabase database_;
  ledger::DevFaultSwitch fault_switch_{SystemClock::Get()};  // Outlives the server.
  std::unique_ptr<ledger::LedgerServer> server_;
  std::unique_ptr<LedgerService::Stub> ledger_;
  std::unique_ptr<v1::LedgerFaultService::Stub> faults_;
  std::unique_ptr<v1::TraceService::Stub> traces_;
};

// Rows every BranchRef gets, Try's and Confirm's and Cancel's alike.
template <typename Request>
std::vector<Row<Request>> BranchRows() {
  std::vector<Row<Request>> rows = SagaIdRows<Request>(
      "saga_id", [](Request& r, const std::string& v) { r.mutable_branch()->set_saga_id(v); });
  auto branch = [](std::string value) {
    return [value](Request& r) { r.mutable_branch()->set_branch(value); };
  };
  Add(rows,
      {
          {"branch missing", branch(""), {StatusCode::INVALID_ARGUMENT, "branch is required"}},
          {"branch of 200 KiB", branch(Huge()), {StatusCode::INVALID_ARGUMENT, "at most 32"}},
          {"branch in capitals", branch("KRW"), {StatusCode::INVALID_ARGUMENT, "lowercase"}},
          {"branch with a newline", branch("krw\n"), {StatusCode::INVALID_ARGUMENT, "[a-z"}},
          {"branch not UTF-8", branch(kInvalidUtf8), kMalformed},
          {"no branch at all",
           [](Request& r) { r.clear_branch(); },
           {StatusCode::INVALID_ARGUMENT, "saga_id is required"}},
      });
  return rows;
}

TEST_CASE("hostile input to every ledger RPC is refused and changes nothing",
          "[security][integration][sqlite]") {
  HostileLedger ledger;
  ledger.Seed();
  HostileTables tables([&] { return ledger.Snapshot(); });
  const StatusCode invalid = StatusCode::INVALID_ARGUMENT;

  // Try. The valid request repeats the held branch: a DUPLICATE that changes nothing.
  std::vector<Row<v1::TryRequest>> try_rows = BranchRows<v1::TryRequest>();
  Add(try_rows, KeyRows<v1::TryRequest>("debit_account_id", [](auto& r, const std::string& v) {
        r.set_debit_account_id(v);
      }));
  Add(try_rows, KeyRows<v1::TryRequest>("credit_account_id", [](auto& r, const std::string& v) {
        r.set_credit_account_id(v);
      }));
  Add(try_rows, KeyRows<v1::TryRequest>(
                    "customer_id", [](auto& r, const std::string& v) { r.set_customer_id(v); }));
  Add(try_rows, AmountRows<v1::TryRequest>(
                    [](auto& r, int64_t v) { r.mutable_amount()->set_amount_minor(v); }));
  Add(try_rows, DeadlineRows<v1::TryRequest>(Rejected("OUTCOME_DUPLICATE")));
  Add(try_rows,
      {
          {"currency missing",
           [](auto& r) { r.mutable_amount()->clear_currency(); },
           {invalid, "amount.currency is required"}},
          {"currency in lower case",
           [](auto& r) { r.mutable_amount()->set_currency("krw"); },
           {invalid, "is not served by this ledger"}},
          {"currency of 200 KiB",
           [](auto& r) { r.mutable_amount()->set_currency(Huge('K')); },
           {invalid, "is not served by this ledger"}},
          {"currency not UTF-8", [](auto& r) { r.mutable_amount()->set_currency(kInvalidUtf8); },
           kMalformed},
          {"no amount at all", [](auto& r) { r.clear_amount(); }, {invalid, "positive number"}},
          {"the same account twice",
           [](auto& r) { r.set_credit_account_id("alice-krw"); },
           {invalid, "a transfer needs two accounts"}},
          {"another customer's debit account",
           [](auto& r) {
             r.mutable_branch()->set_saga_id(kUnknownSaga);
             r.set_debit_account_id("bob-krw");
           },
           Rejected("REJECT_REASON_NOT_OWNER")},
          {"another customer's credit account",
           [](auto& r) {
             r.mutable_branch()->set_saga_id(kUnknownSaga);
             r.set_debit_account_id("position:KRW");
             r.set_credit_account_id("bob-krw");
           },
           Rejected("REJECT_REASON_NOT_OWNER")},
          {"an account that does not exist",
           [](auto& r) {
             r.mutable_branch()->set_saga_id(kUnknownSaga);
             r.set_debit_account_id("nobody-krw");
           },
           Rejected("REJECT_REASON_ACCOUNT_NOT_FOUND")},
          {"more than the account has",
           [](auto& r) {
             r.mutable_branch()->set_saga_id(kUnknownSaga);
             r.mutable_amount()->set_amount_minor(1'000'000'000);
           },
           Rejected("REJECT_REASON_INSUFFICIENT_FUNDS")},
          {"the held branch again with another amount",
           [](auto& r) { r.mutable_amount()->set_amount_minor(999); },
           Rejected("REJECT_REASON_REQUEST_MISMATCH")},
          {"the held branch again from bob's account",
           [](auto& r) { r.set_debit_account_id("bob-krw"); },
           Rejected("REJECT_REASON_REQUEST_MISMATCH")},
          {"a branch cancelled before its Try",
           [](auto& r) { r.mutable_branch()->set_saga_id(kCancelledSaga); },
           Rejected("REJECT_REASON_REJECTED_AFTER_CANCEL")},
      });
  tables.Run(LedgerService::service_full_name() + std::string("/Try"),
             HostileLedger::ValidTry(kHeldSaga), try_rows,
             FXMESH_CALL(&ledger.ledger(), Try, v1::TryRequest, v1::BranchResponse));

  // Confirm and Cancel. The valid requests confirm the confirmed branch again (DUPLICATE); a
  // Cancel of a confirmed branch is refused.
  std::vector<Row<v1::BranchRequest>> confirm_rows = BranchRows<v1::BranchRequest>();
  Add(confirm_rows, DeadlineRows<v1::BranchRequest>(Rejected("OUTCOME_DUPLICATE")));
  Add(confirm_rows,
      {
          {"a branch never tried", [](auto& r) { r.mutable_branch()->set_saga_id(kUnknownSaga); },
           Rejected("REJECT_REASON_BRANCH_NOT_TRIED")},
          {"a branch cancelled before its Try",
           [](auto& r) { r.mutable_branch()->set_saga_id(kCancelledSaga); },
           Rejected("REJECT_REASON_BRANCH_CANCELLED")},
      });
  tables.Run(LedgerService::service_full_name() + std::string("/Confirm"),
             HostileLedger::Branch(kConfirmedSaga), confirm_rows,
             FXMESH_CALL(&ledger.ledger(), Confirm, v1::BranchRequest, v1::BranchResponse));
  std::vector<Row<v1::BranchRequest>> cancel_rows = BranchRows<v1::BranchRequest>();
  Add(cancel_rows, DeadlineRows<v1::BranchRequest>(Rejected("REJECT_REASON_BRANCH_CONFIRMED")));
  tables.Run(LedgerService::service_full_name() + std::string("/Cancel"),
             HostileLedger::Branch(kConfirmedSaga), cancel_rows,
             FXMESH_CALL(&ledger.ledger(), Cancel, v1::BranchRequest, v1::BranchResponse));

  // OpenAccount. The valid request opens alice's account again: DUPLICATE.
  v1::OpenAccountRequest open;
  open.set_account_id("alice-krw");
  open.set_currency("KRW");
  open.set_owner("alice");
  std::vector<Row<v1::OpenAccountRequest>> open_rows = KeyRows<v1::OpenAccountRequest>(
      "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); });
  Add(open_rows, KeyRows<v1::OpenAccountRequest>(
                     "owner", [](auto& r, const std::string& v) { r.set_owner(v); }, false));
  Add(open_rows, DeadlineRows<v1::OpenAccountRequest>(Rejected("OUTCOME_DUPLICATE")));
  Add(open_rows, {
                     {"currency missing",
                      [](auto& r) { r.clear_currency(); },
                      {invalid, "currency is required"}},
                     {"currency not served",
                      [](auto& r) { r.set_currency("USD"); },
                      {invalid, "'USD' is not served"}},
                     {"currency with a control character",
                      [](auto& r) { r.set_currency("K\x07W"); },
                      {invalid, "is not served"}},
                     {"a position account's id",
                      [](auto& r) { r.set_account_id("position:KRW"); },
                      {invalid, "reserved for the bank"}},
                     {"the journal's external account",
                      [](auto& r) { r.set_account_id("external"); },
                      {invalid, "reserved for the bank"}},
                     {"alice's account for bob", [](auto& r) { r.set_owner("bob"); },
                      Rejected("REJECT_REASON_REQUEST_MISMATCH")},
                 });
  tables.Run(
      LedgerService::service_full_name() + std::string("/OpenAccount"), open, open_rows,
      FXMESH_CALL(&ledger.ledger(), OpenAccount, v1::OpenAccountRequest, v1::AccountResponse));

  // GetAccount.
  v1::GetAccountRequest get;
  get.set_account_id("alice-krw");
  std::vector<Row<v1::GetAccountRequest>> get_rows = KeyRows<v1::GetAccountRequest>(
      "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); });
  Add(get_rows, DeadlineRows<v1::GetAccountRequest>(Expect{StatusCode::OK, "alice-krw"}));
  Add(get_rows, {{"an account that does not exist",
                  [](auto& r) { r.set_account_id("nobody-krw"); },
                  {StatusCode::NOT_FOUND, "no account nobody-krw"}}});
  tables.Run(LedgerService::service_full_name() + std::string("/GetAccount"), get, get_rows,
             FXMESH_CALL(&ledger.ledger(), GetAccount, v1::GetAccountRequest, v1::Account));

  // SetAccountFrozen. The valid request unfreezes an account that is not frozen: DUPLICATE.
  v1::SetAccountFrozenRequest freeze;
  freeze.set_account_id("alice-krw");
  freeze.set_frozen(false);
  std::vector<Row<v1::SetAccountFrozenRequest>> freeze_rows = KeyRows<v1::SetAccountFrozenRequest>(
      "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); });
  Add(freeze_rows, DeadlineRows<v1::SetAccountFrozenRequest>(Rejected("OUTCOME_DUPLICATE")));
  Add(freeze_rows, {{"an account that does not exist",
                     [](auto& r) {
                       r.set_account_id("nobody-krw");
                       r.set_frozen(true);
                     },
                     Rejected("REJECT_REASON_ACCOUNT_NOT_FOUND")}});
  tables.Run(LedgerService::service_full_name() + std::string("/SetAccountFrozen"), freeze,
             freeze_rows,
             FXMESH_CALL(&ledger.ledger(), SetAccountFrozen, v1::SetAccountFrozenRequest,
                         v1::AccountResponse));

  // Deposit and Withdraw. The valid request repeats alice's seed deposit: DUPLICATE.
  auto transfer_rows = [&](bool deposit) {
    std::vector<Row<v1::ExternalTransferRequest>> rows = KeyRows<v1::ExternalTransferRequest>(
        "request_id", [](auto& r, const std::string& v) { r.set_request_id(v); });
    Add(rows, KeyRows<v1::ExternalTransferRequest>(
                  "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); }));
    Add(rows, AmountRows<v1::ExternalTransferRequest>(
                  [](auto& r, int64_t v) { r.mutable_amount()->set_amount_minor(v); }));
    Add(rows,
        DeadlineRows<v1::ExternalTransferRequest>(
            deposit ? Rejected("OUTCOME_DUPLICATE") : Rejected("REJECT_REASON_REQUEST_MISMATCH")));
    Add(rows,
        {
            {"currency missing",
             [](auto& r) { r.mutable_amount()->clear_currency(); },
             {invalid, "amount.currency is required"}},
            {"currency not UTF-8", [](auto& r) { r.mutable_amount()->set_currency(kInvalidUtf8); },
             kMalformed},
            {"the same request_id for another amount",
             [](auto& r) { r.mutable_amount()->set_amount_minor(5); },
             Rejected("REJECT_REASON_REQUEST_MISMATCH")},
            {"the same request_id on bob's account", [](auto& r) { r.set_account_id("bob-krw"); },
             Rejected("REJECT_REASON_REQUEST_MISMATCH")},
            {"an account that does not exist",
             [](auto& r) {
               r.set_request_id("new-request");
               r.set_account_id("nobody-krw");
             },
             Rejected("REJECT_REASON_ACCOUNT_NOT_FOUND")},
        });
    if (!deposit) {
      rows.push_back({"more than the account has",
                      [](auto& r) {
                        r.set_request_id("new-request");
                        r.mutable_amount()->set_amount_minor(1'000'000'000);
                      },
                      Rejected("REJECT_REASON_INSUFFICIENT_FUNDS")});
    }
    return rows;
  };
  tables.Run(LedgerService::service_full_name() + std::string("/Deposit"),
             HostileLedger::ValidDeposit(), transfer_rows(true),
             FXMESH_CALL(&ledger.ledger(), Deposit, v1::ExternalTransferRequest,
                         v1::ExternalTransferResponse));
  tables.Run(LedgerService::service_full_name() + std::string("/Withdraw"),
             HostileLedger::ValidDeposit(), transfer_rows(false),
             FXMESH_CALL(&ledger.ledger(), Withdraw, v1::ExternalTransferRequest,
                         v1::ExternalTransferResponse));

  // ListHolds and ListJournal.
  std::vector<Row<v1::ListHoldsRequest>> holds_rows = PageRows<v1::ListHoldsRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(holds_rows,
      KeyRows<v1::ListHoldsRequest>(
          "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); }, false));
  Add(holds_rows, SagaIdRows<v1::ListHoldsRequest>(
                      "saga_id", [](auto& r, const std::string& v) { r.set_saga_id(v); }, false));
  Add(holds_rows, DeadlineRows<v1::ListHoldsRequest>(kOk));
  Add(holds_rows, {
                      {"state not a hold state",
                       [](auto& r) { r.set_state(static_cast<v1::HoldState>(99)); },
                       {invalid, "state 99 is not a hold state"}},
                      {"state negative",
                       [](auto& r) { r.set_state(static_cast<v1::HoldState>(-1)); },
                       {invalid, "is not a hold state"}},
                      {"older_than_seconds -1",
                       [](auto& r) { r.set_older_than_seconds(-1); },
                       {invalid, "older_than_seconds must not be negative"}},
                      // Older than the age of the universe: no hold. (Multiplied to microseconds
                      // unchecked, it wrapped around and listed every hold.)
                      {"older_than_seconds INT64_MAX",
                       [](auto& r) { r.set_older_than_seconds(INT64_MAX); },
                       {StatusCode::OK, "", /*empty_response=*/true}},
                  });
  tables.Run(LedgerService::service_full_name() + std::string("/ListHolds"), v1::ListHoldsRequest(),
             holds_rows,
             FXMESH_CALL(&ledger.ledger(), ListHolds, v1::ListHoldsRequest, v1::ListHoldsResponse));
  std::vector<Row<v1::ListJournalRequest>> journal_rows = PageRows<v1::ListJournalRequest>(
      [](auto& r, int32_t v) { r.set_page_size(v); },
      [](auto& r, const std::string& v) { r.set_page_token(v); }, kOk);
  Add(journal_rows,
      KeyRows<v1::ListJournalRequest>(
          "account_id", [](auto& r, const std::string& v) { r.set_account_id(v); }, false));
  Add(journal_rows, SagaIdRows<v1::ListJournalRequest>(
                        "saga_id", [](auto& r, const std::string& v) { r.set_saga_id(v); }, false));
  Add(journal_rows, DeadlineRows<v1::ListJournalRequest>(kOk));
  tables.Run(
      LedgerService::service_full_name() + std::string("/ListJournal"), v1::ListJournalRequest(),
      journal_rows,
      FXMESH_CALL(&ledger.ledger(), ListJournal, v1::ListJournalRequest, v1::ListJournalResponse));

  // GetBalanceSheet has no fields: only deadlines.
  tables.Run(
      LedgerService::service_full_name() + std::string("/GetBalanceSheet"),
      v1::GetBalanceSheetRequest(),
      DeadlineRows<v1::GetBalanceSheetRequest>(Expect{StatusCode::OK, "balanced: true"}),
      FXMESH_CALL(&ledger.ledger(), GetBalanceSheet, v1::GetBalanceSheetRequest, v1::BalanceSheet));

  // TraceService.
  v1::ListSpansRequest spans;
  spans.set_trace_id(kHeldSaga);
  std::vector<Row<v1::ListSpansRequest>> span_rows = SagaIdRows<v1::ListSpansRequest>(
      "trace_id", [](auto& r, const std::string& v) { r.set_trace_id(v); });
  Add(span_rows, DeadlineRows<v1::ListSpansRequest>(Expect{StatusCode::OK, "Try"}));
  tables.Run(v1::TraceService::service_full_name() + std::string("/ListSpans"), spans, span_rows,
             FXMESH_CALL(&ledger.traces(), ListSpans, v1::ListSpansRequest, v1::ListSpansResponse));

  // LedgerFaultService, with Cancel's fault armed first: arming it again, or clearing Confirm's
  // (not armed), changes nothing.
  v1::ArmFaultRequest arm;
  arm.set_call(v1::FAULT_CALL_CANCEL);
  {
    v1::LedgerFaults armed;
    grpc::ClientContext context;
    REQUIRE(ledger.faults().ArmFault(&context, arm, &armed).ok());
  }
  auto call_rows = [&]<typename Request>(bool zero_is_valid) {
    auto with = [](int value) {
      return [value](Request& r) { r.set_call(static_cast<v1::FaultCall>(value)); };
    };
    std::vector<Row<Request>> rows = {
        {"call not a FaultCall", with(99), {invalid, "got 99"}},
        {"call negative", with(-1), {invalid, "got -1"}},
        {"call INT32_MAX", with(INT32_MAX), {invalid, "got 2147483647"}},
    };
    if (!zero_is_valid) rows.push_back({"call unset", with(0), {invalid, "call must be"}});
    return rows;
  };
  std::vector<Row<v1::ArmFaultRequest>> arm_rows = call_rows.operator()<v1::ArmFaultRequest>(false);
  Add(arm_rows, DeadlineRows<v1::ArmFaultRequest>(Expect{StatusCode::OK, "FAULT_CALL_CANCEL"}));
  tables.Run(v1::LedgerFaultService::service_full_name() + std::string("/ArmFault"), arm, arm_rows,
             FXMESH_CALL(&ledger.faults(), ArmFault, v1::ArmFaultRequest, v1::LedgerFaults));
  v1::ClearFaultsRequest clear;
  clear.set_call(v1::FAULT_CALL_CONFIRM);
  std::vector<Row<v1::ClearFaultsRequest>> clear_rows =
      call_rows.operator()<v1::ClearFaultsRequest>(true);
  Add(clear_rows,
      DeadlineRows<v1::ClearFaultsRequest>(Expect{StatusCode::OK, "FAULT_CALL_CANCEL"}));
  tables.Run(v1::LedgerFaultService::service_full_name() + std::string("/ClearFaults"), clear,
             clear_rows,
             FXMESH_CALL(&ledger.faults(), ClearFaults, v1::ClearFaultsRequest, v1::LedgerFaults));
  tables.Run(v1::LedgerFaultService::service_full_name() + std::string("/GetFaults"),
             v1::GetFaultsRequest(),
             DeadlineRows<v1::GetFaultsRequest>(Expect{StatusCode::OK, "FAULT_CALL_CANCEL"}),
             FXMESH_CALL(&ledger.faults(), GetFaults, v1::GetFaultsRequest, v1::LedgerFaults));

  tables.CheckCovers(LedgerService::service_full_name());
  tables.CheckCovers(v1::LedgerFaultService::service_full_name());
  tables.CheckCovers(v1::TraceService::service_full_name());
}

}  // namespace
}  // namespace fxmesh::testing
