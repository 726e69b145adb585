// Reading proto3 JSON that this or another version of fxmesh wrote: stored rows (a saga's
// branches) and Kafka payloads. During a rolling upgrade an old replica reads what a new one wrote,
// so fields it does not know are ignored rather than failing the whole message
// (ARCHITECTURE.md §7, forward compatibility).
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

// Parses `json` into `message`, ignoring unknown fields. INVALID_ARGUMENT with the parser's
// message when `json` is not JSON of that message type.
inline absl::Status ParseProtoJson(absl::string_view json, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(parsed.message()));
}

}  // namespace fxmesh
