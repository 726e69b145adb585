#include "coordinator/exchange_intake.h"

#include "absl/strings/str_cat.h"
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

absl::StatusOr<v1::Quote> ExchangeIntake::GetQuote(const v1::GetQuoteRequest& request) {
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

absl::StatusOr<ExchangeIntake::Started> ExchangeIntake::StartExchange(
    const v1::ExchangeRequest& request, bool drive_now) {
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
  auto check_same = [&](const v1::Saga& saga) -> absl::StatusOr<Started> {
    if (digest == ExchangeDigest(saga.customer_id(), saga.source_account_id(),
                                 saga.target_account_id(), saga.quote_id())) {
      return Started{saga};
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
  if (std::string paused = pauses_.FirstPausedIn(saga); !paused.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "participant ", paused, " is paused by an operator; retry later with the same key"));
  }

  NewSaga new_saga{saga, digest, absl::FormatTime("%Y-%m-%d", now, options_.limit_time_zone),
                   krw.amount_minor(), options_.daily_limit_krw_minor};
  if (drive_now) {
    // Stored leased to this replica, whose Exchange drives it at once.
    new_saga.lease_owner = driver_.owner_id();
    new_saga.lease_until = driver_.new_lease_until();
  }
  ASSIGN_OR_RETURN(CreateResult created, store_.CreateSaga(new_saga, now));
  switch (created.outcome) {
    case CreateResult::Outcome::kCreated:
      LogInfo("exchange started")
          .With("saga_id", saga.saga_id())
          .With("trace_id", saga.saga_id())
          .With("customer_id", saga.customer_id())
          .With("sell", absl::StrCat(saga.sell().amount_minor(), " ", saga.sell().currency()))
          .With("buy", absl::StrCat(saga.buy().amount_minor(), " ", saga.buy().currency()));
      return Started{created.saga, /*created=*/true};
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

absl::StatusOr<v1::Exchange> ExchangeIntake::Exchange(const v1::ExchangeRequest& request,
                                                      absl::Time respond_by) {
  const bool drive_now = clock_.Now() < respond_by;
  ASSIGN_OR_RETURN(Started started, StartExchange(request, drive_now));
  v1::Saga saga = std::move(started.saga);
  FinishSignal::Watch watch(finished_, saga.saga_id());
  if (started.created && drive_now) {
    // Created leased to this replica: driven (and so released) even if the time ran out since.
    ASSIGN_OR_RETURN(saga, driver_.DriveCreated(std::move(saga), respond_by));
  } else if (!IsTerminal(saga.state()) && clock_.Now() < respond_by) {
    ASSIGN_OR_RETURN(saga, driver_.Drive(saga.saga_id(), respond_by));
  }
  // Decided to confirm: the relay settles it, and the customer hears the end if it comes in time.
  const absl::Time wait_until = respond_by - absl::Milliseconds(limits::kResponseMarginMs);
  while (saga.state() == v1::SAGA_STATE_CONFIRMING && clock_.Now() < wait_until) {
    if (std::optional<v1::Saga> finished = watch.Wait(
            std::min(wait_until - clock_.Now(), absl::Milliseconds(limits::kSettleRecheckMs)))) {
      saga = std::move(*finished);  // Finished by this replica: as written, no read.
      break;
    }
    // Not announced in time: perhaps finished by another replica.
    ASSIGN_OR_RETURN(std::optional<v1::Saga> stored, store_.GetSaga(saga.saga_id()));
    if (!stored) break;
    saga = std::move(*stored);
  }
  // Not decided yet: the background takes over now (the relay has a decided one).
  const bool undecided =
      saga.state() == v1::SAGA_STATE_CREATED || saga.state() == v1::SAGA_STATE_TRYING;
  if (undecided && wake_) wake_();
  return ToExchange(saga);
}

absl::StatusOr<v1::Exchange> ExchangeIntake::GetExchange(const v1::GetExchangeRequest& request) {
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

absl::StatusOr<v1::ListExchangesResponse> ExchangeIntake::ListExchanges(
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

v1::Exchange ExchangeIntake::ToExchange(const v1::Saga& saga) {
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

}  // namespace fxmesh::coordinator
