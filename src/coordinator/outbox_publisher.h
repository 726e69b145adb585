// Drains the coordinator's outbox into Kafka: each unsent row is produced once (rows in flight are
// not produced again), marked sent when Kafka has it, and produced again after a failed delivery.
// While Kafka is down the rows simply wait; nothing is lost, and the backlog is visible in
// OpsService.GetAlerts. Delivery is at least once. Not thread-safe: one publisher thread.
//
// No committed row is ever skipped (ARCHITECTURE.md §8 item 9). Outbox ids are handed out at
// insert, not at commit, so on PostgreSQL a row can become visible after rows with higher ids were
// already read. The publisher therefore reads forward from a cursor for speed, but every
// limits::kOutboxRescanMs it starts again from the lowest unsent row, skipping only the rows it
// holds itself (in flight, or delivered and waiting to be marked sent).
//
// With several replicas on one database, only the one holding the publisher role
// (kOutboxPublisherRole, leased for limits::kOutboxPublisherLeaseMs) publishes; the others stand by
// and take over once its lease runs out. Two publishers would send every command twice: harmless
// (the ledgers' barrier answers DUPLICATE) but double the relay's work.
#pragma once

#include <set>
#include <string>

#include "common/clock.h"
#include "coordinator/outbox_store.h"
#include "kafka/producer.h"

namespace fxmesh::coordinator {

class OutboxPublisher {
 public:
  // `store`, `producer` and `clock` must outlive the publisher. `owner` is the replica's id.
  OutboxPublisher(OutboxStore& store, kafka::KafkaProducer& producer, const Clock& clock,
                  std::string owner)
      : store_(store), producer_(producer), clock_(clock), owner_(std::move(owner)) {}

  // Produces the unsent rows not yet in flight (up to a bound), serves delivery reports for up to
  // `wait`, and marks the delivered rows sent (the Pruner deletes them later). Returns how many
  // rows it marked sent. Produces nothing while another replica holds the publisher role.
  absl::StatusOr<int> PublishOnce(absl::Duration wait);
  // Whether this replica held the publisher role at its last check.
  bool publishing() const { return publishing_; }
  // Rows produced whose delivery Kafka has not reported yet.
  int in_flight() const { return static_cast<int>(in_flight_.size()); }

 private:
  // Takes or renews the publisher role when a check is due; logs when this replica gains or loses
  // it. A new holder sweeps the outbox from the start.
  absl::Status CheckRole();

  OutboxStore& store_;
  kafka::KafkaProducer& producer_;
  const Clock& clock_;
  const std::string owner_;
  bool publishing_ = false;
  absl::Time next_role_check_ = absl::InfinitePast();
  // Rows up to here were read in this sweep; the next rescan starts over from 0.
  int64_t fetched_up_to_ = 0;
  absl::Time next_rescan_ = absl::InfinitePast();
  std::set<int64_t> in_flight_;
  // Delivered, but marking them sent failed: marked again on the next pass, never produced again.
  std::set<int64_t> unmarked_;
};

}  // namespace fxmesh::coordinator
