// The saga engine's settings, fixed for its life and shared by its parts (saga_engine.h).
#pragma once

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "common/limits.h"
#include "common/tracing.h"

namespace fxmesh::coordinator {

struct EngineOptions {
  // Identifies this replica in saga leases; unique per running coordinator.
  std::string owner_id = "coordinator";
  absl::Duration quote_ttl = absl::Milliseconds(limits::kQuoteTtlMsDefault);
  int64_t daily_limit_krw_minor = limits::kDailyLimitKrwMinorDefault;
  // The daily limit counts calendar days in this zone (a Korean bank: Asia/Seoul).
  absl::TimeZone limit_time_zone = absl::UTCTimeZone();
  absl::Duration ledger_call_timeout = absl::Milliseconds(limits::kLedgerCallTimeoutMs);
  absl::Duration stuck_after = absl::Milliseconds(limits::kStuckAfterMsDefault);
  // Records the engine's spans (each drive, and a saga's root span when it ends); may be null.
  Tracer* tracer = nullptr;
  // A command with no result after this long is sent again, whatever the relay reported.
  absl::Duration redispatch_after = absl::Milliseconds(limits::kRedispatchAfterMsDefault);
  // Sooner, a command the relay has said nothing about is taken as lost and sent again: the first
  // word is due this long after the send, the next this long after the retry tier's due time the
  // relay reported (relay_expectation.h).
  absl::Duration relay_first_word_after = absl::Milliseconds(limits::kRelayFirstWordAfterMs);
  absl::Duration relay_word_after_due =
      absl::Milliseconds(limits::kLedgerCallTimeoutMs + limits::kRelaySilenceMarginMs);
  // Whether the relays have branch commands they have not read yet (their consumer lag on the
  // commands topic); while they do, silence is not loss. Null: never known, so never assumed.
  std::function<bool()> relay_has_backlog;
};

}  // namespace fxmesh::coordinator
