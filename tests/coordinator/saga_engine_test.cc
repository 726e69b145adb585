// Proves the coordinator's sagas against two real ledgers over loopback gRPC: exchanges both ways
// move exactly the quoted amounts; refusals (funds, accounts, expired quotes, limits, reused keys)
// fail cleanly; faults injected at the participant seam (timeouts, replies lost after a commit,
// a ledger down for a while) end in the right final state with no money lost or created; pausing
// a participant makes its sagas wait; a stuck saga is resolved by two operators; and hundreds of
// concurrent exchanges keep every ledger balanced. Each test ends with ARCHITECTURE.md §8 checked
// over both ledgers and every saga.
#include <soci/soci.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/saga_state_machine.h"
#include "tests/coordinator/coordinator_harness.h"

namespace fxmesh::coordinator {
namespace {

using testing::Backend;

v1::ProposeResolutionRequest Proposal(const std::string& saga_id, v1::ResolutionAction action,
                                      const std::string& reason_code,
                                      const std::string& operator_name,
                                      const std::string& note = "") {
  v1::ProposeResolutionRequest request;
  request.set_saga_id(saga_id);
  request.set_action(action);
  request.set_reason_code(reason_code);
  request.set_note(note);
  request.set_operator_(operator_name);
  return request;
}

v1::ApproveResolutionRequest Approval(int64_t resolution_id, const std::string& operator_name) {
  v1::ApproveResolutionRequest request;
  request.set_resolution_id(resolution_id);
  request.set_operator_(operator_name);
  return request;
}

FXMESH_BACKEND_TEST("an exchange KRW to USD and back moves exactly the quoted amounts",
                    "[coordinator][integration]") {
  CoordinatorHarness mesh(backend);
  // Buy 100.00 USD at the ask (1370.25 + 50 bp = 1377.10125): the charge rounds up to 137,711 KRW.
  v1::Quote buy_usd = mesh.Quote("KRW", "USD", 0, 10'000);
  CHECK(buy_usd.sell().amount_minor() == 137'711);
  CHECK(buy_usd.rate() == "1377.10125");
  absl::StatusOr<v1::Exchange> bought = mesh.Exchange("alice-1", "alice", buy_usd);
  REQUIRE(bought.ok());
  CHECK(bought->status() == v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(mesh.Available("alice-krw") == 1'000'000 - 137'711);
  CHECK(mesh.Available("alice-usd") == 100'000 + 10'000);

  // Sell 50.00 USD at the bid (1370.25 - 50 bp = 1363.39875): the proceeds round down to 68,169
  // KRW.
  v1::Quote sell_usd = mesh.Quote("USD", "KRW", 5'000, 0);
  CHECK(sell_usd.buy().amount_minor() == 68'169);
  absl::StatusOr<v1::Exchange> sold = mesh.Exchange("alice-2", "alice", sell_usd);
  REQUIRE(sold.ok());
  CHECK(sold->status() == v1::EXCHANGE_STATUS_COMPLETED);
  CHECK(mesh.Available("alice-krw") == 1'000'000 - 137'711 + 68'169);
  CHECK(mesh.Available("alice-usd") == 100'000 + 10'000 - 5'000);

  // Customers find their exchanges by key, and list them page by page.
  // Keys are each customer's own: looking one up needs the customer, and another's is not found.
  v1::GetExchangeRequest by_key;
  by_key.set_idempotency_key("alice-1");
  CHECK(absl::IsInvalidArgument(mesh.engine().intake().GetExchange(by_key).status()));
  by_key.set_customer_id("alice");
  absl::StatusOr<v1::Exchange> found = mesh.engine().intake().GetExchange(by_key);
  REQUIRE(found.ok());
  CHECK(found->saga_id() == bought->saga_id());
  CHECK(found->idempotency_key() == "alice-1");
  by_key.set_idempotency_key("never-used");
  CHECK(absl::IsNotFound(mesh.engine().intake().GetExchange(by_key).status()));
  by_key.set_idempotency_key("alice-1");
  by_key.set_customer_id("bob");
  CHECK(absl::IsNotFound(mesh.engine().intake().GetExchange(by_key).status()));
  v1::ListExchangesRequest list;
  list.set_customer_id("alice");
  list.set_page_size(1);
  absl::StatusOr<v1::ListExchangesResponse> first_page = mesh.engine().intake().ListExchanges(list);
  REQUIRE(first_page.ok());
  REQUIRE(first_page->exchanges_size() == 1);
  CHECK(first_page->exchanges(0).saga_id() == bought->saga_id());
  list.set_page_token(first_page->next_page_token());
  absl::StatusOr<v1::ListExchangesResponse> second_page =
      mesh.engine().intake().ListExchanges(list);
  REQUIRE(second_page.ok());
  REQUIRE(second_page->exchanges_size() == 1);
  CHECK(second_page->exchanges(0).saga_id() == sold->saga_id());
  list.set_customer_id("bob");
  list.clear_page_token();
  CHECK(mesh.engine().intake().ListExchanges(list)->exchanges_size() == 0);

  // The step log tells the story of the saga, in order.
  v1::GetSagaHistoryRequest history_request;
  history_request.set_saga_id(bought->saga_id());
  absl::StatusOr<v1::SagaHistory> history =
      mesh.engine().operators().GetSagaHistory(history_request);
  REQUIRE(history.ok());
  std::vector<v1::SagaState> path;
  for (const v1::Step& step : history->steps()) path.push_back(step.to_state());
  CHECK(path == std::vector<v1::SagaState>{v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING,
                                           v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_COMPLETED});
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("refused exchanges fail with the reason and leave balances as they were",
                    "[coordinator][integration]") {
  CoordinatorHarness mesh(backend, HarnessOptions{.daily_limit_krw = 2'000'000});

  SECTION("insufficient funds: FAILED at once, the Cancels finish in the background") {
    // 1,500,000 KRW is within the limit but more than alice's 1,000,000.
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("too-much", "alice", mesh.Quote("KRW", "USD", 1'500'000, 0));
    REQUIRE(exchange.ok());
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_FAILED);
    CHECK(exchange->state() == v1::SAGA_STATE_CANCELLING);
    CHECK(exchange->failure_reason() == "INSUFFICIENT_FUNDS");
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_CANCELLED);
    CHECK(mesh.Available("alice-krw") == 1'000'000);
    CHECK(mesh.Available("alice-usd") == 100'000);
    mesh.CheckInvariants();
  }
  SECTION("unknown account") {
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    v1::ExchangeRequest request;
    request.set_idempotency_key("ghost-1");
    request.set_customer_id("alice");
    request.set_source_account_id("alice-krw");
    request.set_target_account_id("nobody-usd");
    request.set_quote_id(quote.quote_id());
    absl::StatusOr<v1::Exchange> exchange =
        mesh.engine().intake().Exchange(request, absl::Now() + absl::Seconds(5));
    REQUIRE(exchange.ok());
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_FAILED);
    CHECK(exchange->failure_reason() == "ACCOUNT_NOT_FOUND");
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Available("alice-krw") == 1'000'000);
    mesh.CheckInvariants();
  }
  SECTION("an expired quote is refused before any Try") {
    CoordinatorHarness quick(backend, HarnessOptions{.quote_ttl = absl::Milliseconds(50)});
    v1::Quote quote = quick.Quote("KRW", "USD", 0, 1'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    absl::StatusOr<v1::Exchange> exchange = quick.Exchange("late-1", "alice", quote);
    CHECK(absl::IsFailedPrecondition(exchange.status()));
    CHECK_THAT(std::string(exchange.status().message()), Catch::Contains("expired"));
    CHECK(quick.krw().delivered(CallKind::kTry) == 0);
    quick.CheckInvariants();
  }
  SECTION("the daily limit is checked before any Try, and a failed exchange gives its share back") {
    absl::StatusOr<v1::Exchange> first =
        mesh.Exchange("limit-1", "bob", mesh.Quote("KRW", "USD", 900'000, 0));
    REQUIRE(first.ok());
    CHECK(first->status() == v1::EXCHANGE_STATUS_COMPLETED);
    absl::StatusOr<v1::Exchange> over =
        mesh.Exchange("limit-2", "bob", mesh.Quote("KRW", "USD", 1'500'000, 0));
    CHECK(absl::IsFailedPrecondition(over.status()));
    CHECK_THAT(std::string(over.status().message()), Catch::Contains("daily limit exceeded"));
    // 1,000,000 more KRW fits the limit but not bob's balance: it fails and releases its share...
    absl::StatusOr<v1::Exchange> short_of_funds =
        mesh.Exchange("limit-3", "bob", mesh.Quote("KRW", "USD", 1'000'000, 0));
    REQUIRE(short_of_funds.ok());
    CHECK(short_of_funds->status() == v1::EXCHANGE_STATUS_FAILED);
    CHECK(mesh.Settle() == 0);
    // ...so 1,000,000 KRW of the limit is still free for an exchange bob can pay for.
    REQUIRE(mesh.Exchange("fund", "bob", mesh.Quote("USD", "KRW", 0, 50'000))->status() ==
            v1::EXCHANGE_STATUS_COMPLETED);
    absl::StatusOr<v1::Exchange> fits =
        mesh.Exchange("limit-4", "bob", mesh.Quote("KRW", "USD", 100'000, 0));
    REQUIRE(fits.ok());
    CHECK(fits->status() == v1::EXCHANGE_STATUS_COMPLETED);
    mesh.CheckInvariants();
  }
  SECTION("an idempotency key returns its exchange, and refuses a different one") {
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 2'000);
    absl::StatusOr<v1::Exchange> first = mesh.Exchange("same-key", "alice", quote);
    absl::StatusOr<v1::Exchange> again = mesh.Exchange("same-key", "alice", quote);
    REQUIRE(first.ok());
    REQUIRE(again.ok());
    CHECK(first->saga_id() == again->saga_id());
    CHECK(mesh.Available("alice-usd") == 100'000 + 2'000);
    absl::StatusOr<v1::Exchange> other =
        mesh.Exchange("same-key", "alice", mesh.Quote("KRW", "USD", 0, 3'000));
    CHECK(absl::IsAlreadyExists(other.status()));
    CHECK_THAT(std::string(other.status().message()), Catch::Contains("different exchange"));
    mesh.CheckInvariants();
  }
}

FXMESH_BACKEND_TEST("faults at the participant seam end in the right state with no money lost",
                    "[coordinator][integration][faults]") {
  CoordinatorHarness mesh(backend);
  const int64_t krw_before = 1'000'000, usd_before = 100'000;

  SECTION("a Try that times out is retried and the exchange completes") {
    mesh.fx().FailNext(CallKind::kTry, 1);
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange = mesh.Exchange("slow-try", "alice", quote);
    REQUIRE(exchange.ok());
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_PENDING);
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(mesh.Available("alice-usd") == usd_before + 1'000);
  }
  SECTION("a Try whose reply is lost after the ledger committed is not applied twice") {
    mesh.krw().DropReplyNext(CallKind::kTry, 1);
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange = mesh.Exchange("lost-try-reply", "alice", quote);
    REQUIRE(exchange.ok());
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(mesh.krw().delivered(CallKind::kTry) == 2);
    CHECK(mesh.Available("alice-krw") == krw_before - quote.sell().amount_minor());
  }
  SECTION("a Confirm whose reply is lost is retried until it is known, and only goes forward") {
    mesh.fx().DropReplyNext(CallKind::kConfirm, 2);
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange = mesh.Exchange("lost-confirm-reply", "alice", quote);
    REQUIRE(exchange.ok());
    // The relay sends it again after its first tiers (100 ms, 200 ms), within the customer's wait.
    CHECK(exchange->state() == v1::SAGA_STATE_COMPLETED);
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_COMPLETED);
    CHECK(mesh.fx().delivered(CallKind::kConfirm) == 3);
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(mesh.Available("alice-usd") == usd_before + 1'000);
    CHECK(mesh.Available("alice-krw") == krw_before - quote.sell().amount_minor());
  }
  SECTION("a ledger down for a while, back before the quote's deadline: the exchange completes") {
    mesh.fx().SetDown(true);
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("down-then-up", "alice", quote, absl::Milliseconds(500));
    REQUIRE(exchange.ok());
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_PENDING);
    CHECK(mesh.Settle(absl::Milliseconds(600)) == 1);
    mesh.fx().SetDown(false);
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(mesh.Available("alice-usd") == usd_before + 1'000);
  }
  SECTION("a ledger down past the quote's deadline: the saga cancels and releases the KRW hold") {
    CoordinatorHarness quick(backend, HarnessOptions{.quote_ttl = absl::Seconds(1)});
    quick.fx().SetDown(true);
    v1::Quote quote = quick.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange =
        quick.Exchange("down-too-long", "alice", quote, absl::Milliseconds(300));
    REQUIRE(exchange.ok());
    CHECK(exchange->status() == v1::EXCHANGE_STATUS_PENDING);
    std::this_thread::sleep_for(std::chrono::milliseconds(1'100));
    quick.fx().SetDown(false);
    CHECK(quick.Settle() == 0);
    const v1::Saga saga = quick.Saga(exchange->saga_id());
    CHECK(saga.state() == v1::SAGA_STATE_CANCELLED);
    CHECK(saga.failure_reason() == "TIMEOUT");
    CHECK(quick.Available("alice-krw") == krw_before);
    quick.CheckInvariants();
  }
  SECTION("after the decision, a ledger down for long never turns the saga back") {
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    mesh.fx().FailNext(CallKind::kConfirm, 1'000, absl::UnavailableError("injected: down"));
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("confirm-down", "alice", quote, absl::Seconds(1));
    REQUIRE(exchange.ok());
    CHECK(exchange->state() == v1::SAGA_STATE_CONFIRMING);
    // The relay walks every tier, then dead-letters the Confirm; the saga stays decided.
    v1::ListDeadLettersRequest list;
    list.set_saga_id(exchange->saga_id());
    absl::StatusOr<v1::ListDeadLettersResponse> listed;
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      listed = mesh.engine().dead_letters().ListDeadLetters(list);
      REQUIRE(listed.ok());
    } while (listed->dead_letters_size() == 0 && absl::Now() < give_up);
    REQUIRE(listed->dead_letters_size() == 1);
    CHECK(mesh.Settle(absl::Seconds(1)) == 1);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_CONFIRMING);
    // The ledger is back; the operator's replay completes the exchange.
    mesh.fx().FailNext(CallKind::kConfirm, 0);
    v1::ReplayDeadLettersRequest replay;
    replay.set_saga_id(exchange->saga_id());
    replay.set_operator_("ops-on-call");
    replay.set_reason("FX ledger back");
    REQUIRE(mesh.engine().dead_letters().ReplayDeadLetters(replay).ok());
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
  }
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("operators pause participants and resolve stuck sagas with maker-checker",
                    "[coordinator][integration][ops]") {
  CoordinatorHarness mesh(backend);
  SagaEngine& engine = mesh.engine();

  SECTION("a paused participant makes its sagas wait; nothing fails") {
    // The FX Try finds no answer, so the saga is still trying when the operator pauses the FX
    // ledger.
    mesh.fx().FailNext(CallKind::kTry, 1);
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("paused-1", "alice", quote, absl::Milliseconds(150));
    REQUIRE(exchange.ok());
    REQUIRE(exchange->state() == v1::SAGA_STATE_TRYING);
    REQUIRE(engine.operators()
                .SetParticipantPaused("fx-ledger", "alice-ops", "ledger maintenance", true)
                .ok());
    CHECK(absl::IsUnavailable(
        mesh.Exchange("paused-2", "alice", mesh.Quote("KRW", "USD", 0, 1'000)).status()));
    CHECK(mesh.Settle(absl::Seconds(1)) == 1);
    v1::ListSagasRequest waiting;
    waiting.set_active_only(true);
    absl::StatusOr<v1::ListSagasResponse> listed = engine.operators().ListSagas(waiting);
    REQUIRE(listed.ok());
    REQUIRE(listed->sagas_size() == 1);
    CHECK(listed->sagas(0).waiting_on_paused_participant());
    REQUIRE(engine.operators().SetParticipantPaused("fx-ledger", "alice-ops", "", false).ok());
    CHECK(mesh.Settle() == 0);
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(absl::IsNotFound(
        engine.operators().SetParticipantPaused("fee-ledger", "alice-ops", "", true).status()));
  }
  SECTION("a stuck saga is marked completed by two different operators, with an audit trail") {
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    mesh.fx().FailNext(CallKind::kConfirm, 1'000, absl::UnavailableError("injected: down"));
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("stuck-1", "alice", quote, absl::Seconds(1));
    REQUIRE(exchange.ok());
    REQUIRE(exchange->state() == v1::SAGA_STATE_CONFIRMING);
    // The relay walks its tiers and gives up: the saga waits for an operator.
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (mesh.Saga(exchange->saga_id()).branches(1).dead_letter().empty() &&
           absl::Now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_FALSE(mesh.Saga(exchange->saga_id()).branches(1).dead_letter().empty());

    const v1::ProposeResolutionRequest wrong =
        Proposal(exchange->saga_id(), v1::RESOLUTION_ACTION_CANCEL, "CUSTOMER_REQUEST", "maker");
    CHECK(absl::IsFailedPrecondition(engine.operators().ProposeResolution(wrong).status()));

    const v1::ProposeResolutionRequest propose =
        Proposal(exchange->saga_id(), v1::RESOLUTION_ACTION_MARK_COMPLETED, "LEDGER_FIXED_BY_HAND",
                 "maker", "posted the FX leg manually, ticket OPS-1");
    absl::StatusOr<v1::Resolution> proposed = engine.operators().ProposeResolution(propose);
    REQUIRE(proposed.ok());
    CHECK(proposed->state() == v1::RESOLUTION_STATE_PROPOSED);

    const v1::ApproveResolutionRequest self_approval = Approval(proposed->resolution_id(), "maker");
    CHECK(absl::IsPermissionDenied(engine.operators().ApproveResolution(self_approval).status()));
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_CONFIRMING);

    const v1::ApproveResolutionRequest approval = Approval(proposed->resolution_id(), "checker");
    absl::StatusOr<v1::Resolution> approved = engine.operators().ApproveResolution(approval);
    INFO(approved.status().ToString());
    REQUIRE(approved.ok());
    CHECK(approved->state() == v1::RESOLUTION_STATE_APPROVED);
    CHECK(approved->approved_by() == "checker");
    CHECK(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    CHECK(absl::IsFailedPrecondition(engine.operators().ApproveResolution(approval).status()));
    // A saga finished by operators is counted as finished, like any other.
    CHECK_THAT(mesh.metrics().RenderPrometheusText(),
               Catch::Contains("fxmesh_sagas_finished_total{state=\"COMPLETED\",reason=\"\"} 1"));

    v1::GetSagaHistoryRequest history_request;
    history_request.set_saga_id(exchange->saga_id());
    absl::StatusOr<v1::SagaHistory> history = engine.operators().GetSagaHistory(history_request);
    REQUIRE(history.ok());
    // The refused self-approval is audited too.
    REQUIRE(history->audit_size() == 3);
    CHECK(history->audit(0).action() == "propose_resolution");
    CHECK(history->audit(0).operator_() == "maker");
    CHECK(history->audit(1).action() == "refused_self_approval");
    CHECK(history->audit(1).operator_() == "maker");
    CHECK(history->audit(2).action() == "approve_resolution");
    CHECK(history->audit(2).operator_() == "checker");
    CHECK_THAT(history->steps(history->steps_size() - 1).detail(),
               Catch::Contains("approved by checker"));

    // The audit log cannot be changed, not even with SQL.
    absl::Status tampered =
        mesh.coordinator_database().Transact([](soci::session& sql) -> absl::StatusOr<Completion> {
          sql << "UPDATE audit_log SET operator = 'someone-else'";
          return Completion::kCommit;
        });
    CHECK_FALSE(tampered.ok());
    absl::StatusOr<v1::SagaHistory> after = engine.operators().GetSagaHistory(history_request);
    REQUIRE(after.ok());
    CHECK(after->audit(0).operator_() == "maker");
    // The saga was resolved by hand, so the FX hold is still HELD on the ledger: the operator
    // posted it outside fxmesh. Release the injected fault and confirm it as the operator did.
    mesh.fx().FailNext(CallKind::kConfirm, 0);
    v1::BranchRequest confirm;
    confirm.mutable_branch()->set_saga_id(exchange->saga_id());
    confirm.mutable_branch()->set_branch("fx");
    v1::BranchResponse confirmed;
    REQUIRE(mesh.fx_ledger().Confirm(confirm, &confirmed).ok());
  }
  SECTION("an approval that comes after the saga moved on changes nothing") {
    mesh.fx().FailNext(CallKind::kTry, 1'000, absl::UnavailableError("injected: down"));
    absl::StatusOr<v1::Exchange> exchange = mesh.Exchange(
        "moved-on", "alice", mesh.Quote("KRW", "USD", 0, 1'000), absl::Milliseconds(300));
    REQUIRE(exchange.ok());
    REQUIRE(exchange->state() == v1::SAGA_STATE_TRYING);
    const v1::ProposeResolutionRequest propose =
        Proposal(exchange->saga_id(), v1::RESOLUTION_ACTION_CANCEL, "CUSTOMER_REQUEST", "maker");
    absl::StatusOr<v1::Resolution> proposed = engine.operators().ProposeResolution(propose);
    REQUIRE(proposed.ok());
    // Meanwhile the ledger comes back and the saga completes on its own.
    mesh.fx().FailNext(CallKind::kTry, 0);
    CHECK(mesh.Settle() == 0);
    REQUIRE(mesh.Saga(exchange->saga_id()).state() == v1::SAGA_STATE_COMPLETED);
    const v1::ApproveResolutionRequest approval = Approval(proposed->resolution_id(), "checker");
    absl::StatusOr<v1::Resolution> late = engine.operators().ApproveResolution(approval);
    CHECK(absl::IsFailedPrecondition(late.status()));
    CHECK_THAT(std::string(late.status().message()), Catch::Contains("moved to COMPLETED"));
    v1::GetSagaHistoryRequest history_request;
    history_request.set_saga_id(exchange->saga_id());
    absl::StatusOr<v1::SagaHistory> history = engine.operators().GetSagaHistory(history_request);
    REQUIRE(history.ok());
    REQUIRE(history->resolutions_size() == 1);
    CHECK(history->resolutions(0).state() == v1::RESOLUTION_STATE_PROPOSED);
    CHECK(history->audit_size() == 1);  // The proposal only: no approval was recorded.
  }
  SECTION("a saga cancelled by operators sends its Cancels") {
    mesh.fx().FailNext(CallKind::kTry, 1'000, absl::UnavailableError("injected: down"));
    v1::Quote quote = mesh.Quote("KRW", "USD", 0, 1'000);
    absl::StatusOr<v1::Exchange> exchange =
        mesh.Exchange("cancel-by-hand", "alice", quote, absl::Milliseconds(300));
    REQUIRE(exchange.ok());
    REQUIRE(exchange->state() == v1::SAGA_STATE_TRYING);
    const v1::ProposeResolutionRequest propose =
        Proposal(exchange->saga_id(), v1::RESOLUTION_ACTION_CANCEL, "CUSTOMER_REQUEST", "maker");
    absl::StatusOr<v1::Resolution> proposed = engine.operators().ProposeResolution(propose);
    REQUIRE(proposed.ok());
    const v1::ApproveResolutionRequest approval = Approval(proposed->resolution_id(), "checker");
    REQUIRE(engine.operators().ApproveResolution(approval).ok());
    mesh.fx().FailNext(CallKind::kTry, 0);
    CHECK(mesh.Settle() == 0);
    const v1::Saga saga = mesh.Saga(exchange->saga_id());
    CHECK(saga.state() == v1::SAGA_STATE_CANCELLED);
    CHECK(saga.failure_reason() == "MANUAL");
    CHECK(mesh.Available("alice-krw") == 1'000'000);
  }
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST(
    "hundreds of concurrent exchanges on shared accounts keep both ledgers balanced",
    "[coordinator][integration][concurrency]") {
  HarnessOptions options;
  options.customers = {"c0", "c1", "c2", "c3", "c4"};
  options.customer_krw = 300'000;  // Small balances, so some exchanges are refused for funds.
  options.customer_usd_cents = 20'000;
  CoordinatorHarness mesh(backend, options);
  constexpr int kThreads = 8;
  constexpr int kExchangesPerThread = 25;
  std::atomic<int> completed{0}, failed{0}, pending{0}, errors{0};
  // Quotes are taken first: pricing is not under test here, concurrency is.
  std::vector<v1::Quote> quotes;
  for (int i = 0; i < kThreads * kExchangesPerThread; ++i) {
    quotes.push_back(i % 2 == 0 ? mesh.Quote("KRW", "USD", 0, 1'000 + i)
                                : mesh.Quote("USD", "KRW", 700 + i, 0));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kExchangesPerThread; ++i) {
        const int n = t * kExchangesPerThread + i;
        absl::StatusOr<v1::Exchange> exchange =
            mesh.Exchange(absl::StrCat("load-", n), absl::StrCat("c", n % 5), quotes[n]);
        if (!exchange.ok()) {
          ++errors;
        } else if (exchange->status() == v1::EXCHANGE_STATUS_COMPLETED) {
          ++completed;
        } else if (exchange->status() == v1::EXCHANGE_STATUS_FAILED) {
          ++failed;
        } else {
          ++pending;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  INFO("completed " << completed << ", failed " << failed << ", pending " << pending << ", errors "
                    << errors);
  CHECK(errors.load() == 0);
  CHECK(completed.load() > 0);
  CHECK(mesh.Settle(absl::Seconds(60)) == 0);
  mesh.CheckInvariants();
}

TEST_CASE("the daily limit counts the calendar days of its configured time zone",
          "[coordinator][sqlite]") {
  CoordinatorHarness mesh(Backend::kSqlite, HarnessOptions{.daily_limit_krw = 1'000'000});
  // At any instant one of these zones is on another date than UTC.
  absl::TimeZone other_day;
  const absl::Time now = absl::Now();
  for (const char* name : {"Pacific/Kiritimati", "Pacific/Pago_Pago"}) {
    absl::TimeZone zone;
    REQUIRE(absl::LoadTimeZone(name, &zone));
    if (absl::FormatTime("%Y-%m-%d", now, zone) !=
        absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone())) {
      other_day = zone;
    }
  }
  INFO("other zone: " << other_day.name());
  REQUIRE(other_day.name() != "UTC");
  std::unique_ptr<SagaEngine> local = mesh.NewReplica("local-day", other_day);

  REQUIRE(mesh.Exchange("day-1", "alice", mesh.Quote("KRW", "USD", 900'000, 0))->status() ==
          v1::EXCHANGE_STATUS_COMPLETED);
  v1::ExchangeRequest request;
  request.set_idempotency_key("day-2");
  request.set_customer_id("alice");
  request.set_source_account_id("alice-krw");
  request.set_target_account_id("alice-usd");
  // Today in UTC the limit is nearly used up; today in the other zone nothing is used yet.
  request.set_quote_id(mesh.Quote("KRW", "USD", 200'000, 0).quote_id());
  CHECK(absl::IsFailedPrecondition(
      mesh.engine().intake().Exchange(request, absl::Now() + absl::Seconds(5)).status()));
  absl::StatusOr<v1::Exchange> elsewhere =
      local->intake().Exchange(request, absl::Now() + absl::Seconds(5));
  REQUIRE(elsewhere.ok());
  CHECK(elsewhere->status() ==
        v1::EXCHANGE_STATUS_FAILED);  // Within its day's limit; alice lacks funds.
  CHECK(elsewhere->failure_reason() == "INSUFFICIENT_FUNDS");
  CHECK(mesh.Settle() == 0);
  mesh.CheckInvariants();
}

TEST_CASE("a saga unfinished past the threshold raises one alert", "[coordinator][ops][sqlite]") {
  CoordinatorHarness mesh(Backend::kSqlite, HarnessOptions{.stuck_after = absl::Seconds(2)});
  mesh.fx().FailNext(CallKind::kConfirm, 1'000, absl::UnavailableError("injected: down"));
  absl::StatusOr<v1::Exchange> exchange = mesh.Exchange(
      "stuck-alert", "alice", mesh.Quote("KRW", "USD", 0, 1'000), absl::Milliseconds(500));
  REQUIRE(exchange.ok());
  REQUIRE(exchange->state() == v1::SAGA_STATE_CONFIRMING);
  REQUIRE(mesh.engine().driver().CheckStuck().ok());
  CHECK(mesh.engine().operators().GetAlerts()->stuck_alerts_total() == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2'100));
  REQUIRE(mesh.engine().driver().CheckStuck().ok());
  REQUIRE(mesh.engine().driver().CheckStuck().ok());
  absl::StatusOr<v1::Alerts> alerts = mesh.engine().operators().GetAlerts();
  REQUIRE(alerts.ok());
  CHECK(alerts->stuck_alerts_total() == 1);
  REQUIRE(alerts->stuck_sagas_size() == 1);
  CHECK(alerts->stuck_sagas(0).saga_id() == exchange->saga_id());
  CHECK(alerts->stuck_sagas(0).stuck());
  // The relay gives up on the Confirm; once the ledger is back, an operator replays it.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (mesh.Saga(exchange->saga_id()).branches(1).dead_letter().empty() &&
         absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  mesh.fx().FailNext(CallKind::kConfirm, 0);
  v1::ReplayDeadLettersRequest replay;
  replay.set_saga_id(exchange->saga_id());
  replay.set_operator_("ops-on-call");
  REQUIRE(mesh.engine().dead_letters().ReplayDeadLetters(replay)->replayed_size() == 1);
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.engine().operators().GetAlerts()->stuck_sagas_size() == 0);
  mesh.CheckInvariants();
}

FXMESH_BACKEND_TEST("coordinator replicas on one database never drive the same saga at once",
                    "[coordinator][integration][concurrency]") {
  HarnessOptions options;
  options.customers = {"c0", "c1", "c2", "c3"};
  CoordinatorHarness mesh(backend, options);
  std::unique_ptr<SagaEngine> replica_a = mesh.NewReplica("replica-a");
  std::unique_ptr<SagaEngine> replica_b = mesh.NewReplica("replica-b");
  // Sagas created but not driven (the caller's deadline has already passed), as if the replica
  // that took them had crashed: every one is due for recovery.
  constexpr int kSagas = 40;
  for (int i = 0; i < kSagas; ++i) {
    absl::StatusOr<v1::Exchange> created =
        mesh.Exchange(absl::StrCat("recover-", i), absl::StrCat("c", i % 4),
                      mesh.Quote("KRW", "USD", 0, 100 + i), absl::ZeroDuration());
    REQUIRE(created.ok());
    REQUIRE(created->state() == v1::SAGA_STATE_CREATED);
  }
  // Three drivers race for them: two replicas with two recovery threads each.
  std::atomic<int> driven{0};
  auto recover = [&](SagaEngine* engine) {
    for (int round = 0; round < 50; ++round) {
      absl::StatusOr<std::vector<std::string>> due = engine->leases().ClaimDue(8);
      if (!due.ok()) continue;
      for (const std::string& saga_id : *due) {
        if (engine->driver().Drive(saga_id).ok()) ++driven;
      }
    }
  };
  std::vector<std::thread> drivers;
  for (SagaEngine* engine : {replica_a.get(), replica_a.get(), replica_b.get(), replica_b.get()}) {
    drivers.emplace_back(recover, engine);
  }
  for (std::thread& driver : drivers) driver.join();
  CHECK(mesh.Settle() == 0);
  CHECK(mesh.krw().overlapping_calls() == 0);
  CHECK(mesh.fx().overlapping_calls() == 0);
  // Every saga made each transition exactly once.
  SagaFilter every;
  every.limit = 1'000;
  absl::StatusOr<std::vector<v1::Saga>> sagas = mesh.store().ListSagas(every, nullptr);
  REQUIRE(sagas.ok());
  REQUIRE(sagas->size() == kSagas);
  for (const v1::Saga& saga : *sagas) {
    CHECK(saga.state() == v1::SAGA_STATE_COMPLETED);
    absl::StatusOr<std::vector<v1::Step>> steps = mesh.store().ListSteps(saga.saga_id());
    REQUIRE(steps.ok());
    std::vector<v1::SagaState> transitions;
    for (const v1::Step& step : *steps) {
      if (step.from_state() != step.to_state()) transitions.push_back(step.to_state());
    }
    CHECK(transitions == std::vector<v1::SagaState>{v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING,
                                                    v1::SAGA_STATE_CONFIRMING,
                                                    v1::SAGA_STATE_COMPLETED});
  }
  mesh.CheckInvariants();
}

}  // namespace
}  // namespace fxmesh::coordinator
