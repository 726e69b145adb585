// Proves that over mutual TLS an operator is who their certificate says (operator/<name>), for
// maker-checker and the audit log: a request naming nobody acts as the certificate's operator, one
// naming someone else is refused, and an operator cannot approve their own proposal, not even with
// a certificate that spells their name differently. Every refused self-approval is audited. Real
// gRPC over TLS sockets, certificates from an openssl-made CA.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/tls.h"
#include "coordinator/coordinator_server.h"
#include "fxmesh/v1/ops.grpc.pb.h"
#include "tests/coordinator/coordinator_harness.h"
#include "tests/coordinator/unreachable_ledger.h"
#include "tests/support/test_database.h"
#include "tests/support/test_pki.h"

namespace fxmesh::coordinator {
namespace {

// The OpsService as the operator whose certificate `file_name` is.
std::unique_ptr<v1::OpsService::Stub> OpsAs(testing::TestPki& pki, int port,
                                            const std::string& file_name, const std::string& name) {
  const TlsOptions tls =
      pki.Issue(file_name, absl::StrCat("spiffe://fxmesh.local/operator/", name));
  return v1::OpsService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), NewChannelCredentials(tls)));
}

v1::SagaState StateOf(SagaEngine& engine, const std::string& saga_id) {
  v1::GetSagaHistoryRequest request;
  request.set_saga_id(saga_id);
  absl::StatusOr<v1::SagaHistory> history = engine.operators().GetSagaHistory(request);
  REQUIRE(history.ok());
  return history->saga().state();
}

grpc::Status Approve(v1::OpsService::Stub& ops, int64_t resolution_id, const std::string& as,
                     v1::Resolution* approved) {
  v1::ApproveResolutionRequest request;
  request.set_resolution_id(resolution_id);
  request.set_operator_(as);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ops.ApproveResolution(&context, request, approved);
}

TEST_CASE("over mutual TLS, maker-checker compares the operators' certificates",
          "[coordinator][integration][security][sqlite]") {
  testing::TestPki pki;
  testing::TestDatabase database(testing::Backend::kSqlite);
  UnreachableLedger krw, fx;
  CoordinatorServerOptions options;
  options.database.url = database.url();
  options.rates_text = kTestRates;
  options.spread_bps = 50;
  options.participant_clients = {{std::string(kKrwParticipant), &krw},
                                 {std::string(kFxParticipant), &fx}};
  options.tls = pki.Issue("coordinator", "spiffe://fxmesh.local/coordinator");
  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server =
      CoordinatorServer::Start(options, SystemClock::Get());
  REQUIRE(server.ok());
  SagaEngine& engine = (*server)->engine();
  const int port = (*server)->port();

  // An exchange whose ledgers never answer: it stays TRYING, for operators to cancel.
  v1::GetQuoteRequest quote_request;
  quote_request.set_sell_currency("KRW");
  quote_request.set_buy_currency("USD");
  quote_request.set_buy_amount_minor(1'000);
  absl::StatusOr<v1::Quote> quote = engine.intake().GetQuote(quote_request);
  REQUIRE(quote.ok());
  v1::ExchangeRequest exchange_request;
  exchange_request.set_idempotency_key("stuck-1");
  exchange_request.set_customer_id("alice");
  exchange_request.set_source_account_id("alice-krw");
  exchange_request.set_target_account_id("alice-usd");
  exchange_request.set_quote_id(quote->quote_id());
  absl::StatusOr<v1::Exchange> exchange =
      engine.intake().Exchange(exchange_request, absl::Now() + absl::Milliseconds(300));
  REQUIRE(exchange.ok());
  REQUIRE(exchange->state() == v1::SAGA_STATE_TRYING);

  std::unique_ptr<v1::OpsService::Stub> kim = OpsAs(pki, port, "kim", "kim");
  std::unique_ptr<v1::OpsService::Stub> kim_capitalized = OpsAs(pki, port, "Kim", "Kim");
  std::unique_ptr<v1::OpsService::Stub> lee = OpsAs(pki, port, "lee", "lee");

  // kim proposes without naming herself: the certificate does.
  v1::ProposeResolutionRequest propose;
  propose.set_saga_id(exchange->saga_id());
  propose.set_action(v1::RESOLUTION_ACTION_CANCEL);
  propose.set_reason_code("LEDGER_DOWN");
  v1::Resolution proposed;
  {
    grpc::ClientContext context;
    REQUIRE(kim->ProposeResolution(&context, propose, &proposed).ok());
  }
  CHECK(proposed.proposed_by() == "kim");

  // She cannot approve it: not as herself, not under another spelling, not by naming lee.
  v1::Resolution approved;
  grpc::Status refused = Approve(*kim, proposed.resolution_id(), "", &approved);
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(refused.error_message(), Catch::Contains("maker-checker"));
  CHECK(Approve(*kim_capitalized, proposed.resolution_id(), "", &approved).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  refused = Approve(*kim, proposed.resolution_id(), "lee", &approved);
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(refused.error_message(),
             Catch::Contains("authenticated as operator kim; it cannot act as lee"));
  CHECK(StateOf(engine, exchange->saga_id()) == v1::SAGA_STATE_TRYING);

  // lee can.
  grpc::Status accepted = Approve(*lee, proposed.resolution_id(), "", &approved);
  INFO(accepted.error_message());
  REQUIRE(accepted.ok());
  CHECK(approved.approved_by() == "lee");
  CHECK(StateOf(engine, exchange->saga_id()) != v1::SAGA_STATE_TRYING);

  // The audit log names the authenticated operators, the refused self-approvals included.
  v1::ListAuditRequest audit_request;
  audit_request.set_saga_id(exchange->saga_id());
  absl::StatusOr<v1::ListAuditResponse> audit = engine.operators().ListAudit(audit_request);
  REQUIRE(audit.ok());
  std::vector<std::string> rows;
  for (const v1::AuditEntry& entry : audit->entries())
    rows.push_back(absl::StrCat(entry.operator_(), " ", entry.action()));
  CHECK(rows == std::vector<std::string>{"kim propose_resolution", "kim refused_self_approval",
                                         "Kim refused_self_approval", "lee approve_resolution"});
  (*server)->Shutdown(absl::ZeroDuration());
}

}  // namespace
}  // namespace fxmesh::coordinator
