// What becomes of a branch command once its ledger call has ended (ARCHITECTURE.md §5): the one
// place that decides what is retried, after how long, and when to give up. The Kafka relay
// (relay.h) and the coordinator's in-process relay (coordinator/local_relay.h) both follow it, so
// a Confirm or Cancel is settled by the same rules with or without Kafka.
//
//   a business answer (applied, duplicate, rejected, null compensation) → the answer, to the
//     coordinator.
//   the ledger refused the request itself (INVALID_ARGUMENT, FAILED_PRECONDITION) → a dead
//     letter at once: a "no", which asking again does not change.
//   no answer (down, timeout) → attempt n + 1 waits out tier n's delay, with a report telling the
//     coordinator when; after the last tier → a dead letter with the last error.
//
// Pure: no I/O, no clock. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/log.h"
#include "fxmesh/v1/ledger.pb.h"
#include "fxmesh/v1/relay.pb.h"

namespace fxmesh::relay {

// A retry tier: where a command waits (a Kafka topic; its name also labels the metrics) and how
// long.
struct RelayTier {
  std::string topic;
  absl::Duration delay;
};
// The default tiers: kafka::kRetryTiers, whose delays are limits::kRelayTierDelaysMsDefault.
std::vector<RelayTier> DefaultTiers();

// Adds what identifies a command to a log line: its saga (and so its trace), branch, op and
// attempt.
LogLine& DescribeCommand(LogLine&& line, const v1::BranchCommand& command);

// Whether a ledger's gRPC status says it refused the request itself (ARCHITECTURE.md §3: a
// malformed request, or one its state makes impossible), as opposed to "maybe not delivered".
bool IsRefusal(const absl::Status& status);

// Why a command can never be executed, found before any call: `kind` labels the dead-letter
// metric ("bad_op", "unknown_participant").
struct CommandFault {
  std::string kind;
  std::string reason;
};
// The fault of `command`, or nullopt when it can be executed. `participant_known`: the relay has a
// client for the command's participant.
std::optional<CommandFault> CheckCommand(const v1::BranchCommand& command, bool participant_known);

struct Verdict {
  enum class Kind {
    kAnswered,    // `result` is the ledger's answer.
    kRetry,       // `next` waits in tier `tier` until `due`; `result` is the retry report.
    kDeadLetter,  // Give up: `fault` says why.
  };
  Kind kind = Kind::kAnswered;
  v1::BranchResult result;
  v1::BranchCommand next;
  int tier = -1;
  absl::Time due;
  CommandFault fault;
  // When the ledger gave no answer: its status, as text.
  std::string error;
  // The attempt this verdict is about (1 for the first).
  int attempt = 1;
  // The outcome as the relay's metrics label it: the ledger's ("APPLIED", ...), "retry" or
  // "dead_letter".
  std::string label;
};

// The verdict on `command` whose ledger call answered `response` at `now`, with `tiers` in order.
Verdict Judge(const v1::BranchCommand& command, const absl::StatusOr<v1::BranchResponse>& response,
              absl::Span<const RelayTier> tiers, absl::Time now);

}  // namespace fxmesh::relay
