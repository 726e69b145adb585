// Proves that the in-memory SagaStore (tests/support/in_memory_saga_store.h) keeps the SOCI store's
// contract for sagas, leases and the outbox, by running every case against both (SQLite and,
// through ctest, PostgreSQL): what a created saga reads back as; idempotency per customer and a
// quote used once; the daily limit reserved and given back once; revision, state and lease fencing
// answering ABORTED; events queued with every transition and outbox ids only growing; due sagas
// claimed oldest due first and leases released; the publisher role held by one owner at a time;
// listings.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <thread>

#include "common/db.h"
#include "common/proto_time.h"
#include "kafka/topics.h"
#include "tests/coordinator/store_contract.h"

namespace fxmesh::coordinator::contract {
namespace {

using Outcome = CreateResult::Outcome;

absl::Time At(int seconds) { return kStart + absl::Seconds(seconds); }

STORE_CONTRACT_TEST("a created saga reads back with its stored columns, first step and event",
                    "[coordinator][store]") {
  ContractStore store(kind);
  NewSaga request = store.Request("first");
  request.saga.set_failure_reason("not stored at creation");
  request.saga.set_stuck(true);
  request.saga.set_revision(7);
  absl::StatusOr<CreateResult> created = store->CreateSaga(request, kStart);
  REQUIRE(created.ok());
  CHECK(created->outcome == Outcome::kCreated);
  CHECK(created->saga.saga_id() == request.saga.saga_id());

  v1::Saga expected = request.saga;
  expected.clear_failure_reason();
  expected.clear_stuck();
  expected.set_revision(0);
  *expected.mutable_created_at() = ToTimestamp(kStart);
  *expected.mutable_updated_at() = ToTimestamp(kStart);
  const v1::Saga read = store.Read(request.saga.saga_id());
  CHECK(read.created_at().nanos() % 1'000 == 0);
  INFO("read back: " << read.ShortDebugString());
  CHECK(google::protobuf::util::MessageDifferencer::Equals(read, expected));

  absl::StatusOr<std::optional<v1::Saga>> by_key = store->GetSagaByKey("alice", "first");
  REQUIRE(by_key.ok());
  REQUIRE(by_key->has_value());
  CHECK((*by_key)->saga_id() == read.saga_id());
  CHECK(!store->GetSagaByKey("bob", "first")->has_value());
  CHECK(!store->GetSaga("no-such-saga")->has_value());

  absl::StatusOr<std::vector<v1::Step>> steps = store->ListSteps(read.saga_id());
  REQUIRE(steps.ok());
  REQUIRE(steps->size() == 1);
  CHECK(steps->front().from_state() == v1::SAGA_STATE_UNSPECIFIED);
  CHECK(steps->front().to_state() == v1::SAGA_STATE_CREATED);
  CHECK(steps->front().detail() == "created; 13700 KRW of the daily limit reserved");
  CHECK(steps->front().at() == ToTimestamp(kStart));

  const std::vector<OutboxMessage> unsent = store.Unsent();
  REQUIRE(unsent.size() == 1);
  CHECK(unsent[0].topic == kafka::kSagaEventsTopic);
  CHECK(unsent[0].key == read.saga_id());
  CHECK(unsent[0].traceparent.find(read.saga_id()) != std::string::npos);
  v1::SagaEvent event;
  REQUIRE(google::protobuf::util::JsonStringToMessage(unsent[0].payload, &event).ok());
  CHECK(event.to_state() == v1::SAGA_STATE_CREATED);
  CHECK(event.customer_id() == "alice");
  CHECK(event.failure_reason() == "not stored at creation");

  absl::StatusOr<std::optional<v1::Quote>> quote = store->GetQuote(read.quote_id());
  REQUIRE(quote.ok());
  REQUIRE(quote->has_value());
  CHECK((*quote)->customer_id() == "alice");
  CHECK((*quote)->expires_at() == ToTimestamp(kStart + absl::Hours(1)));
  CHECK(!store->GetQuote("no-such-quote")->has_value());
}

STORE_CONTRACT_TEST("idempotency keys are per customer and a quote serves one exchange",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const NewSaga request = store.Request("key-1");
  const v1::Saga first = store.Create(request);

  // The same key and request again: the same saga, nothing new written.
  NewSaga again = request;
  again.saga.set_saga_id("saga-retry");
  absl::StatusOr<CreateResult> repeated = store->CreateSaga(again, At(1));
  REQUIRE(repeated.ok());
  CHECK(repeated->outcome == Outcome::kExisting);
  CHECK(repeated->saga.saga_id() == first.saga_id());
  // The same key for another request: refused, naming the saga it made.
  NewSaga different = again;
  different.request_digest = "another request";
  absl::StatusOr<CreateResult> conflict = store->CreateSaga(different, At(1));
  REQUIRE(conflict.ok());
  CHECK(conflict->outcome == Outcome::kKeyConflict);
  CHECK(conflict->saga.saga_id() == first.saga_id());
  // Another key on the used quote, and a quote that does not exist: refused.
  NewSaga reuse = store.Request("key-2", "alice", request.saga.quote_id());
  absl::StatusOr<CreateResult> used = store->CreateSaga(reuse, At(1));
  REQUIRE(used.ok());
  CHECK(used->outcome == Outcome::kQuoteUsed);
  NewSaga unknown = store.Request("key-3", "alice", "no-such-quote");
  CHECK(store->CreateSaga(unknown, At(1))->outcome == Outcome::kQuoteUsed);
  // Bob's same key is bob's own exchange.
  const v1::Saga bobs = store.Create(store.Request("key-1", "bob"));
  CHECK(bobs.saga_id() != first.saga_id());
  CHECK(bobs.idempotency_key() == "key-1");
  CHECK((*store->GetSagaByKey("bob", "key-1"))->saga_id() == bobs.saga_id());
  CHECK(*store->CountSagasByState() ==
        std::map<v1::SagaState, int64_t>{{v1::SAGA_STATE_CREATED, 2}});
  // Refusals wrote nothing: two sagas, two creation events.
  CHECK(store.Unsent().size() == 2);
}

STORE_CONTRACT_TEST("concurrent creations with one key make one saga and reserve once",
                    "[coordinator][store][concurrency]") {
  ContractStore store(kind);
  const NewSaga request = store.Request("racing", "alice", "", 600, 1'000);
  constexpr int kThreads = 4;
  std::vector<absl::StatusOr<CreateResult>> results(kThreads, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = store->CreateSaga(request, kStart); });
  }
  for (std::thread& thread : threads) thread.join();
  int created = 0, existing = 0;
  for (const absl::StatusOr<CreateResult>& result : results) {
    REQUIRE(result.ok());
    created += result->outcome == Outcome::kCreated ? 1 : 0;
    existing += result->outcome == Outcome::kExisting ? 1 : 0;
  }
  CHECK(created == 1);
  CHECK(existing == kThreads - 1);
  // 600 of 1,000 reserved once: another 400 fits, and 1 more does not.
  CHECK(store->CreateSaga(store.Request("fits", "alice", "", 400, 1'000), kStart)->outcome ==
        Outcome::kCreated);
  CHECK(store->CreateSaga(store.Request("over", "alice", "", 1, 1'000), kStart)->outcome ==
        Outcome::kLimitExceeded);
}

STORE_CONTRACT_TEST("the daily limit is reserved at creation and given back on cancelling, once",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const v1::Saga first = store.Create(store.Request("a", "alice", "", 600, 1'000));
  absl::StatusOr<CreateResult> over =
      store->CreateSaga(store.Request("b", "alice", "", 500, 1'000), kStart);
  REQUIRE(over.ok());
  CHECK(over->outcome == Outcome::kLimitExceeded);
  CHECK(over->limit_used_krw_minor == 600);
  // Another customer, or another day, has a limit of its own.
  store.Create(store.Request("a", "bob", "", 1'000, 1'000));
  NewSaga next_day = store.Request("c", "alice", "", 1'000, 1'000);
  next_day.limit_day = "2026-06-02";
  store.Create(next_day);

  // Entering CANCELLING gives alice's 600 back; leaving it for CANCELLED gives nothing more, and
  // neither does entering CANCELLING a second time (a write the store does not refuse).
  const v1::Saga trying = store.Move(first, v1::SAGA_STATE_TRYING);
  const v1::Saga cancelling = store.Move(trying, v1::SAGA_STATE_CANCELLING);
  const v1::Saga cancelled = store.Move(cancelling, v1::SAGA_STATE_CANCELLED);
  store.Move(cancelled, v1::SAGA_STATE_CANCELLING);
  store.Create(store.Request("d", "alice", "", 1'000, 1'000));
  absl::StatusOr<CreateResult> full =
      store->CreateSaga(store.Request("e", "alice", "", 1, 1'000), kStart);
  REQUIRE(full.ok());
  CHECK(full->outcome == Outcome::kLimitExceeded);
  CHECK(full->limit_used_krw_minor == 1'000);
}

STORE_CONTRACT_TEST("a saga write is fenced by revision, expected state and a live lease",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const v1::Saga created = store.Create("fenced");
  v1::Saga trying = created;
  trying.set_state(v1::SAGA_STATE_TRYING);
  trying.set_attempt(1);
  trying.set_failure_detail("detail");
  *trying.mutable_next_attempt_at() = ToTimestamp(At(5));
  trying.mutable_branches(0)->set_last_error("first try unanswered");
  const StepRecord step{v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING, "trying"};

  // Another driver holds a live lease: refused until it expires.
  REQUIRE(*store->ClaimSaga(created.saga_id(), "other", kStart, At(30)));
  absl::Status refused =
      store->SaveSaga(trying, v1::SAGA_STATE_CREATED, "me", At(60), step, {}, At(1));
  CHECK(IsStaleRead(refused));
  // A wrong expected state, or a revision someone else moved past: refused.
  CHECK(
      IsStaleRead(store->SaveSaga(trying, v1::SAGA_STATE_TRYING, "me", At(60), step, {}, At(31))));
  v1::Saga stale = trying;
  stale.set_revision(created.revision() + 1);
  CHECK(
      IsStaleRead(store->SaveSaga(stale, v1::SAGA_STATE_CREATED, "me", At(60), step, {}, At(31))));
  CHECK(store.Read(created.saga_id()).revision() == created.revision());

  // Past the other's lease, the write goes through, and "me" holds the lease until At(60).
  REQUIRE(store->SaveSaga(trying, v1::SAGA_STATE_CREATED, "me", At(60), step, {}, At(31)).ok());
  const v1::Saga written = store.Read(created.saga_id());
  CHECK(written.revision() == created.revision() + 1);
  CHECK(written.state() == v1::SAGA_STATE_TRYING);
  CHECK(written.attempt() == 1);
  CHECK(written.failure_detail() == "detail");
  CHECK(written.next_attempt_at() == ToTimestamp(At(5)));
  CHECK(written.updated_at() == ToTimestamp(At(31)));
  CHECK(written.branches(0).last_error() == "first try unanswered");
  CHECK(!*store->ClaimSaga(created.saga_id(), "other", At(32), At(90)));
  // The same revision twice: the second write is refused (the first one moved it on).
  CHECK(
      IsStaleRead(store->SaveSaga(trying, v1::SAGA_STATE_CREATED, "me", At(60), step, {}, At(32))));
  // A write with no lease to keep leaves the saga unleased: anyone may claim it.
  v1::Saga unleased = written;
  REQUIRE(store->SaveSaga(unleased, v1::SAGA_STATE_TRYING, "me", At(33), std::nullopt, {}, At(33))
              .ok());
  CHECK(*store->ClaimSaga(created.saga_id(), "other", At(33), At(90)));
}

STORE_CONTRACT_TEST("transitions queue their events, and outbox ids only grow",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const v1::Saga created = store.Create("events");
  v1::Saga trying = created;
  trying.set_state(v1::SAGA_STATE_TRYING);
  const std::vector<OutboxMessage> commands = {
      {0, "fxmesh.branch.commands", created.saga_id(), "{\"n\":1}", "tp-1"},
      {0, "fxmesh.branch.commands", created.saga_id(), "{\"n\":2}", "tp-2"}};
  REQUIRE(store
              ->SaveSaga(trying, v1::SAGA_STATE_CREATED, "me", kStart,
                         StepRecord{v1::SAGA_STATE_CREATED, v1::SAGA_STATE_TRYING, "go"}, commands,
                         At(1))
              .ok());
  // A step that is no transition is logged without an event.
  v1::Saga retry = store.Read(created.saga_id());
  REQUIRE(store
              ->SaveSaga(retry, v1::SAGA_STATE_TRYING, "me", kStart,
                         StepRecord{v1::SAGA_STATE_TRYING, v1::SAGA_STATE_TRYING, "again"}, {},
                         At(2))
              .ok());
  CHECK(store->ListSteps(created.saga_id())->size() == 3);

  std::vector<OutboxMessage> unsent = store.Unsent();
  REQUIRE(unsent.size() == 4);  // Created, trying, two commands.
  for (size_t i = 1; i < unsent.size(); ++i) CHECK(unsent[i].outbox_id > unsent[i - 1].outbox_id);
  CHECK(unsent[1].topic == kafka::kSagaEventsTopic);
  CHECK(unsent[2].payload == "{\"n\":1}");
  CHECK(unsent[2].traceparent == "tp-1");
  CHECK(unsent[3].payload == "{\"n\":2}");
  CHECK(*store->CountUnsentOutbox() == 4);

  // Paging after an id, marking sent, and sent rows no longer listed.
  absl::StatusOr<std::vector<OutboxMessage>> page = store->ListUnsentOutbox(unsent[0].outbox_id, 2);
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].outbox_id == unsent[1].outbox_id);
  REQUIRE(store->MarkOutboxSent({unsent[1].outbox_id, unsent[2].outbox_id}, At(3)).ok());
  REQUIRE(store->MarkOutboxSent({}, At(3)).ok());
  unsent = store.Unsent();
  REQUIRE(unsent.size() == 2);
  CHECK(unsent[1].payload == "{\"n\":2}");
  CHECK(*store->CountUnsentOutbox() == 2);
  // A new row gets a higher id than any before, sent or not.
  const v1::Saga other = store.Create("later");
  CHECK(store.Unsent().back().outbox_id > unsent.back().outbox_id);
  CHECK(store.Unsent().back().key == other.saga_id());
}

STORE_CONTRACT_TEST("a saga created leased is its creator's until the lease ends",
                    "[coordinator][store]") {
  ContractStore store(kind);
  NewSaga request = store.Request("leased");
  request.lease_owner = "me";
  request.lease_until = At(30);
  const v1::Saga created = store.Create(request);
  // Nobody else claims it, alone or among the due, while the lease lives; its owner writes it.
  CHECK(!*store->ClaimSaga(created.saga_id(), "other", At(1), At(60)));
  CHECK(store->ClaimDueSagas("other", At(1), At(60), 10)->empty());
  v1::Saga trying = created;
  trying.set_state(v1::SAGA_STATE_TRYING);
  REQUIRE(
      store->SaveSaga(trying, v1::SAGA_STATE_CREATED, "me", At(30), std::nullopt, {}, At(2)).ok());
  // Once the lease has run out, any driver may take it.
  CHECK(*store->ClaimSaga(created.saga_id(), "other", At(31), At(60)));
  // Created unleased (the default), it is anyone's at once.
  const v1::Saga free = store.Create("free");
  CHECK(*store->ClaimSaga(free.saga_id(), "other", At(1), At(60)));
}

STORE_CONTRACT_TEST("due sagas are claimed oldest due first, one owner per live lease",
                    "[coordinator][store]") {
  ContractStore store(kind);
  std::vector<std::string> ids;
  for (int due : {3, 1, 2, 100}) {
    v1::Saga saga = store.Create(absl::StrCat("due-", due));
    *saga.mutable_next_attempt_at() = ToTimestamp(At(due));
    REQUIRE(
        store->SaveSaga(saga, v1::SAGA_STATE_CREATED, "", kStart, std::nullopt, {}, kStart).ok());
    ids.push_back(saga.saga_id());
  }
  // A terminal saga is never due.
  v1::Saga done = store.Move(store.Move(store.Move(store.Create("done"), v1::SAGA_STATE_TRYING),
                                        v1::SAGA_STATE_CONFIRMING),
                             v1::SAGA_STATE_COMPLETED);

  absl::StatusOr<std::vector<std::string>> claimed = store->ClaimDueSagas("a", At(10), At(40), 2);
  REQUIRE(claimed.ok());
  CHECK(*claimed == std::vector<std::string>{ids[1], ids[2]});
  claimed = store->ClaimDueSagas("b", At(10), At(40), 10);
  REQUIRE(claimed.ok());
  CHECK(*claimed == std::vector<std::string>{ids[0]});
  // An owner gets its own leases again (after a restart); a lease past its end is anyone's.
  CHECK(*store->ClaimDueSagas("a", At(11), At(40), 10) == std::vector<std::string>{ids[1], ids[2]});
  CHECK(*store->ClaimDueSagas("c", At(40) + absl::Microseconds(1), At(80), 10) ==
        std::vector<std::string>{ids[1], ids[2], ids[0]});
  CHECK(*store->ReleaseLeasesOf("c") == 3);
  CHECK(*store->ReleaseLeasesOf("c") == 0);

  // One saga at a time: claimed, released by another (nothing happens), released by its owner.
  CHECK(*store->ClaimSaga(ids[0], "a", At(50), At(80)));
  CHECK(!*store->ClaimSaga(ids[0], "b", At(50), At(80)));
  CHECK(*store->ClaimSaga(ids[0], "a", At(51), At(81)));
  REQUIRE(store->ReleaseSaga(ids[0], "b").ok());
  CHECK(!*store->ClaimSaga(ids[0], "b", At(52), At(80)));
  REQUIRE(store->ReleaseSaga(ids[0], "a").ok());
  CHECK(*store->ClaimSaga(ids[0], "b", At(52), At(80)));
  CHECK(!*store->ClaimSaga("no-such-saga", "b", At(52), At(80)));

  // "Retry now" makes a running saga due, as a write (a copy read before it is stale); a terminal
  // or unknown one is not scheduled.
  const int64_t revision = (*store->GetSaga(ids[3]))->revision();
  CHECK(*store->ScheduleSaga(ids[3], At(60)));
  CHECK((*store->GetSaga(ids[3]))->revision() == revision + 1);
  CHECK(*store->ClaimDueSagas("d", At(60), At(90), 10) ==
        std::vector<std::string>{ids[1], ids[2], ids[3]});
  CHECK(!*store->ScheduleSaga(done.saga_id(), At(60)));
  CHECK(!*store->ScheduleSaga("no-such-saga", At(60)));
}

STORE_CONTRACT_TEST("the outbox publisher role has one owner until its lease ends",
                    "[coordinator][store]") {
  ContractStore store(kind);
  CHECK(*store->ClaimRole(kOutboxPublisherRole, "a", kStart, At(10)));
  CHECK(!*store->ClaimRole(kOutboxPublisherRole, "b", At(5), At(15)));
  CHECK(*store->ClaimRole(kOutboxPublisherRole, "a", At(5), At(15)));
  CHECK(!*store->ClaimRole(kOutboxPublisherRole, "b", At(15), At(25)));
  CHECK(*store->ClaimRole(kOutboxPublisherRole, "b", At(16), At(25)));
  CHECK(!*store->ClaimRole(kOutboxPublisherRole, "a", At(16), At(25)));
  CHECK(!*store->ClaimRole("no-such-role", "a", kStart, At(10)));
}

STORE_CONTRACT_TEST("sagas are listed in creation order by every filter, and counted by state",
                    "[coordinator][store]") {
  ContractStore store(kind);
  const v1::Saga a = store.Create("a");
  const v1::Saga b = store.Create(store.Request("b", "bob"), At(10));
  const v1::Saga c = store.Move(store.Create(store.Request("c"), At(20)), v1::SAGA_STATE_TRYING);
  const v1::Saga d =
      store.Move(store.Move(store.Create(store.Request("d"), At(30)), v1::SAGA_STATE_TRYING),
                 v1::SAGA_STATE_CANCELLING);
  store.Move(d, v1::SAGA_STATE_CANCELLED);
  NewSaga three_branches = store.Request("e");
  three_branches.saga.add_branches()->set_participant("fee-ledger");
  const v1::Saga e = store.Create(three_branches, At(40));

  auto list = [&](const SagaFilter& filter) {
    std::vector<int64_t> sequences;
    absl::StatusOr<std::vector<v1::Saga>> sagas = store->ListSagas(filter, &sequences);
    REQUIRE(sagas.ok());
    REQUIRE(sequences.size() == sagas->size());
    std::vector<std::string> ids;
    for (const v1::Saga& saga : *sagas) ids.push_back(saga.saga_id());
    return std::make_pair(ids, sequences);
  };
  using Ids = std::vector<std::string>;
  CHECK(list({}).first == Ids{a.saga_id(), b.saga_id(), c.saga_id(), d.saga_id(), e.saga_id()});
  CHECK(list({.state = v1::SAGA_STATE_TRYING}).first == Ids{c.saga_id()});
  CHECK(list({.customer_id = "bob"}).first == Ids{b.saga_id()});
  CHECK(list({.participant = "fee-ledger"}).first == Ids{e.saga_id()});
  CHECK(list({.participant = "krw-ledger"}).first.size() == 5);
  CHECK(list({.participant = "ledger"}).first.empty());
  CHECK(list({.created_before = At(20)}).first == Ids{a.saga_id(), b.saga_id(), c.saga_id()});
  CHECK(list({.active_only = true}).first ==
        Ids{a.saga_id(), b.saga_id(), c.saga_id(), e.saga_id()});
  // Paging: two at a time, each page after the last sequence of the one before.
  const auto [first_page, first_sequences] = list({.limit = 2});
  CHECK(first_page == Ids{a.saga_id(), b.saga_id()});
  CHECK(first_sequences[0] < first_sequences[1]);
  CHECK(list({.after_sequence = first_sequences[1], .limit = 2}).first ==
        Ids{c.saga_id(), d.saga_id()});

  CHECK(*store->CountSagasByState() ==
        std::map<v1::SagaState, int64_t>{{v1::SAGA_STATE_CREATED, 3},
                                         {v1::SAGA_STATE_TRYING, 1},
                                         {v1::SAGA_STATE_CANCELLED, 1}});
}

STORE_CONTRACT_TEST("a saga stored without branches is DATA_LOSS and left out of listings",
                    "[coordinator][store]") {
  ContractStore store(kind);
  NewSaga request = store.Request("no-branches");
  request.saga.clear_branches();
  REQUIRE(store->CreateSaga(request, kStart)->outcome == Outcome::kCreated);
  const v1::Saga readable = store.Create("readable");
  CHECK(absl::IsDataLoss(store->GetSaga(request.saga.saga_id()).status()));
  CHECK(absl::IsDataLoss(store->GetSagaByKey("alice", "no-branches").status()));
  // The same key again cannot be answered with a saga that does not read.
  CHECK(absl::IsDataLoss(store->CreateSaga(request, kStart).status()));
  absl::StatusOr<std::vector<v1::Saga>> listed = store->ListSagas({}, nullptr);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().saga_id() == readable.saga_id());
}

}  // namespace
}  // namespace fxmesh::coordinator::contract
