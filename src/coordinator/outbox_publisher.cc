#include "coordinator/outbox_publisher.h"

#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fxmesh::coordinator {

absl::Status OutboxPublisher::CheckRole() {
  const absl::Time now = clock_.Now();
  if (now < next_role_check_) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool held,
                   store_.ClaimRole(kOutboxPublisherRole, owner_, now,
                                    now + absl::Milliseconds(limits::kOutboxPublisherLeaseMs)));
  next_role_check_ = now + absl::Milliseconds(limits::kOutboxPublisherRenewMs);
  if (held == publishing_) return absl::OkStatus();
  publishing_ = held;
  if (held) {
    LogInfo("this replica publishes the outbox now").With("replica_id", owner_);
    fetched_up_to_ = 0;  // Whatever the last publisher left: sweep from the start.
  } else {
    LogInfo("another replica publishes the outbox now; this one stands by")
        .With("replica_id", owner_);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OutboxPublisher::PublishOnce(absl::Duration wait) {
  // Without an answer about the role (the database is away), the last one stands and the check
  // is made again on the next pass; nothing can be read from the outbox meanwhile anyway.
  const absl::Status role = CheckRole();
  if (clock_.Now() >= next_rescan_) {
    // A row that committed after the cursor passed its id, or whose delivery was lost between
    // passes, is found by sweeping again from the start.
    fetched_up_to_ = 0;
    next_rescan_ = clock_.Now() + absl::Milliseconds(limits::kOutboxRescanMs);
  }
  const int room =
      limits::kOutboxInFlightMax - static_cast<int>(in_flight_.size() + unmarked_.size());
  if (publishing_ && room > 0) {
    ASSIGN_OR_RETURN(
        std::vector<OutboxMessage> messages,
        store_.ListUnsentOutbox(fetched_up_to_, std::min(room, limits::kOutboxBatchMax)));
    for (const OutboxMessage& message : messages) {
      // After a failed delivery fetching restarts below rows that may still be in flight; those
      // are not produced twice.
      if (in_flight_.count(message.outbox_id) == 0 && unmarked_.count(message.outbox_id) == 0) {
        absl::Status queued = producer_.Produce(
            kafka::OutgoingMessage{message.topic,
                                   message.key,
                                   message.payload,
                                   {{"content-type", "application/json"},
                                    {"traceparent", message.traceparent},
                                    {"fxmesh-outbox-id", absl::StrCat(message.outbox_id)}},
                                   message.outbox_id});
        if (!queued.ok()) break;  // The local queue is full: the rest waits for the next pass.
        in_flight_.insert(message.outbox_id);
      }
      fetched_up_to_ = message.outbox_id;
    }
  }
  for (const kafka::DeliveryReport& report : producer_.Poll(wait)) {
    in_flight_.erase(report.token);
    if (report.status.ok()) {
      unmarked_.insert(report.token);
    } else {
      // Produce it again: fetching restarts just before the failed row.
      fetched_up_to_ = std::min(fetched_up_to_, report.token - 1);
      LogWarning("outbox delivery failed; will retry")
          .With("outbox_id", report.token)
          .With("error", report.status);
    }
  }
  const std::vector<int64_t> delivered(unmarked_.begin(), unmarked_.end());
  RETURN_IF_ERROR(store_.MarkOutboxSent(delivered, clock_.Now()));
  unmarked_.clear();
  RETURN_IF_ERROR(role);
  return static_cast<int>(delivered.size());
}

}  // namespace fxmesh::coordinator
