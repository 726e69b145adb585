// The customer's side of the coordinator: quotes, starting an exchange as a saga (idempotency,
// the quote's validity, the daily limit, paused participants), answering the Exchange call once
// the saga is decided or the customer's deadline nears, and the customer's queries.
//
// An exchange is two branches: the KRW leg on the KRW ledger and the foreign leg on the FX
// ledger. The store creates the saga, with its idempotency key and its daily-limit reservation,
// in one transaction; the driver (saga_driver.h) takes it from there.
//
// Thread-safe.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "coordinator/engine_options.h"
#include "coordinator/finish_signal.h"
#include "coordinator/participant_pauses.h"
#include "coordinator/rates.h"
#include "coordinator/saga_driver.h"
#include "coordinator/saga_store.h"
#include "fxmesh/v1/exchange.pb.h"
#include "fxmesh/v1/saga.pb.h"

namespace fxmesh::coordinator {

// Participant names of an exchange's two legs.
inline constexpr absl::string_view kKrwParticipant = "krw-ledger";
inline constexpr absl::string_view kFxParticipant = "fx-ledger";

class ExchangeIntake {
 public:
  // Every reference must outlive the intake. `finished` announces the sagas this replica ends;
  // `wake` hands the background a saga the customer's drive left before the decision.
  ExchangeIntake(SagaStore& store, const Clock& clock, RateTable rates,
                 const EngineOptions& options, const ParticipantPauses& pauses, SagaDriver& driver,
                 FinishSignal& finished, std::function<void()> wake)
      : store_(store),
        clock_(clock),
        rates_(std::move(rates)),
        options_(options),
        pauses_(pauses),
        driver_(driver),
        finished_(finished),
        wake_(std::move(wake)) {}

  // Errors: INVALID_ARGUMENT (malformed), NOT_FOUND (unknown quote or saga), FAILED_PRECONDITION
  // (quote expired or used, daily limit exceeded), ALREADY_EXISTS (idempotency key reused for a
  // different exchange), UNAVAILABLE (a participant is paused, or storage is down).
  absl::StatusOr<v1::Quote> GetQuote(const v1::GetQuoteRequest& request);
  // Starts (or finds) the exchange and drives it until it is decided; decided to confirm, waits for
  // the relay to complete it. Answers as the saga is when it ends or `respond_by` is near.
  absl::StatusOr<v1::Exchange> Exchange(const v1::ExchangeRequest& request, absl::Time respond_by);
  absl::StatusOr<v1::Exchange> GetExchange(const v1::GetExchangeRequest& request);
  absl::StatusOr<v1::ListExchangesResponse> ListExchanges(const v1::ListExchangesRequest& request);

  // What the customer sees of a saga.
  static v1::Exchange ToExchange(const v1::Saga& saga);

 private:
  // The saga of `request`: a new one (`created`; leased to this replica's driver when it will
  // `drive_now`), or the one its idempotency key already names.
  struct Started {
    v1::Saga saga;
    bool created = false;
  };
  absl::StatusOr<Started> StartExchange(const v1::ExchangeRequest& request, bool drive_now);

  SagaStore& store_;
  const Clock& clock_;
  const RateTable rates_;
  const EngineOptions& options_;
  const ParticipantPauses& pauses_;
  SagaDriver& driver_;
  FinishSignal& finished_;
  const std::function<void()> wake_;
};

}  // namespace fxmesh::coordinator
