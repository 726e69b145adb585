// The coordinator's transactional outbox, as its publisher sees it: messages written in the same
// transaction as the saga change they announce (SagaRepository::SaveSaga, CreateSaga and the
// operator writes queue them), read here in id order and marked sent once Kafka has them; and the
// replica roles that let one replica at a time publish. Retention of sent rows is RetentionStore's.
// Implementations are thread-safe and make each method one local transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fxmesh::coordinator {

// A message waiting in the outbox to be published.
struct OutboxMessage {
  int64_t outbox_id = 0;
  std::string topic;
  std::string key;
  std::string payload;      // proto3 JSON.
  std::string traceparent;  // W3C trace context of the saga.
};

// The role of the one replica that publishes the outbox.
inline constexpr absl::string_view kOutboxPublisherRole = "outbox_publisher";

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // Unsent messages, oldest (lowest id) first, after `after_id`. Ids only grow, but on PostgreSQL
  // a lower id may commit after a higher one was read (see OutboxPublisher).
  virtual absl::StatusOr<std::vector<OutboxMessage>> ListUnsentOutbox(int64_t after_id,
                                                                      int limit) = 0;
  virtual absl::Status MarkOutboxSent(const std::vector<int64_t>& outbox_ids, absl::Time now) = 0;
  virtual absl::StatusOr<int64_t> CountUnsentOutbox() = 0;
  // Takes or renews a role only one replica may hold at a time (kOutboxPublisherRole) for `owner`
  // until `lease_until`, if it is free, expired at `now`, or already `owner`'s. Returns whether
  // `owner` holds it now; an unknown role is never held.
  virtual absl::StatusOr<bool> ClaimRole(absl::string_view role, absl::string_view owner,
                                         absl::Time now, absl::Time lease_until) = 0;
};

}  // namespace fxmesh::coordinator
