#include "coordinator/saga_engine.h"

#include <google/protobuf/util/time_util.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/check.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/paging.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "coordinator/saga_state_machine.h"

namespace fxmesh::coordinator {
namespace {

// What an idempotency key stands for: the same key must always mean these same four values.
std::string ExchangeDigest(absl::string_view customer, absl::string_view source,
                           absl::string_view target, absl::string_view quote) {
  return absl::StrCat(customer, "|", source, "|", target, "|", quote);
}

}  // namespace

SagaEngine::SagaEngine(SagaStore& store, const Clock& clock, RateTable rates,
                       std::map<std::string, ParticipantClient*> participants,
                       EngineOptions options, MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      rates_(std::move(rates)),
      participants_(std::move(participants)),
      options_(std::move(options)),
      rule_options_{options_.ledger_call_timeout, options_.settle_through_kafka,
                    WordTimings{options_.relay_first_word_after, options_.relay_word_after_due,
                                options_.redispatch_after}},
      metrics_(metrics) {}

// --- Customer API -------------------------------------------------------------------------------

absl::StatusOr<v1::Quote> SagaEngine::GetQuote(const v1::GetQuoteRequest& request) {
  // KRW is the home currency and has no rate of its own; any other currency needs one.
  auto currency_of = [this](const std::string& code) -> absl::StatusOr<Currency> {
    if (code == "KRW") return LookupCurrency("KRW");
    absl::StatusOr<RateEntry> entry = rates_.Find(code);
    if (!entry.ok()) return entry.status();
    return entry->currency;
  };
  ASSIGN_OR_RETURN(Currency sell, currency_of(request.sell_currency()));
  ASSIGN_OR_RETURN(Currency buy, currency_of(request.buy_currency()));
  QuoteInput input{sell, buy, Side::kSell, 0};
  switch (request.amount_case()) {
    case v1::GetQuoteRequest::kSellAmountMinor:
      input.fixed = Side::kSell;
      input.amount_minor = request.sell_amount_minor();
      break;
    case v1::GetQuoteRequest::kBuyAmountMinor:
      input.fixed = Side::kBuy;
      input.amount_minor = request.buy_amount_minor();
      break;
    default:
      return absl::InvalidArgumentError("set exactly one of sell_amount_minor or buy_amount_minor");
  }
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  }
  ASSIGN_OR_RETURN(QuoteAmounts amounts, rates_.Price(input));
  const absl::Time now = clock_.Now();
  v1::Quote quote;
  quote.set_customer_id(request.customer_id());
  quote.set_quote_id(absl::StrCat("q-", NewSagaId().substr(0, 20)));
  quote.mutable_sell()->set_currency(input.sell.code);
  quote.mutable_sell()->set_amount_minor(amounts.sell_minor);
  quote.mutable_buy()->set_currency(input.buy.code);
  quote.mutable_buy()->set_amount_minor(amounts.buy_minor);
  quote.set_rate_micros(amounts.rate_micros);
  quote.set_rate(FormatRate(amounts.rate_micros));
  *quote.mutable_created_at() = ToTimestamp(now);
  *quote.mutable_expires_at() = ToTimestamp(now + options_.quote_ttl);
  RETURN_IF_ERROR(store_.InsertQuote(quote));
  return quote;
}

absl::StatusOr<v1::Saga> SagaEngine::StartExchange(const v1::ExchangeRequest& request) {
  RETURN_IF_ERROR(
      ValidateKey(request.idempotency_key(), "idempotency_key", limits::kRequestIdLengthMax));
  RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  RETURN_IF_ERROR(
      ValidateKey(request.source_account_id(), "source_account_id", limits::kAccountIdLengthMax));
  RETURN_IF_ERROR(
      ValidateKey(request.target_account_id(), "target_account_id", limits::kAccountIdLengthMax));
  RETURN_IF_ERROR(ValidateKey(request.quote_id(), "quote_id", limits::kRequestIdLengthMax));
  if (request.source_account_id() == request.target_account_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source_account_id and target_account_id are both ", request.source_account_id(),
        "; an exchange moves money between two accounts"));
  }
  const std::string digest = ExchangeDigest(request.customer_id(), request.source_account_id(),
                                            request.target_account_id(), request.quote_id());

  // A repeated key answers with its saga, even after the quote has expired. Keys are each
  // customer's own: another customer's same key is another exchange, and never revealed.
  ASSIGN_OR_RETURN(std::optional<v1::Saga> earlier,
                   store_.GetSagaByKey(request.customer_id(), request.idempotency_key()));
  auto check_same = [&](const v1::Saga& saga) -> absl::StatusOr<v1::Saga> {
    if (digest == ExchangeDigest(saga.customer_id(), saga.source_account_id(),
                                 saga.target_account_id(), saga.quote_id())) {
      return saga;
    }
    return absl::AlreadyExistsError(
        absl::StrCat("idempotency_key ", request.idempotency_key(),
                     " was already used for a different exchange (saga ", saga.saga_id(),
                     "); use a new key for a new exchange"));
  };
  if (earlier) return check_same(*earlier);

  ASSIGN_OR_RETURN(std::optional<v1::Quote> quote, store_.GetQuote(request.quote_id()));
  // Another customer's quote is answered as if it did not exist: its id tells a stranger nothing.
  if (!quote || (!quote->customer_id().empty() && quote->customer_id() != request.customer_id()))
    return absl::NotFoundError(absl::StrCat("no quote ", request.quote_id()));
  const absl::Time now = clock_.Now();
  if (now >= ToTime(quote->expires_at())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "quote ", quote->quote_id(), " expired at ",
        absl::FormatTime(absl::RFC3339_sec, ToTime(quote->expires_at()), absl::UTCTimeZone()),
        "; ask for a new quote"));
  }

  // The two legs. Selling KRW: KRW moves customer → bank on the KRW ledger, the foreign currency
  // bank → customer on the FX ledger; buying KRW is the mirror image.
  const bool sells_krw = quote->sell().currency() == "KRW";
  const v1::Money& krw = sells_krw ? quote->sell() : quote->buy();
  const v1::Money& foreign = sells_krw ? quote->buy() : quote->sell();
  v1::Saga saga;
  saga.set_saga_id(NewSagaId());
  saga.set_state(v1::SAGA_STATE_CREATED);
  saga.set_idempotency_key(request.idempotency_key());
  saga.set_customer_id(request.customer_id());
  saga.set_quote_id(quote->quote_id());
  saga.set_source_account_id(request.source_account_id());
  saga.set_target_account_id(request.target_account_id());
  *saga.mutable_sell() = quote->sell();
  *saga.mutable_buy() = quote->buy();
  saga.set_rate_micros(quote->rate_micros());
  *saga.mutable_next_attempt_at() = ToTimestamp(now);
  *saga.mutable_try_deadline() = quote->expires_at();
  *saga.mutable_created_at() = ToTimestamp(now);
  *saga.mutable_updated_at() = ToTimestamp(now);
  auto add_branch = [&](absl::string_view name, absl::string_view participant,
                        const v1::Money& amount, const std::string& debit,
                        const std::string& credit) {
    v1::Branch* branch = saga.add_branches();
    branch->set_branch(std::string(name));
    branch->set_participant(std::string(participant));
    branch->set_debit_account_id(debit);
    branch->set_credit_account_id(credit);
    *branch->mutable_amount() = amount;
    branch->set_try_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_confirm_status(v1::CALL_STATUS_NOT_SENT);
    branch->set_cancel_status(v1::CALL_STATUS_NOT_SENT);
  };
  const std::string krw_position = absl::StrCat("position:", krw.currency());
  const std::string foreign_position = absl::StrCat("position:", foreign.currency());
  if (sells_krw) {
    add_branch("krw", kKrwParticipant, krw, request.source_account_id(), krw_position);
    add_branch("fx", kFxParticipant, foreign, foreign_position, request.target_account_id());
  } else {
    add_branch("fx", kFxParticipant, foreign, request.source_account_id(), foreign_position);
    add_branch("krw", kKrwParticipant, krw, krw_position, request.target_account_id());
  }
  if (std::string paused = PausedParticipant(saga); !paused.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "participant ", paused, " is paused by an operator; retry later with the same key"));
  }

  NewSaga new_saga{saga, digest, absl::FormatTime("%Y-%m-%d", now, options_.limit_time_zone),
                   krw.amount_minor(), options_.daily_limit_krw_minor};
  ASSIGN_OR_RETURN(CreateResult created, store_.CreateSaga(new_saga, now));
  switch (created.outcome) {
    case CreateResult::Outcome::kCreated:
      LogInfo("exchange started")
          .With("saga_id", saga.saga_id())
          .With("trace_id", saga.saga_id())
          .With("customer_id", saga.customer_id())
          .With("sell", absl::StrCat(saga.sell().amount_minor(), " ", saga.sell().currency()))
          .With("buy", absl::StrCat(saga.buy().amount_minor(), " ", saga.buy().currency()));
      return created.saga;
    case CreateResult::Outcome::kExisting:
    case CreateResult::Outcome::kKeyConflict:
      return check_same(created.saga);
    case CreateResult::Outcome::kQuoteUsed:
      return absl::FailedPreconditionError(
          absl::StrCat("quote ", quote->quote_id(),
                       " was already used by another exchange; ask for a new quote"));
    case CreateResult::Outcome::kLimitExceeded:
      return absl::FailedPreconditionError(absl::StrCat(
          "daily limit exceeded: customer ", saga.customer_id(), " has exchanged ",
          created.limit_used_krw_minor, " KRW today of ", options_.daily_limit_krw_minor,
          " KRW; this exchange needs ", krw.amount_minor(), " KRW"));
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<v1::Exchange> SagaEngine::Exchange(const v1::ExchangeRequest& request,
                                                  absl::Time respond_by) {
  ASSIGN_OR_RETURN(v1::Saga saga, StartExchange(request));
  if (!IsTerminal(saga.state()) && clock_.Now() < respond_by) {
    ASSIGN_OR_RETURN(saga, Drive(saga.saga_id(), respond_by, /*stop_at_cancel=*/true));
  }
  if (!IsTerminal(saga.state())) Wake();
  return ToExchange(saga);
}

absl::StatusOr<v1::Exchange> SagaEngine::GetExchange(const v1::GetExchangeRequest& request) {
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  }
  std::optional<v1::Saga> saga;
  if (request.key_case() == v1::GetExchangeRequest::kSagaId) {
    RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
    ASSIGN_OR_RETURN(saga, store_.GetSaga(request.saga_id()));
  } else if (request.key_case() == v1::GetExchangeRequest::kIdempotencyKey) {
    RETURN_IF_ERROR(
        ValidateKey(request.idempotency_key(), "idempotency_key", limits::kRequestIdLengthMax));
    if (request.customer_id().empty()) {
      return absl::InvalidArgumentError(
          "an idempotency_key is the customer's own: set customer_id to look one up");
    }
    ASSIGN_OR_RETURN(saga, store_.GetSagaByKey(request.customer_id(), request.idempotency_key()));
  } else {
    return absl::InvalidArgumentError("set saga_id or idempotency_key");
  }
  // Another customer's exchange is answered exactly as one that does not exist.
  if (!saga || (!request.customer_id().empty() && saga->customer_id() != request.customer_id())) {
    return absl::NotFoundError("no such exchange");
  }
  return ToExchange(*saga);
}

absl::StatusOr<v1::ListExchangesResponse> SagaEngine::ListExchanges(
    const v1::ListExchangesRequest& request) {
  SagaFilter filter;
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  }
  if (!v1::ExchangeStatus_IsValid(request.status())) {
    return absl::InvalidArgumentError(
        absl::StrCat("status ", request.status(), " is not an exchange status"));
  }
  filter.customer_id = request.customer_id();
  ASSIGN_OR_RETURN(filter.limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter.after_sequence, ParsePageToken(request.page_token()));
  std::vector<int64_t> sequences;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> sagas, store_.ListSagas(filter, &sequences));
  v1::ListExchangesResponse response;
  for (const v1::Saga& saga : sagas) {
    v1::Exchange exchange = ToExchange(saga);
    if (request.status() != v1::EXCHANGE_STATUS_UNSPECIFIED &&
        exchange.status() != request.status()) {
      continue;
    }
    *response.add_exchanges() = std::move(exchange);
  }
  if (static_cast<int>(sagas.size()) == filter.limit) {
    response.set_next_page_token(absl::StrCat(sequences.back()));
  }
  return response;
}

v1::Exchange SagaEngine::ToExchange(const v1::Saga& saga) {
  v1::Exchange exchange;
  exchange.set_saga_id(saga.saga_id());
  exchange.set_status(CustomerStatus(saga.state()));
  exchange.set_state(saga.state());
  exchange.set_idempotency_key(saga.idempotency_key());
  exchange.set_customer_id(saga.customer_id());
  exchange.set_quote_id(saga.quote_id());
  exchange.set_source_account_id(saga.source_account_id());
  exchange.set_target_account_id(saga.target_account_id());
  *exchange.mutable_sell() = saga.sell();
  *exchange.mutable_buy() = saga.buy();
  exchange.set_rate_micros(saga.rate_micros());
  exchange.set_failure_reason(saga.failure_reason());
  exchange.set_failure_detail(saga.failure_detail());
  *exchange.mutable_created_at() = saga.created_at();
  *exchange.mutable_updated_at() = saga.updated_at();
  return exchange;
}

// --- Driving ------------------------------------------------------------------------------------

absl::StatusOr<v1::Saga> SagaEngine::WithSagaHeld(
    absl::string_view saga_id, absl::FunctionRef<absl::StatusOr<v1::Saga>()> work) {
  {
    absl::MutexLock lock(&mu_);
    if (!in_flight_.emplace(saga_id, /*leased=*/true).second)
      return absl::AbortedError("another driver holds the saga");
  }
  absl::StatusOr<v1::Saga> result = absl::AbortedError("another driver holds the saga");
  const absl::Time now = clock_.Now();
  absl::StatusOr<bool> leased = store_.ClaimSaga(saga_id, options_.owner_id, now,
                                                 now + absl::Milliseconds(limits::kSagaLeaseMs));
  if (!leased.ok()) {
    result = leased.status();
    // The claim may have committed before its answer was lost: release it later to be sure.
    absl::MutexLock lock(&mu_);
    unreleased_.insert(std::string(saga_id));
  } else if (*leased) {
    result = work();
    Release(saga_id);
  }
  absl::MutexLock lock(&mu_);
  in_flight_.erase(std::string(saga_id));
  return result;
}

void SagaEngine::Release(absl::string_view saga_id) {
  absl::Status released = store_.ReleaseSaga(saga_id, options_.owner_id);
  absl::MutexLock lock(&mu_);
  if (released.ok()) {
    unreleased_.erase(std::string(saga_id));
    return;
  }
  unreleased_.insert(std::string(saga_id));
  LogWarning("cannot release saga lease; retried on the next recovery pass")
      .With("saga_id", saga_id)
      .With("error", released);
}

absl::StatusOr<int> SagaEngine::ReleaseOwnLeases() {
  return store_.ReleaseLeasesOf(options_.owner_id);
}

void SagaEngine::RetryFailedReleases() {
  std::set<std::string> pending;
  {
    absl::MutexLock lock(&mu_);
    pending.swap(unreleased_);
  }
  for (const std::string& saga_id : pending) {
    {
      // A drive of this replica that took the saga again holds its lease now, and releases it
      // itself; releasing here would free the lease under it.
      absl::MutexLock lock(&mu_);
      if (!in_flight_.emplace(saga_id, /*leased=*/true).second) continue;
    }
    Release(saga_id);
    absl::MutexLock lock(&mu_);
    in_flight_.erase(saga_id);
  }
}

absl::StatusOr<v1::Saga> SagaEngine::Drive(absl::string_view saga_id, absl::Time respond_by,
                                           bool stop_at_cancel) {
  absl::StatusOr<v1::Saga> driven = WithSagaHeld(saga_id, [&] {
    return DriveLeased(saga_id, DriveLimits{respond_by, stop_at_cancel});
  });
  if (driven.ok()) return driven;
  if (absl::IsDataLoss(driven.status())) {
    // The stored saga cannot be read (or has no branches): it must not move, and an operator
    // must look at it. It is looked at again only after the longest backoff, so the alert does
    // not repeat every recovery pass.
    metrics_.alerts.With({"unreadable_saga"}).Increment();
    LogError("a saga cannot be read from storage; it stays where it is until an operator acts")
        .With("saga_id", saga_id)
        .With("trace_id", saga_id)
        .With("error", driven.status());
    absl::StatusOr<bool> deferred =
        store_.ScheduleSaga(saga_id, clock_.Now() + absl::Milliseconds(limits::kRetryDelayMsMax));
    if (!deferred.ok()) {
      LogWarning("cannot defer the unreadable saga; recovery will look at it again soon")
          .With("saga_id", saga_id)
          .With("error", deferred.status());
    }
    return driven.status();
  }
  // Another driver has it (or took it over: ABORTED from a fenced write), or storage failed
  // mid-way: answer with what is stored.
  if (!absl::IsAborted(driven.status()) && !absl::IsUnavailable(driven.status())) {
    return driven.status();
  }
  ASSIGN_OR_RETURN(std::optional<v1::Saga> stored, store_.GetSaga(saga_id));
  if (!stored) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  return *stored;
}

absl::StatusOr<v1::Saga> SagaEngine::DriveLeased(absl::string_view saga_id,
                                                 const DriveLimits& limits) {
  ASSIGN_OR_RETURN(std::optional<v1::Saga> loaded, store_.GetSaga(saga_id));
  if (!loaded) return absl::NotFoundError(absl::StrCat("no saga ", saga_id));
  v1::Saga saga = std::move(*loaded);
  if (saga.branches().empty()) {
    // With no branches every branch would look settled: the saga would complete with no ledger
    // call at all.
    return absl::DataLossError(absl::StrCat("saga ", saga_id, " has no branches"));
  }
  if (saga.state() == v1::SAGA_STATE_UNSPECIFIED || !v1::SagaState_IsValid(saga.state()))
    return absl::InternalError(absl::StrCat("saga ", saga_id, " has no state"));
  saga.set_attempt(saga.attempt() + 1);
  ScopedSpan span(options_.tracer, absl::StrCat("drive ", StateName(saga.state())), saga_id);
  span.SetAttribute("attempt", absl::StrCat(saga.attempt()));
  bool answered = false;
  for (;;) {
    const v1::SagaState from = saga.state();
    const Decision decision = Decide(saga, InputFor(limits, answered), rule_options_);
    if (decision.kind == Decision::Kind::kWait) break;
    if (decision.kind == Decision::Kind::kCall) {
      SendCalls(saga, decision.call, decision.branches, decision.deadline);
      answered = true;
      continue;
    }
    if (absl::Status written = Write(saga, from, decision); !written.ok()) {
      span.SetStatus(written);
      return written;
    }
    answered = false;
    if (!decision.drive_on) break;
  }
  span.SetAttribute("state", StateName(saga.state()));
  Annotate(saga);
  return saga;
}

DriveInput SagaEngine::InputFor(const DriveLimits& limits, bool answered) const {
  DriveInput input;
  input.now = clock_.Now();
  input.respond_by = limits.respond_by;
  input.stop_at_cancel = limits.stop_at_cancel;
  input.answered = answered;
  input.relay_behind = options_.relay_has_backlog && options_.relay_has_backlog();
  absl::MutexLock lock(&mu_);
  for (const auto& [name, participant] : paused_) input.paused.insert(name);
  return input;
}

absl::Status SagaEngine::Write(v1::Saga& saga, v1::SagaState from, const Decision& decision) {
  std::vector<OutboxMessage> commands;
  for (int index : decision.dispatch) commands.push_back(ToOutbox(BranchCommandFor(saga, index)));
  if (decision.inconsistency) RaiseInconsistency(saga, SettlementOf(saga).open);
  if (!decision.silent.empty()) {
    LogWarning("commands the relay went silent about are sent again")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("branches", absl::StrJoin(decision.silent, ","));
  }
  std::optional<StepRecord> step;
  if (!decision.detail.empty()) step = StepRecord{from, saga.state(), decision.detail};
  RETURN_IF_ERROR(Save(saga, from, step, commands));
  if (decision.to) {
    if (IsTerminal(*decision.to)) RecordFinished(saga);
    LogInfo("saga transition")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("from", StateName(from))
        .With("to", StateName(*decision.to))
        .With("detail", decision.detail);
  }
  if (decision.wake_background) Wake();
  return absl::OkStatus();
}

void SagaEngine::RaiseInconsistency(const v1::Saga& saga, const std::vector<std::string>& open) {
  // Once decided, a saga's Confirms (or Cancels) must succeed; a ledger that refuses one
  // disagrees with the saga and needs an operator.
  metrics_.alerts.With({"inconsistency"}).Increment();
  LogError(saga.state() == v1::SAGA_STATE_CONFIRMING
               ? "a ledger refused a Confirm after the decision; the saga needs an operator"
               : "a ledger refused a Cancel; the saga needs an operator")
      .With("saga_id", saga.saga_id())
      .With("trace_id", saga.saga_id())
      .With("branches", absl::StrJoin(open, ", "));
}

void SagaEngine::SendCalls(v1::Saga& saga, BranchCall call, const std::vector<int>& indexes,
                           absl::Time deadline) {
  std::vector<absl::StatusOr<v1::BranchResponse>> results(indexes.size(),
                                                          absl::UnknownError("not sent"));
  const ScopedSpan* parent = CurrentSpan();
  auto send = [&](size_t k) {
    AdoptSpan under(parent);
    const v1::Branch& branch = saga.branches(indexes[k]);
    auto client = participants_.find(branch.participant());
    if (client == participants_.end()) {
      results[k] = absl::FailedPreconditionError(
          absl::StrCat("no client for participant ", branch.participant()));
      return;
    }
    v1::BranchRef ref;
    ref.set_saga_id(saga.saga_id());
    ref.set_branch(branch.branch());
    if (call == BranchCall::kTry) {
      v1::TryRequest request;
      *request.mutable_branch() = ref;
      request.set_customer_id(saga.customer_id());
      request.set_debit_account_id(branch.debit_account_id());
      request.set_credit_account_id(branch.credit_account_id());
      *request.mutable_amount() = branch.amount();
      results[k] = client->second->Try(request, deadline);
    } else {
      v1::BranchRequest request;
      *request.mutable_branch() = ref;
      results[k] = call == BranchCall::kConfirm ? client->second->Confirm(request, deadline)
                                                : client->second->Cancel(request, deadline);
    }
  };
  // The branches are independent, so their calls run side by side.
  std::vector<std::thread> others;
  for (size_t k = 1; k < indexes.size(); ++k) others.emplace_back(send, k);
  if (!indexes.empty()) send(0);
  for (std::thread& thread : others) thread.join();

  for (size_t k = 0; k < indexes.size(); ++k)
    RecordCall(*saga.mutable_branches(indexes[k]), call, results[k], ToTime(saga.try_deadline()));
}

void SagaEngine::RecordCall(v1::Branch& branch, BranchCall call,
                            const absl::StatusOr<v1::BranchResponse>& answer,
                            absl::Time try_deadline) {
  const std::string status = RecordAnswer(branch, call, answer, clock_.Now(), try_deadline);
  absl::string_view call_name = call == BranchCall::kTry       ? "try"
                                : call == BranchCall::kConfirm ? "confirm"
                                                               : "cancel";
  metrics_.branch_calls.With({branch.participant(), call_name, status}).Increment();
}

StepRecord SagaEngine::ApplyTransition(v1::Saga& saga, v1::SagaState to, std::string detail) const {
  const v1::SagaState from = saga.state();
  EnterState(saga, to, clock_.Now());
  return StepRecord{from, to, std::move(detail)};
}

void SagaEngine::RecordFinished(const v1::Saga& saga) {
  const absl::string_view state = StateName(saga.state());
  metrics_.sagas_finished.With({state, saga.failure_reason()}).Increment();
  metrics_.saga_duration.With({state}).Observe(
      absl::ToDoubleSeconds(clock_.Now() - ToTime(saga.created_at())));
  if (options_.tracer == nullptr) return;
  // The saga's root span: every other span of the exchange descends from it.
  v1::Span root = MakeSpan(
      options_.tracer->service(),
      absl::StrCat("exchange ", saga.sell().currency(), "→", saga.buy().currency()), saga.saga_id(),
      RootSpanId(saga.saga_id()), "", ToTime(saga.created_at()), clock_.Now());
  (*root.mutable_attributes())["state"] = std::string(state);
  (*root.mutable_attributes())["customer_id"] = saga.customer_id();
  if (!saga.failure_reason().empty())
    (*root.mutable_attributes())["failure_reason"] = saga.failure_reason();
  options_.tracer->Record(std::move(root));
}

absl::Status SagaEngine::Save(v1::Saga& saga, v1::SagaState expected,
                              const std::optional<StepRecord>& step,
                              const std::vector<OutboxMessage>& messages) {
  const absl::Time now = clock_.Now();
  bool leased = true;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = in_flight_.find(saga.saga_id()); it != in_flight_.end()) leased = it->second;
  }
  // Unleased, the lease runs out now: the write leaves the saga free for any driver.
  const absl::Time lease_until = leased ? now + absl::Milliseconds(limits::kSagaLeaseMs) : now;
  RETURN_IF_ERROR(
      store_.SaveSaga(saga, expected, options_.owner_id, lease_until, step, messages, now));
  saga.set_revision(saga.revision() + 1);
  return absl::OkStatus();
}

std::string SagaEngine::PausedParticipant(const v1::Saga& saga) const {
  absl::MutexLock lock(&mu_);
  for (const v1::Branch& branch : saga.branches()) {
    if (paused_.count(branch.participant()) > 0) return branch.participant();
  }
  return "";
}

void SagaEngine::Annotate(v1::Saga& saga) const {
  const bool active = !IsTerminal(saga.state());
  saga.set_stuck(active && clock_.Now() - ToTime(saga.created_at()) > options_.stuck_after);
  bool waiting = false;
  {
    absl::MutexLock lock(&mu_);
    for (const v1::Branch& branch : saga.branches()) {
      if (active && paused_.count(branch.participant()) > 0) waiting = true;
    }
  }
  saga.set_waiting_on_paused_participant(waiting);
}

absl::StatusOr<std::vector<std::string>> SagaEngine::ClaimDue(int limit) {
  const absl::Time now = clock_.Now();
  return store_.ClaimDueSagas(options_.owner_id, now,
                              now + absl::Milliseconds(limits::kSagaLeaseMs), limit);
}

void SagaEngine::ReleaseClaim(absl::string_view saga_id) { Release(saga_id); }

absl::Status SagaEngine::CheckStuck() {
  SagaFilter filter;
  filter.active_only = true;
  filter.created_before = clock_.Now() - options_.stuck_after;
  filter.limit = limits::kListPageSizeMax;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> stuck, store_.ListSagas(filter, nullptr));
  absl::MutexLock lock(&mu_);
  for (const v1::Saga& saga : stuck) {
    if (!stuck_alerted_.insert(saga.saga_id()).second) continue;
    metrics_.alerts.With({"stuck"}).Increment();
    LogWarning("saga stuck")
        .With("saga_id", saga.saga_id())
        .With("trace_id", saga.saga_id())
        .With("state", StateName(saga.state()))
        .With("age_seconds",
              static_cast<int64_t>(absl::ToInt64Seconds(clock_.Now() - ToTime(saga.created_at()))));
  }
  return absl::OkStatus();
}

absl::Status SagaEngine::RefreshPausedParticipants() {
  ASSIGN_OR_RETURN(std::vector<v1::Participant> paused, store_.ListPausedParticipants());
  absl::MutexLock lock(&mu_);
  paused_.clear();
  for (v1::Participant& participant : paused)
    paused_[participant.participant()] = std::move(participant);
  return absl::OkStatus();
}

// --- Operator API -------------------------------------------------------------------------------

absl::StatusOr<v1::ListSagasResponse> SagaEngine::ListSagas(const v1::ListSagasRequest& request) {
  SagaFilter filter;
  if (request.state() != v1::SAGA_STATE_UNSPECIFIED && !v1::SagaState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state is not a saga state");
  }
  if (!request.customer_id().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.customer_id(), "customer_id", limits::kAccountIdLengthMax));
  }
  if (!request.participant().empty()) {
    RETURN_IF_ERROR(ValidateKey(request.participant(), "participant", limits::kAccountIdLengthMax));
  }
  filter.state = request.state();
  filter.customer_id = request.customer_id();
  filter.participant = request.participant();
  filter.active_only = request.active_only();
  if (request.older_than_seconds() < 0)
    return absl::InvalidArgumentError("older_than_seconds must not be negative");
  if (request.older_than_seconds() > 0) {
    filter.created_before = clock_.Now() - absl::Seconds(request.older_than_seconds());
  }
  ASSIGN_OR_RETURN(filter.limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(filter.after_sequence, ParsePageToken(request.page_token()));
  std::vector<int64_t> sequences;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> sagas, store_.ListSagas(filter, &sequences));
  v1::ListSagasResponse response;
  for (v1::Saga& saga : sagas) {
    Annotate(saga);
    *response.add_sagas() = std::move(saga);
  }
  if (static_cast<int>(sequences.size()) == filter.limit) {
    response.set_next_page_token(absl::StrCat(sequences.back()));
  }
  return response;
}

absl::StatusOr<v1::SagaHistory> SagaEngine::GetSagaHistory(
    const v1::GetSagaHistoryRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", request.saga_id()));
  Annotate(*saga);
  v1::SagaHistory history;
  *history.mutable_saga() = *saga;
  ASSIGN_OR_RETURN(std::vector<v1::Step> steps, store_.ListSteps(request.saga_id()));
  for (v1::Step& step : steps) *history.add_steps() = std::move(step);
  ASSIGN_OR_RETURN(std::vector<v1::Resolution> resolutions,
                   store_.ListResolutions(request.saga_id()));
  for (v1::Resolution& resolution : resolutions) *history.add_resolutions() = std::move(resolution);
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> audit,
                   store_.ListAudit(request.saga_id(), 0, limits::kListPageSizeMax));
  for (v1::AuditEntry& entry : audit) *history.add_audit() = std::move(entry);
  return history;
}

absl::StatusOr<v1::Saga> SagaEngine::RetrySaga(const v1::RetrySagaRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(bool scheduled, store_.ScheduleSaga(request.saga_id(), clock_.Now()));
  if (!scheduled) {
    return absl::FailedPreconditionError(
        absl::StrCat("saga ", request.saga_id(), " does not exist or is already final"));
  }
  v1::AuditEntry audit;
  *audit.mutable_at() = ToTimestamp(clock_.Now());
  audit.set_operator_(request.operator_());
  audit.set_action("retry_saga");
  audit.set_saga_id(request.saga_id());
  audit.set_detail("scheduled for an immediate attempt");
  RETURN_IF_ERROR(store_.AppendAudit(audit));
  Wake();
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  Annotate(*saga);
  return *saga;
}

absl::StatusOr<v1::Participant> SagaEngine::SetParticipantPaused(absl::string_view participant,
                                                                 absl::string_view operator_name,
                                                                 absl::string_view reason,
                                                                 bool paused) {
  if (participants_.count(std::string(participant)) == 0) {
    std::vector<std::string> known;
    for (const auto& [name, client] : participants_) known.push_back(name);
    return absl::NotFoundError(absl::StrCat("no participant ", QuoteForMessage(participant),
                                            "; participants are ", absl::StrJoin(known, ", ")));
  }
  RETURN_IF_ERROR(ValidateOperator(operator_name));
  RETURN_IF_ERROR(ValidateNote(reason, "reason"));
  v1::Participant record;
  record.set_participant(std::string(participant));
  record.set_paused(paused);
  record.set_paused_by(std::string(operator_name));
  record.set_pause_reason(std::string(reason));
  *record.mutable_paused_at() = ToTimestamp(clock_.Now());
  RETURN_IF_ERROR(store_.SetParticipantPaused(record));
  v1::AuditEntry audit;
  *audit.mutable_at() = record.paused_at();
  audit.set_operator_(std::string(operator_name));
  audit.set_action(paused ? "pause_participant" : "resume_participant");
  audit.set_detail(absl::StrCat(participant, paused ? ": " : "", paused ? reason : ""));
  RETURN_IF_ERROR(store_.AppendAudit(audit));
  RETURN_IF_ERROR(RefreshPausedParticipants());
  LogWarning(paused ? "participant paused" : "participant resumed")
      .With("participant", participant)
      .With("operator", operator_name);
  if (!paused) Wake();
  return record;
}

absl::StatusOr<v1::ListParticipantsResponse> SagaEngine::ListParticipants() {
  v1::ListParticipantsResponse response;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, client] : participants_) {
    v1::Participant* participant = response.add_participants();
    auto paused = paused_.find(name);
    if (paused != paused_.end()) *participant = paused->second;
    participant->set_participant(name);
  }
  return response;
}

absl::StatusOr<v1::Resolution> SagaEngine::ProposeResolution(
    const v1::ProposeResolutionRequest& request) {
  RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  RETURN_IF_ERROR(ValidateKey(request.reason_code(), "reason_code", limits::kAccountIdLengthMax));
  RETURN_IF_ERROR(ValidateNote(request.note(), "note"));
  ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(request.saga_id()));
  if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", request.saga_id()));
  const v1::SagaState state = saga->state();
  switch (request.action()) {
    case v1::RESOLUTION_ACTION_MARK_COMPLETED:
      if (state != v1::SAGA_STATE_CONFIRMING) {
        return absl::FailedPreconditionError(absl::StrCat(
            "MARK_COMPLETED applies to a saga in CONFIRMING; this one is ", StateName(state)));
      }
      break;
    case v1::RESOLUTION_ACTION_CANCEL:
      if (state != v1::SAGA_STATE_CREATED && state != v1::SAGA_STATE_TRYING &&
          state != v1::SAGA_STATE_CANCELLING) {
        return absl::FailedPreconditionError(absl::StrCat(
            "CANCEL applies to a saga in CREATED, TRYING or CANCELLING; this one is ",
            StateName(state),
            IsDecided(state) ? " (after the decision to confirm, a saga only goes forward)" : ""));
      }
      break;
    default:
      return absl::InvalidArgumentError("action must be MARK_COMPLETED or CANCEL");
  }
  v1::Resolution resolution;
  resolution.set_saga_id(request.saga_id());
  resolution.set_action(request.action());
  resolution.set_reason_code(request.reason_code());
  resolution.set_note(request.note());
  resolution.set_state(v1::RESOLUTION_STATE_PROPOSED);
  resolution.set_proposed_by(request.operator_());
  *resolution.mutable_proposed_at() = ToTimestamp(clock_.Now());
  ASSIGN_OR_RETURN(int64_t id, store_.InsertResolution(resolution));
  resolution.set_resolution_id(id);
  return resolution;
}

absl::StatusOr<v1::Resolution> SagaEngine::ApproveResolution(
    const v1::ApproveResolutionRequest& request) {
  RETURN_IF_ERROR(ValidateOperator(request.operator_()));
  ASSIGN_OR_RETURN(std::optional<v1::Resolution> resolution,
                   store_.GetResolution(request.resolution_id()));
  if (!resolution)
    return absl::NotFoundError(absl::StrCat("no resolution ", request.resolution_id()));
  if (resolution->state() != v1::RESOLUTION_STATE_PROPOSED) {
    return absl::FailedPreconditionError(
        absl::StrCat("resolution ", request.resolution_id(), " was already approved"));
  }
  if (SameOperator(resolution->proposed_by(), request.operator_())) {
    return RefuseSelfApproval(
        request.operator_(), resolution->saga_id(),
        absl::StrCat("maker-checker: resolution ", request.resolution_id(), " was proposed by ",
                     resolution->proposed_by(), "; a different operator must approve it"));
  }
  // Apply while holding the saga as a driver does: no other replica (the lease) and no other
  // thread of this one (which holds the same lease) acts on it meanwhile, and the lease is
  // released afterwards only because this approval took it.
  const absl::Time now = clock_.Now();
  auto apply = [&]() -> absl::StatusOr<v1::Saga> {
    ASSIGN_OR_RETURN(std::optional<v1::Saga> saga, store_.GetSaga(resolution->saga_id()));
    if (!saga) return absl::NotFoundError(absl::StrCat("no saga ", resolution->saga_id()));
    const std::string detail = absl::StrCat(
        "manual resolution ", resolution->resolution_id(), " (", resolution->reason_code(),
        ") proposed by ", resolution->proposed_by(), ", approved by ", request.operator_());
    v1::SagaState to;
    if (resolution->action() == v1::RESOLUTION_ACTION_MARK_COMPLETED &&
        saga->state() == v1::SAGA_STATE_CONFIRMING) {
      to = v1::SAGA_STATE_COMPLETED;
    } else if (resolution->action() == v1::RESOLUTION_ACTION_CANCEL &&
               saga->state() == v1::SAGA_STATE_CANCELLING) {
      to = v1::SAGA_STATE_CANCELLED;
    } else if (resolution->action() == v1::RESOLUTION_ACTION_CANCEL &&
               (saga->state() == v1::SAGA_STATE_CREATED ||
                saga->state() == v1::SAGA_STATE_TRYING)) {
      to = v1::SAGA_STATE_CANCELLING;
      saga->set_failure_reason("MANUAL");
      saga->set_failure_detail(detail);
    } else {
      return absl::FailedPreconditionError(absl::StrCat(
          "the saga moved to ", StateName(saga->state()), " since the proposal; propose again"));
    }
    const v1::SagaState from = saga->state();
    const StepRecord step = ApplyTransition(*saga, to, detail);
    RETURN_IF_ERROR(store_.ApproveResolutionAndSave(
        resolution->resolution_id(), request.operator_(), *saga, from, options_.owner_id,
        now + absl::Milliseconds(limits::kSagaLeaseMs), step, now));
    saga->set_revision(saga->revision() + 1);
    if (IsTerminal(to)) RecordFinished(*saga);
    LogWarning("saga resolved by operators")
        .With("saga_id", saga->saga_id())
        .With("trace_id", saga->saga_id())
        .With("to", StateName(to))
        .With("detail", detail);
    return *saga;
  };
  absl::StatusOr<v1::Saga> applied = WithSagaHeld(resolution->saga_id(), apply);
  if (absl::IsAborted(applied.status()))
    return absl::UnavailableError("the saga is being driven right now; approve again in a moment");
  RETURN_IF_ERROR(applied.status());
  Wake();
  ASSIGN_OR_RETURN(resolution, store_.GetResolution(request.resolution_id()));
  return *resolution;
}

absl::StatusOr<v1::ListAuditResponse> SagaEngine::ListAudit(const v1::ListAuditRequest& request) {
  if (!request.saga_id().empty()) RETURN_IF_ERROR(ValidateSagaId(request.saga_id()));
  ASSIGN_OR_RETURN(int limit, PageSize(request.page_size()));
  ASSIGN_OR_RETURN(int64_t after, ParsePageToken(request.page_token()));
  ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                   store_.ListAudit(request.saga_id(), after, limit));
  v1::ListAuditResponse response;
  for (v1::AuditEntry& entry : entries) *response.add_entries() = std::move(entry);
  if (static_cast<int>(entries.size()) == limit) {
    response.set_next_page_token(absl::StrCat(response.entries(limit - 1).audit_id()));
  }
  return response;
}

absl::StatusOr<v1::Alerts> SagaEngine::GetAlerts() {
  SagaFilter filter;
  filter.active_only = true;
  filter.created_before = clock_.Now() - options_.stuck_after;
  filter.limit = limits::kListPageSizeMax;
  ASSIGN_OR_RETURN(std::vector<v1::Saga> stuck, store_.ListSagas(filter, nullptr));
  v1::Alerts alerts;
  alerts.set_stuck_threshold_seconds(absl::ToInt64Seconds(options_.stuck_after));
  for (v1::Saga& saga : stuck) {
    Annotate(saga);
    *alerts.add_stuck_sagas() = std::move(saga);
  }
  alerts.set_stuck_alerts_total(static_cast<int64_t>(metrics_.alerts.With({"stuck"}).value()));
  alerts.set_inconsistency_alerts_total(
      static_cast<int64_t>(metrics_.alerts.With({"inconsistency"}).value()));
  alerts.set_unreadable_saga_alerts_total(
      static_cast<int64_t>(metrics_.alerts.With({"unreadable_saga"}).value()));
  ASSIGN_OR_RETURN(int64_t backlog, store_.CountUnsentOutbox());
  alerts.set_outbox_backlog(backlog);
  ASSIGN_OR_RETURN(int64_t dead_letters, store_.CountPendingDeadLetters());
  alerts.set_dead_letters_pending(dead_letters);
  return alerts;
}

}  // namespace fxmesh::coordinator
