// Proves that the in-memory SagaStore keeps the SOCI store's contract for the operator tables and
// retention, by running every case against both (SQLite and, through ctest, PostgreSQL): paused
// participants; resolutions proposed with an audit row and approved once, together with their saga
// write or not at all; dead letters recorded once per topic position, replayed once, dismissed
// maker-checker with the same refusals; an audit log that is only appended to; and prunes that
// take only finished rows past their cutoff, oldest first, a bounded batch at a time.
#include "absl/strings/str_cat.h"
#include "common/db.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "tests/coordinator/store_contract.h"

namespace fxmesh::coordinator::contract {
namespace {

absl::Time At(int seconds) { return kStart + absl::Seconds(seconds); }

// A dead letter of `saga_id` at `offset` of partition 0, carrying `payload`.
v1::DeadLetter DeadLetter(const std::string& saga_id, int64_t offset, const std::string& payload) {
  v1::DeadLetter dead_letter;
  dead_letter.set_saga_id(saga_id);
  dead_letter.set_payload(payload);
  dead_letter.set_error("exhausted");
  dead_letter.set_attempts(5);
  dead_letter.set_source_topic("fxmesh.branch.commands");
  dead_letter.set_offset(offset);
  *dead_letter.mutable_dead_lettered_at() = ToTimestamp(kStart);
  return dead_letter;
}

std::vector<std::string> AuditActions(ContractStore& store, const std::string& saga_id) {
  absl::StatusOr<std::vector<v1::AuditEntry>> entries = store->ListAudit(saga_id, 0, 100);
  REQUIRE(entries.ok());
  std::vector<std::string> actions;
  for (const v1::AuditEntry& entry : *entries) actions.push_back(entry.action());
  return actions;
}

STORE_CONTRACT_TEST("a paused participant is listed until it resumes", "[coordinator][store]") {
  ContractStore store(kind);
  v1::Participant paused;
  paused.set_participant("krw-ledger");
  paused.set_paused(true);
  paused.set_paused_by("olivia");
  paused.set_pause_reason("maintenance");
  *paused.mutable_paused_at() = ToTimestamp(kStart);
  REQUIRE(store->SetParticipantPaused(paused).ok());
  v1::Participant other = paused;
  other.set_participant("fx-ledger");
  REQUIRE(store->SetParticipantPaused(other).ok());
  absl::StatusOr<std::vector<v1::Participant>> listed = store->ListPausedParticipants();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].participant() == "fx-ledger");
  CHECK((*listed)[1].pause_reason() == "maintenance");
  CHECK((*listed)[1].paused_at() == ToTimestamp(kStart));

  paused.set_paused(false);
  REQUIRE(store->SetParticipantPaused(paused).ok());
  listed = store->ListPausedParticipants();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().participant() == "fx-ledger");
}

STORE_CONTRACT_TEST("a resolution is approved once, with its saga write or not at all",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const v1::Saga trying = store.Move(store.Create("stuck"), v1::SAGA_STATE_TRYING);
  v1::Resolution proposal;
  proposal.set_saga_id(trying.saga_id());
  proposal.set_action(v1::RESOLUTION_ACTION_CANCEL);
  proposal.set_reason_code("CUSTOMER_REQUEST");
  proposal.set_note("called in");
  proposal.set_proposed_by("alice-ops");
  proposal.set_state(v1::RESOLUTION_STATE_APPROVED);  // Ignored: a proposal starts PROPOSED.
  *proposal.mutable_proposed_at() = ToTimestamp(At(1));
  absl::StatusOr<int64_t> first = store->InsertResolution(proposal);
  absl::StatusOr<int64_t> second = store->InsertResolution(proposal);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*second > *first);
  absl::StatusOr<std::optional<v1::Resolution>> read = store->GetResolution(*first);
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->state() == v1::RESOLUTION_STATE_PROPOSED);
  CHECK((*read)->note() == "called in");
  CHECK(!(*read)->has_approved_at());
  CHECK(!store->GetResolution(*second + 100)->has_value());

  v1::Saga cancelling = trying;
  cancelling.set_state(v1::SAGA_STATE_CANCELLING);
  cancelling.set_failure_reason("MANUAL");
  const StepRecord step{v1::SAGA_STATE_TRYING, v1::SAGA_STATE_CANCELLING, "resolution"};
  // The saga moved on since it was read: nothing is recorded, the resolution still waits.
  v1::Saga stale = cancelling;
  stale.set_revision(trying.revision() - 1);
  CHECK(IsStaleRead(store->ApproveResolutionAndSave(*first, "bob-ops", stale, v1::SAGA_STATE_TRYING,
                                                    "", At(2), step, At(2))));
  CHECK((*store->GetResolution(*first))->state() == v1::RESOLUTION_STATE_PROPOSED);
  CHECK(AuditActions(store, trying.saga_id()) ==
        std::vector<std::string>{"propose_resolution", "propose_resolution"});

  REQUIRE(store
              ->ApproveResolutionAndSave(*first, "bob-ops", cancelling, v1::SAGA_STATE_TRYING, "",
                                         At(2), step, At(2))
              .ok());
  const v1::Resolution approved = **store->GetResolution(*first);
  CHECK(approved.state() == v1::RESOLUTION_STATE_APPROVED);
  CHECK(approved.approved_by() == "bob-ops");
  CHECK(approved.approved_at() == ToTimestamp(At(2)));
  CHECK(store.Read(trying.saga_id()).state() == v1::SAGA_STATE_CANCELLING);
  CHECK(store->ListSteps(trying.saga_id())->back().detail() == "resolution");
  CHECK(AuditActions(store, trying.saga_id()) ==
        std::vector<std::string>{"propose_resolution", "propose_resolution", "approve_resolution"});
  // Approved already, or unknown: refused, whatever the saga.
  const v1::Saga now_cancelling = store.Read(trying.saga_id());
  CHECK(absl::IsFailedPrecondition(store->ApproveResolutionAndSave(
      *first, "carol-ops", now_cancelling, v1::SAGA_STATE_CANCELLING, "", At(3), step, At(3))));
  CHECK(absl::IsFailedPrecondition(
      store->ApproveResolutionAndSave(*second + 100, "carol-ops", now_cancelling,
                                      v1::SAGA_STATE_CANCELLING, "", At(3), step, At(3))));
  absl::StatusOr<std::vector<v1::Resolution>> listed = store->ListResolutions(trying.saga_id());
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].resolution_id() == *first);
  CHECK((*listed)[1].state() == v1::RESOLUTION_STATE_PROPOSED);
}

STORE_CONTRACT_TEST("a dead letter is recorded once per position and replayed once",
                    "[coordinator][store]") {
  ContractStore store(kind);
  v1::BranchCommand command;
  command.mutable_branch()->set_saga_id("saga-1");
  command.mutable_branch()->set_branch("krw");
  command.set_attempt(3);
  const std::string payload = ProtoToJson(command);
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-1", 7, payload)));
  CHECK(!*store->InsertDeadLetter(DeadLetter("saga-1", 7, payload)));  // Redelivered.
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-2", 8, "{not a command")));
  CHECK(*store->CountPendingDeadLetters() == 2);

  absl::StatusOr<std::vector<v1::DeadLetter>> listed = store->ListDeadLetters("", false, 0, 10);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 2);
  const v1::DeadLetter& parsed = (*listed)[0];
  CHECK(parsed.has_command());
  CHECK(parsed.command().attempt() == 3);
  CHECK(parsed.offset() == 7);
  CHECK(parsed.dead_lettered_at() == ToTimestamp(kStart));
  CHECK(!parsed.has_replayed_at());
  CHECK(!(*listed)[1].has_command());  // Poison stays a payload.
  CHECK((*listed)[1].dead_letter_id() > parsed.dead_letter_id());
  CHECK(store->ListDeadLetters("saga-2", false, 0, 10)->size() == 1);
  CHECK(store->ListDeadLetters("", false, parsed.dead_letter_id(), 10)->size() == 1);
  CHECK(store->ListDeadLetters("", false, 0, 1)->size() == 1);

  const OutboxMessage resend{0, "fxmesh.branch.commands", "saga-1", payload, "tp"};
  REQUIRE(store->ReplayDeadLetter(parsed.dead_letter_id(), "olivia", "ledger back", resend, At(1))
              .ok());
  CHECK(absl::IsFailedPrecondition(
      store->ReplayDeadLetter(parsed.dead_letter_id(), "olivia", "again", resend, At(2))));
  CHECK(absl::IsFailedPrecondition(store->ReplayDeadLetter(999, "olivia", "?", resend, At(2))));
  const std::vector<OutboxMessage> unsent = store.Unsent();
  REQUIRE(unsent.size() == 1);
  CHECK(unsent[0].payload == payload);
  CHECK(unsent[0].traceparent == "tp");
  const v1::DeadLetter replayed = **store->GetDeadLetter(parsed.dead_letter_id());
  CHECK(replayed.replayed_by() == "olivia");
  CHECK(replayed.replayed_at() == ToTimestamp(At(1)));
  CHECK(!store->GetDeadLetter(999)->has_value());
  CHECK(*store->CountPendingDeadLetters() == 1);
  CHECK(store->ListDeadLetters("", false, 0, 10)->size() == 1);
  CHECK(store->ListDeadLetters("", true, 0, 10)->size() == 2);
  CHECK(AuditActions(store, "saga-1") == std::vector<std::string>{"replay_dead_letter"});
}

STORE_CONTRACT_TEST("a dead letter is dismissed by a second operator, with the same refusals",
                    "[coordinator][store]") {
  ContractStore store(kind);
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-1", 1, "{}")));
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-2", 2, "{}")));
  const std::vector<v1::DeadLetter> letters = *store->ListDeadLetters("", true, 0, 10);
  REQUIRE(letters.size() == 2);
  const int64_t id = letters[0].dead_letter_id(), replayed_id = letters[1].dead_letter_id();
  REQUIRE(store
              ->ReplayDeadLetter(replayed_id, "olivia", "done",
                                 OutboxMessage{0, "fxmesh.branch.commands", "saga-2", "{}", ""},
                                 At(1))
              .ok());

  auto refusal = [](const absl::Status& status) {
    INFO(status.ToString());
    CHECK(absl::IsFailedPrecondition(status));
    return std::string(status.message());
  };
  CHECK(refusal(store->ApproveDeadLetterDismissal(id, "kim", At(2))) ==
        absl::StrCat("dead letter ", id, " has no proposed dismissal to approve"));
  CHECK(refusal(store->ProposeDeadLetterDismissal(replayed_id, "kim", "why", At(2))) ==
        absl::StrCat("dead letter ", replayed_id, " was already replayed"));
  CHECK(absl::IsNotFound(store->ProposeDeadLetterDismissal(999, "kim", "why", At(2))));
  CHECK(absl::IsNotFound(store->ApproveDeadLetterDismissal(999, "lee", At(2))));

  REQUIRE(store->ProposeDeadLetterDismissal(id, "Kim", "duplicate of a posted leg", At(2)).ok());
  const std::string proposed_twice =
      refusal(store->ProposeDeadLetterDismissal(id, "lee", "again", At(3)));
  CHECK(proposed_twice == absl::StrCat("dead letter ", id,
                                       " has a dismissal proposed by Kim already; maker-checker: a "
                                       "different operator approves it"));
  // The proposer cannot approve, not even spelled in another case.
  CHECK(refusal(store->ApproveDeadLetterDismissal(id, "kIM", At(3))) == proposed_twice);
  CHECK(*store->CountPendingDeadLetters() == 1);
  REQUIRE(store->ApproveDeadLetterDismissal(id, "lee", At(4)).ok());
  const v1::DeadLetter dismissed = **store->GetDeadLetter(id);
  CHECK(dismissed.dismissal_proposed_by() == "Kim");
  CHECK(dismissed.dismissal_reason() == "duplicate of a posted leg");
  CHECK(dismissed.dismissed_by() == "lee");
  CHECK(dismissed.dismissed_at() == ToTimestamp(At(4)));
  CHECK(*store->CountPendingDeadLetters() == 0);
  CHECK(refusal(store->ApproveDeadLetterDismissal(id, "max", At(5))) ==
        absl::StrCat("dead letter ", id, " was already dismissed"));
  CHECK(absl::IsFailedPrecondition(
      store->ReplayDeadLetter(id, "olivia", "no", OutboxMessage{}, At(5))));
  CHECK(AuditActions(store, "saga-1") ==
        std::vector<std::string>{"propose_dismissal", "approve_dismissal"});
}

STORE_CONTRACT_TEST("the audit log is appended to and listed in order, per saga or all",
                    "[coordinator][store]") {
  ContractStore store(kind);
  for (const char* saga_id : {"saga-1", "saga-2", "saga-1"}) {
    v1::AuditEntry entry;
    entry.set_operator_("olivia");
    entry.set_action("pause_participant");
    entry.set_saga_id(saga_id);
    entry.set_detail(absl::StrCat("about ", saga_id));
    *entry.mutable_at() = ToTimestamp(At(1));
    REQUIRE(store->AppendAudit(entry).ok());
  }
  absl::StatusOr<std::vector<v1::AuditEntry>> all = store->ListAudit("", 0, 100);
  REQUIRE(all.ok());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].audit_id() < (*all)[1].audit_id());
  CHECK((*all)[1].audit_id() < (*all)[2].audit_id());
  CHECK((*all)[2].detail() == "about saga-1");
  CHECK((*all)[2].at() == ToTimestamp(At(1)));
  CHECK(store->ListAudit("saga-1", 0, 100)->size() == 2);
  CHECK(store->ListAudit("", (*all)[0].audit_id(), 1)->front().audit_id() == (*all)[1].audit_id());
}

STORE_CONTRACT_TEST("retention takes finished rows past their cutoff, a batch at a time",
                    "[coordinator][store]") {
  ContractStore store(kind);
  auto finish = [&](const std::string& key, v1::SagaState last, absl::Time at) {
    const v1::Saga trying = store.Move(store.Create(key), v1::SAGA_STATE_TRYING, at);
    if (last == v1::SAGA_STATE_COMPLETED) {
      return store.Move(store.Move(trying, v1::SAGA_STATE_CONFIRMING, at), last, at);
    }
    return store.Move(store.Move(trying, v1::SAGA_STATE_CANCELLING, at), last, at);
  };
  const v1::Saga oldest = finish("oldest", v1::SAGA_STATE_CANCELLED, At(1));
  const v1::Saga old = finish("old", v1::SAGA_STATE_COMPLETED, At(2));
  const v1::Saga older = finish("older", v1::SAGA_STATE_COMPLETED, At(1));
  const v1::Saga waiting = finish("waiting", v1::SAGA_STATE_COMPLETED, At(1));
  const v1::Saga young = finish("young", v1::SAGA_STATE_COMPLETED, At(100));
  const v1::Saga running = store.Move(store.Create("running"), v1::SAGA_STATE_TRYING, At(1));
  REQUIRE(*store->InsertDeadLetter(DeadLetter(waiting.saga_id(), 1, "{}")));
  v1::Resolution resolution;
  resolution.set_saga_id(old.saga_id());
  resolution.set_proposed_by("kim");
  REQUIRE(store->InsertResolution(resolution).ok());

  // Completed sagas first, oldest first, then cancelled ones, within the batch.
  absl::StatusOr<PrunedSagas> pruned = store->PruneTerminalSagas(At(50), 1);
  REQUIRE(pruned.ok());
  CHECK(pruned->sagas == 1);
  CHECK(pruned->steps == 4);
  CHECK(!store->GetSaga(older.saga_id())->has_value());
  pruned = store->PruneTerminalSagas(At(50), 10);
  REQUIRE(pruned.ok());
  CHECK(pruned->sagas == 2);
  CHECK(pruned->steps == 8);
  CHECK(pruned->resolutions == 1);
  CHECK(!store->GetSaga(old.saga_id())->has_value());
  CHECK(!store->GetSaga(oldest.saga_id())->has_value());
  CHECK(!store->GetSagaByKey("alice", "oldest")->has_value());
  CHECK(store->ListSteps(oldest.saga_id())->empty());
  CHECK(store->ListResolutions(old.saga_id())->empty());
  // What stays: a young saga, a running one, one whose dead letter waits; and the audit log.
  CHECK(store->PruneTerminalSagas(At(50), 10)->sagas == 0);
  for (const v1::Saga& kept : {waiting, young, running}) {
    CHECK(store->GetSaga(kept.saga_id())->has_value());
  }
  CHECK(AuditActions(store, old.saga_id()) == std::vector<std::string>{"propose_resolution"});

  // Quotes: expired ones go unless a running saga names one.
  store.NewQuote("expired-1", At(10));
  store.NewQuote("expired-2", At(11));
  store.NewQuote("fresh", At(1'000));
  CHECK(*store->PruneQuotes(At(20), 1) == 1);
  CHECK(!store->GetQuote("expired-1")->has_value());
  CHECK(*store->PruneQuotes(At(20), 10) == 1);
  // Every other quote has expired by then: the five finished sagas' and the fresh one go, and the
  // running saga's stays.
  CHECK(*store->PruneQuotes(absl::InfiniteFuture(), 100) == 6);
  CHECK(store->GetQuote(running.quote_id())->has_value());

  // Outbox: sent rows before the cutoff, in id order; never an unsent one.
  std::vector<OutboxMessage> unsent = store.Unsent();
  REQUIRE(unsent.size() > 4);
  REQUIRE(store->MarkOutboxSent({unsent[0].outbox_id, unsent[1].outbox_id}, At(1)).ok());
  REQUIRE(store->MarkOutboxSent({unsent[2].outbox_id}, At(5)).ok());
  CHECK(*store->PruneSentOutbox(At(5), 1) == 1);
  CHECK(*store->PruneSentOutbox(At(5), 10) == 1);
  CHECK(*store->PruneSentOutbox(absl::InfiniteFuture(), 10) == 1);
  CHECK(store.Unsent().size() == unsent.size() - 3);

  // Dead letters: replayed or dismissed before the cutoff; never one still waiting.
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-x", 2, "{}")));
  REQUIRE(*store->InsertDeadLetter(DeadLetter("saga-y", 3, "{}")));
  const std::vector<v1::DeadLetter> letters = *store->ListDeadLetters("", true, 0, 10);
  REQUIRE(letters.size() == 3);
  REQUIRE(
      store->ReplayDeadLetter(letters[1].dead_letter_id(), "o", "r", OutboxMessage{}, At(3)).ok());
  REQUIRE(store->ProposeDeadLetterDismissal(letters[2].dead_letter_id(), "kim", "r", At(3)).ok());
  REQUIRE(store->ApproveDeadLetterDismissal(letters[2].dead_letter_id(), "lee", At(6)).ok());
  CHECK(*store->PruneReplayedDeadLetters(At(5), 10) == 1);
  CHECK(*store->PruneReplayedDeadLetters(At(7), 10) == 1);
  CHECK(*store->PruneReplayedDeadLetters(absl::InfiniteFuture(), 10) == 0);
  CHECK(*store->CountPendingDeadLetters() == 1);
}

}  // namespace
}  // namespace fxmesh::coordinator::contract
