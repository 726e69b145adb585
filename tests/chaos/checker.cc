#include "tests/chaos/checker.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/status_macros.h"
#include "kafka/lag.h"
#include "kafka/topics.h"

namespace fxmesh::chaos {
namespace {

constexpr int kPageSize = 1'000;
constexpr absl::Duration kCallTimeout = absl::Seconds(10);
constexpr absl::Duration kLagTimeout = absl::Seconds(10);
constexpr absl::Duration kQuiescePoll = absl::Milliseconds(500);

// Every page of a listing, concatenated. `call` fills a response for a page token.
template <typename Request, typename Response, typename Item, typename Call, typename Items>
absl::StatusOr<std::vector<Item>> ListAll(Request request, Call call, Items items) {
  std::vector<Item> all;
  request.set_page_size(kPageSize);
  while (true) {
    Response response;
    RETURN_IF_ERROR(FromGrpcStatus(call(*ContextWithin(kCallTimeout), request, &response)));
    for (const Item& item : items(response)) all.push_back(item);
    if (response.next_page_token().empty()) return all;
    request.set_page_token(response.next_page_token());
  }
}

absl::StatusOr<std::vector<v1::Saga>> ListSagas(ChaosMesh& mesh, bool active_only) {
  v1::ListSagasRequest request;
  request.set_active_only(active_only);
  return ListAll<v1::ListSagasRequest, v1::ListSagasResponse, v1::Saga>(
      request,
      [&](grpc::ClientContext& context, const auto& r, auto* response) {
        return mesh.ops().ListSagas(&context, r, response);
      },
      [](const v1::ListSagasResponse& response) { return response.sagas(); });
}

absl::StatusOr<std::vector<v1::Hold>> ListHolds(ChaosMesh& mesh, const std::string& ledger,
                                                v1::HoldState state) {
  v1::ListHoldsRequest request;
  request.set_state(state);
  return ListAll<v1::ListHoldsRequest, v1::ListHoldsResponse, v1::Hold>(
      request,
      [&](grpc::ClientContext& context, const auto& r, auto* response) {
        return mesh.ledger(ledger).ListHolds(&context, r, response);
      },
      [](const v1::ListHoldsResponse& response) { return response.holds(); });
}

absl::StatusOr<std::vector<v1::JournalEntry>> ListJournal(ChaosMesh& mesh,
                                                          const std::string& ledger) {
  return ListAll<v1::ListJournalRequest, v1::ListJournalResponse, v1::JournalEntry>(
      v1::ListJournalRequest(),
      [&](grpc::ClientContext& context, const auto& r, auto* response) {
        return mesh.ledger(ledger).ListJournal(&context, r, response);
      },
      [](const v1::ListJournalResponse& response) { return response.entries(); });
}

absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(ChaosMesh& mesh,
                                                            bool include_replayed) {
  v1::ListDeadLettersRequest request;
  request.set_include_replayed(include_replayed);
  return ListAll<v1::ListDeadLettersRequest, v1::ListDeadLettersResponse, v1::DeadLetter>(
      request,
      [&](grpc::ClientContext& context, const auto& r, auto* response) {
        return mesh.ops().ListDeadLetters(&context, r, response);
      },
      [](const v1::ListDeadLettersResponse& response) { return response.dead_letters(); });
}

std::vector<std::string> RelayTopics() {
  std::vector<std::string> topics = {std::string(kafka::kBranchCommandsTopic)};
  for (const kafka::RetryTier& tier : kafka::kRetryTiers) topics.push_back(std::string(tier.topic));
  return topics;
}

bool IsTerminal(v1::SagaState state) {
  return state == v1::SAGA_STATE_COMPLETED || state == v1::SAGA_STATE_CANCELLED;
}

// ARCHITECTURE.md §4's diagram, written out again here rather than taken from the coordinator:
// the test must not trust the code it checks.
bool Forward(v1::SagaState from, v1::SagaState to) {
  using S = v1::SagaState;
  static const std::set<std::pair<S, S>> kEdges = {
      {v1::SAGA_STATE_UNSPECIFIED, v1::SAGA_STATE_CREATED},
      {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING},
      {v1::SAGA_STATE_CREATED, v1::SAGA_STATE_CANCELLING},
      {v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CONFIRMING},
      {v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CANCELLING},
      {v1::SAGA_STATE_CONFIRMING, v1::SAGA_STATE_COMPLETED},
      {v1::SAGA_STATE_CANCELLING, v1::SAGA_STATE_CANCELLED},
  };
  return from == to || kEdges.count({from, to}) > 0;
}

std::string BranchKey(const v1::BranchRef& branch) {
  return absl::StrCat(branch.saga_id(), "/", branch.branch());
}

}  // namespace

Quiescence AwaitQuiescence(ChaosMesh& mesh, absl::Duration bound) {
  Quiescence quiet;
  const absl::Time start = absl::Now();
  std::set<int64_t> replayed;
  while (true) {
    // The operator's part: replay every dead letter once. One still listed after its replay was
    // skipped (its saga had finished) and stays for the record.
    if (absl::StatusOr<std::vector<v1::DeadLetter>> letters = ListDeadLetters(mesh, false);
        letters.ok()) {
      for (const v1::DeadLetter& letter : *letters) {
        if (!replayed.insert(letter.dead_letter_id()).second) continue;
        v1::ReplayDeadLettersRequest replay;
        replay.set_dead_letter_id(letter.dead_letter_id());
        replay.set_operator_(kChaosOperator);
        replay.set_reason("chaos run healed");
        v1::ReplayDeadLettersResponse response;
        if (mesh.ops().ReplayDeadLetters(ContextWithin(kCallTimeout).get(), replay, &response).ok())
          quiet.dead_letters_replayed += response.replayed_size();
      }
    }
    absl::StatusOr<std::vector<v1::Saga>> active = ListSagas(mesh, true);
    absl::StatusOr<std::vector<v1::Hold>> krw_held = ListHolds(mesh, "krw", v1::HOLD_STATE_HELD);
    absl::StatusOr<std::vector<v1::Hold>> fx_held = ListHolds(mesh, "fx", v1::HOLD_STATE_HELD);
    absl::StatusOr<int64_t> relay_lag =
        kafka::ConsumerGroupLag(mesh.kafka_brokers(), "fxmesh-relay", RelayTopics(), kLagTimeout);
    absl::StatusOr<int64_t> coordinator_lag = kafka::ConsumerGroupLag(
        mesh.kafka_brokers(), "fxmesh-coordinator",
        {std::string(kafka::kBranchResultsTopic), std::string(kafka::kDeadLetterTopic)},
        kLagTimeout);
    quiet.took = absl::Now() - start;
    quiet.active_sagas = active.ok() ? static_cast<int64_t>(active->size()) : -1;
    quiet.held_holds = krw_held.ok() && fx_held.ok()
                           ? static_cast<int64_t>(krw_held->size() + fx_held->size())
                           : -1;
    quiet.relay_lag = relay_lag.ok() ? *relay_lag : -1;
    quiet.coordinator_lag = coordinator_lag.ok() ? *coordinator_lag : -1;
    if (quiet.active_sagas == 0 && quiet.held_holds == 0 && quiet.relay_lag == 0 &&
        quiet.coordinator_lag == 0) {
      quiet.reached = true;
      return quiet;
    }
    if (quiet.took > bound) return quiet;
    absl::SleepFor(kQuiescePoll);
  }
}

std::vector<Violation> CheckBalanceSheet(const std::string& where, const v1::BalanceSheet& sheet) {
  std::vector<Violation> violations;
  for (const v1::CurrencyTotals& totals : sheet.currencies()) {
    if (!sheet.balanced() ||
        totals.available_minor() + totals.held_minor() !=
            totals.deposited_minor() - totals.withdrawn_minor() ||
        totals.incoming_minor() != totals.open_credit_holds_minor()) {
      violations.push_back(
          {"1. ledger balances", "", absl::StrCat(where, ": ", sheet.ShortDebugString())});
    }
  }
  return violations;
}

absl::StatusOr<Balances> ReadBalances(
    ChaosMesh& mesh, const std::map<std::string, std::vector<std::string>>& accounts) {
  Balances balances;
  for (const auto& [ledger, ids] : accounts) {
    for (const std::string& id : ids) {
      v1::GetAccountRequest request;
      request.set_account_id(id);
      v1::Account account;
      RETURN_IF_ERROR(FromGrpcStatus(
          mesh.ledger(ledger).GetAccount(ContextWithin(kCallTimeout).get(), request, &account)));
      balances[id] = account;
    }
  }
  return balances;
}

absl::StatusOr<Findings> CheckInvariants(
    ChaosMesh& mesh, const History& history, const Balances& initial,
    const std::map<std::string, std::vector<std::string>>& accounts) {
  Findings findings;
  std::vector<Violation>& violations = findings.violations;
  violations = history.snapshot_violations;

  ASSIGN_OR_RETURN(std::vector<v1::Saga> sagas, ListSagas(mesh, false));
  std::map<std::string, const v1::Saga*> by_id;
  std::map<std::string, std::vector<const v1::Saga*>> by_key;
  for (const v1::Saga& saga : sagas) {
    by_id[saga.saga_id()] = &saga;
    by_key[saga.idempotency_key()].push_back(&saga);
    findings.sagas++;
    if (saga.state() == v1::SAGA_STATE_COMPLETED) findings.completed++;
    if (saga.state() == v1::SAGA_STATE_CANCELLED) findings.cancelled++;
    if (!IsTerminal(saga.state())) {
      findings.non_terminal++;
      violations.push_back({"8. every saga terminal after healing", saga.saga_id(),
                            absl::StrCat("state ", v1::SagaState_Name(saga.state()))});
    }
  }

  // 6. At most one saga per idempotency key, and none the clients never asked for.
  std::map<std::string, const ExchangeCall*> sent_keys;
  std::map<std::string, v1::Quote> quotes;
  for (const ExchangeCall& call : history.exchanges) {
    sent_keys.emplace(call.request.idempotency_key(), &call);
    quotes[call.quote.quote_id()] = call.quote;
  }
  for (const auto& [key, with_key] : by_key) {
    if (with_key.size() > 1) {
      violations.push_back({"6. one saga per idempotency key", with_key[0]->saga_id(),
                            absl::StrCat(with_key.size(), " sagas for key ", key)});
    }
    if (!sent_keys.count(key)) {
      violations.push_back({"6. one saga per idempotency key", with_key[0]->saga_id(),
                            absl::StrCat("saga for key ", key, " that no client sent")});
    }
  }

  // 7. Every answer agrees with the saga's final state, and one key always names one saga.
  std::map<std::string, std::string> answered_saga;
  for (const ExchangeCall& call : history.exchanges) {
    if (call.code != grpc::StatusCode::OK) continue;
    const v1::Exchange& answer = call.answer;
    const std::string& key = call.request.idempotency_key();
    auto [named, fresh] = answered_saga.emplace(key, answer.saga_id());
    if (!fresh && named->second != answer.saga_id()) {
      violations.push_back({"7. answers agree with final states", answer.saga_id(),
                            absl::StrCat("key ", key, " answered with sagas ", named->second,
                                         " and ", answer.saga_id())});
    }
    auto found = by_id.find(answer.saga_id());
    if (found == by_id.end()) {
      violations.push_back(
          {"7. answers agree with final states", answer.saga_id(),
           absl::StrCat("the client was answered with a saga that does not exist")});
      continue;
    }
    const v1::Saga& saga = *found->second;
    if (saga.idempotency_key() != key) {
      violations.push_back(
          {"7. answers agree with final states", saga.saga_id(),
           absl::StrCat("answer for key ", key, " names a saga of key ", saga.idempotency_key())});
    }
    // FAILED is answered once CANCELLING is durable; a saga still CANCELLING (not finished, which
    // invariant 8 reports) agrees with it.
    const bool agrees =
        answer.status() == v1::EXCHANGE_STATUS_PENDING ||
        (answer.status() == v1::EXCHANGE_STATUS_COMPLETED &&
         saga.state() == v1::SAGA_STATE_COMPLETED) ||
        (answer.status() == v1::EXCHANGE_STATUS_FAILED &&
         (saga.state() == v1::SAGA_STATE_CANCELLED || saga.state() == v1::SAGA_STATE_CANCELLING));
    if (!agrees) {
      violations.push_back({"7. answers agree with final states", saga.saga_id(),
                            absl::StrCat("told ", v1::ExchangeStatus_Name(answer.status()),
                                         ", saga ended ", v1::SagaState_Name(saga.state()))});
    }
  }

  // 3 and 4. Holds: at most one per (saga, branch), none HELD, and each saga's holds agree with
  // its state. 6 again: at most one posting per (saga, branch).
  std::map<std::string, std::vector<v1::Hold>> holds;
  std::map<std::string, int> postings;
  for (const std::string ledger : {"krw", "fx"}) {
    ASSIGN_OR_RETURN(std::vector<v1::Hold> all,
                     ListHolds(mesh, ledger, v1::HOLD_STATE_UNSPECIFIED));
    for (const v1::Hold& hold : all) holds[BranchKey(hold.branch())].push_back(hold);
    ASSIGN_OR_RETURN(std::vector<v1::JournalEntry> journal, ListJournal(mesh, ledger));
    for (const v1::JournalEntry& entry : journal) {
      if (entry.kind() == v1::JOURNAL_KIND_TRANSFER) postings[BranchKey(entry.branch())]++;
    }
  }
  for (const auto& [branch, list] : holds) {
    const std::string saga_id = list[0].branch().saga_id();
    if (list.size() > 1) {
      violations.push_back(
          {"3. one hold per branch", saga_id, absl::StrCat(list.size(), " holds for ", branch)});
    }
    if (!by_id.count(saga_id)) {
      violations.push_back(
          {"3. one hold per branch", saga_id, "a hold for a saga that does not exist"});
    }
    for (const v1::Hold& hold : list) {
      if (hold.state() == v1::HOLD_STATE_HELD) {
        violations.push_back({"8. no hold HELD after healing", saga_id, branch});
      }
    }
  }
  for (const auto& [branch, count] : postings) {
    if (count > 1) {
      violations.push_back({"6. one posting per branch", branch.substr(0, branch.find('/')),
                            absl::StrCat(count, " postings for ", branch)});
    }
  }
  // The sagas were read before the holds and the journal. A saga not finished then may have
  // confirmed a branch between the two reads (a hold read HELD, its posting read after): when the
  // mesh did not settle, only sagas that could no longer confirm anything are compared.
  for (const v1::Saga& saga : sagas) {
    if (!IsTerminal(saga.state()) && saga.state() != v1::SAGA_STATE_CANCELLING) continue;
    int confirmed = 0;
    for (const v1::Branch& branch : saga.branches()) {
      const std::string key = absl::StrCat(saga.saga_id(), "/", branch.branch());
      bool branch_confirmed = false;
      for (const v1::Hold& hold : holds[key]) {
        branch_confirmed = branch_confirmed || hold.state() == v1::HOLD_STATE_CONFIRMED;
      }
      confirmed += branch_confirmed;
      if (IsTerminal(saga.state()) && branch_confirmed != (postings[key] == 1)) {
        violations.push_back({"6. one posting per branch", saga.saga_id(),
                              absl::StrCat(branch.branch(), ": hold confirmed ", branch_confirmed,
                                           " but ", postings[key], " postings")});
      }
    }
    if (saga.state() == v1::SAGA_STATE_COMPLETED && confirmed != saga.branches_size()) {
      violations.push_back({"4. holds agree with the saga", saga.saga_id(),
                            absl::StrCat("COMPLETED with ", confirmed, " of ", saga.branches_size(),
                                         " holds CONFIRMED")});
    }
    if (saga.state() != v1::SAGA_STATE_COMPLETED && saga.state() != v1::SAGA_STATE_CONFIRMING &&
        confirmed > 0) {
      violations.push_back({"4. holds agree with the saga", saga.saga_id(),
                            absl::StrCat(v1::SagaState_Name(saga.state()), " with ", confirmed,
                                         " holds CONFIRMED")});
    }
  }

  // 5. Every step of every saga moves forward along the diagram.
  for (const v1::Saga& saga : sagas) {
    v1::GetSagaHistoryRequest request;
    request.set_saga_id(saga.saga_id());
    v1::SagaHistory saga_history;
    RETURN_IF_ERROR(FromGrpcStatus(
        mesh.ops().GetSagaHistory(ContextWithin(kCallTimeout).get(), request, &saga_history)));
    v1::SagaState at = v1::SAGA_STATE_UNSPECIFIED;
    for (const v1::Step& step : saga_history.steps()) {
      if (step.from_state() == step.to_state()) continue;
      if (step.from_state() != at || !Forward(step.from_state(), step.to_state())) {
        violations.push_back({"5. states only move forward", saga.saga_id(),
                              absl::StrCat("step ", v1::SagaState_Name(step.from_state()), " -> ",
                                           v1::SagaState_Name(step.to_state()), " while at ",
                                           v1::SagaState_Name(at))});
      }
      at = step.to_state();
    }
    // Steps are read after the saga: one not finished then may have moved on since.
    if (IsTerminal(saga.state()) && at != saga.state() && at != v1::SAGA_STATE_UNSPECIFIED) {
      violations.push_back({"5. states only move forward", saga.saga_id(),
                            absl::StrCat("steps end at ", v1::SagaState_Name(at), ", saga is ",
                                         v1::SagaState_Name(saga.state()))});
    }
  }

  // Dead letters: each belongs to a real saga; their sagas were parked until replayed.
  ASSIGN_OR_RETURN(std::vector<v1::DeadLetter> letters, ListDeadLetters(mesh, true));
  std::set<std::string> parked;
  for (const v1::DeadLetter& letter : letters) {
    findings.dead_letters++;
    parked.insert(letter.saga_id());
    if (!by_id.count(letter.saga_id())) {
      violations.push_back(
          {"dead letters belong to real sagas", letter.saga_id(),
           absl::StrCat("dead letter ", letter.dead_letter_id(), " of an unknown saga")});
    }
  }
  findings.parked = static_cast<int64_t>(parked.size());

  // 1 and 2 on the final state, and the bank test's replay: the initial balances plus every
  // COMPLETED saga at the amounts its client was quoted give exactly the final balances.
  for (const std::string ledger : {"krw", "fx"}) {
    v1::BalanceSheet sheet;
    RETURN_IF_ERROR(FromGrpcStatus(mesh.ledger(ledger).GetBalanceSheet(
        ContextWithin(kCallTimeout).get(), v1::GetBalanceSheetRequest(), &sheet)));
    for (Violation& violation : CheckBalanceSheet(ledger, sheet)) {
      violations.push_back(std::move(violation));
    }
  }
  std::map<std::string, int64_t> expected;
  for (const auto& [id, account] : initial) expected[id] = account.available_minor();
  for (const v1::Saga& saga : sagas) {
    if (saga.state() != v1::SAGA_STATE_COMPLETED) continue;
    auto quote = quotes.find(saga.quote_id());
    if (quote == quotes.end()) {
      violations.push_back(
          {"replay at quoted rates", saga.saga_id(), "no client was given its quote"});
      continue;
    }
    const v1::Money& sell = quote->second.sell();
    const v1::Money& buy = quote->second.buy();
    if (saga.sell().SerializeAsString() != sell.SerializeAsString() ||
        saga.buy().SerializeAsString() != buy.SerializeAsString()) {
      violations.push_back(
          {"replay at quoted rates", saga.saga_id(),
           absl::StrCat("saga moves ", saga.sell().ShortDebugString(), " for ",
                        saga.buy().ShortDebugString(), "; quoted ", sell.ShortDebugString(),
                        " for ", buy.ShortDebugString())});
    }
    expected[saga.source_account_id()] -= sell.amount_minor();
    expected[absl::StrCat("position:", sell.currency())] += sell.amount_minor();
    expected[absl::StrCat("position:", buy.currency())] -= buy.amount_minor();
    expected[saga.target_account_id()] += buy.amount_minor();
  }
  ASSIGN_OR_RETURN(Balances final_balances, ReadBalances(mesh, accounts));
  for (const auto& [id, account] : final_balances) {
    if (account.available_minor() < 0 || account.held_minor() != 0 ||
        account.incoming_minor() != 0) {
      violations.push_back(
          {"2. no negative balance, nothing held after healing", "", account.ShortDebugString()});
    }
    if (account.available_minor() != expected[id]) {
      violations.push_back(
          {"replay at quoted rates", "",
           absl::StrCat(id, ": expected ", expected[id], ", found ", account.available_minor())});
    }
  }
  return findings;
}

}  // namespace fxmesh::chaos
