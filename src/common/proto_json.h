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
#include "common/check.h"

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

// The proto3 JSON of `message`, as fxmesh writes it to rows and payloads. Printing a message of
// fxmesh's own types cannot fail (none holds an Any); a failure is a programming error and stops
// the process rather than writing an empty payload.
inline std::string ProtoToJson(const google::protobuf::Message& message) {
  std::string json;
  FXMESH_CHECK(google::protobuf::util::MessageToJsonString(message, &json).ok(),
               "a message of fxmesh's own types prints as JSON");
  return json;
}

}  // namespace fxmesh
