// Fuzzes the decoding of what arrives from Kafka: a message value as the relay reads it (a
// BranchCommand, proto3 JSON) and as the coordinator reads it (a BranchResult), the traceparent
// header, and a dead letter as the coordinator records it (DecodeDeadLetter). Whatever the bytes:
// a value that parses re-encodes to JSON that parses back to the same message, its timestamps
// convert to absl::Time without overflow, a traceparent that parses prints back as itself, and a
// decoded dead letter holds only bounded, valid UTF-8 text without NUL (what a proto string and a
// PostgreSQL TEXT column need) and survives a round trip through the wire format.
//
// Input: the key, the traceparent header, the fxmesh-error header and the fxmesh-attempts header
// (one line each, C escapes allowed), then the message value: the rest of the input, as it is.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/printable.h"
#include "common/proto_json.h"
#include "common/proto_time.h"
#include "common/tracing.h"
#include "coordinator/relay_results.h"
#include "fxmesh/v1/relay.pb.h"
#include "kafka/topics.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

using google::protobuf::Message;
using google::protobuf::Timestamp;

// A timestamp the JSON parser accepted converts to the same instant, to the microsecond.
void CheckTime(const Timestamp& timestamp) {
  const __int128 micros = __int128{timestamp.seconds()} * 1'000'000 + timestamp.nanos() / 1'000;
  const absl::Time time = ToTime(timestamp);
  FUZZ_CHECK(absl::ToUnixMicros(time) == micros,
             google::protobuf::util::TimeUtil::ToString(timestamp));
}

// Parses `value` as the relay or the coordinator does; when it parses, re-encodes it and parses
// that back: the same message.
template <typename MessageT>
void CheckDecode(absl::string_view value) {
  MessageT message;
  const absl::Status parsed = ParseProtoJson(value, message);
  if (!parsed.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(parsed), parsed.ToString());
    // The relay puts the parse error in a dead letter's header: it must be printable text.
    FUZZ_CHECK(IsValidUtf8(PrintableText(parsed.message(), limits::kQuotedTextBytesMax)),
               parsed.ToString());
    return;
  }
  std::string json;
  const auto encoded = google::protobuf::util::MessageToJsonString(message, &json);
  FUZZ_CHECK(encoded.ok(), std::string(encoded.message()));
  MessageT again;
  const absl::Status reparsed = ParseProtoJson(json, again);
  FUZZ_CHECK(reparsed.ok(), absl::StrCat(reparsed.ToString(), " in ", json));
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(message, again), json);
  if constexpr (std::is_same_v<MessageT, v1::BranchCommand>) {
    if (message.has_not_before()) CheckTime(message.not_before());
  } else {
    if (message.has_executed_at()) CheckTime(message.executed_at());
    if (message.has_next_attempt_at()) CheckTime(message.next_attempt_at());
  }
}

void CheckTraceparent(const std::string& header) {
  const std::optional<TraceContext> context = TraceContext::Parse(header);
  if (!context) return;
  FUZZ_CHECK(context->trace_id.size() == 32 && context->span_id.size() == 16, header);
  const std::optional<TraceContext> again = TraceContext::Parse(context->ToTraceparent());
  FUZZ_CHECK(again && again->trace_id == context->trace_id && again->span_id == context->span_id,
             header);
  FUZZ_CHECK(TraceContext::SpanIdIn(header, context->trace_id) == context->span_id, header);
}

void CheckText(const std::string& text, size_t bytes_max, absl::string_view field) {
  FUZZ_CHECK(IsValidUtf8(text), absl::StrCat(field, " is not UTF-8"));
  FUZZ_CHECK(text.find('\0') == std::string::npos, absl::StrCat(field, " holds a NUL"));
  // The cut leaves room for " …(N more bytes)".
  FUZZ_CHECK(text.size() <= bytes_max + 40, absl::StrCat(field, " is ", text.size(), " bytes"));
}

void CheckDeadLetter(const kafka::IncomingMessage& message) {
  const absl::Time now = absl::FromUnixSeconds(1'780'000'000);
  const v1::DeadLetter dead_letter = coordinator::DecodeDeadLetter(message, now);
  CheckText(dead_letter.saga_id(), limits::kQuotedTextBytesMax, "saga_id");
  CheckText(dead_letter.payload(), limits::kDeadLetterPayloadBytesMax, "payload");
  CheckText(dead_letter.error(), limits::kQuotedTextBytesMax, "error");
  CheckText(dead_letter.source_topic(), limits::kQuotedTextBytesMax, "source_topic");
  FUZZ_CHECK(dead_letter.partition() == message.partition && dead_letter.offset() == message.offset,
             "partition and offset");
  FUZZ_CHECK(ToTime(dead_letter.dead_lettered_at()) == now, "dead_lettered_at");
  // Short printable text (tab and newline allowed) is kept as it is.
  bool printable =
      message.value.size() <= limits::kDeadLetterPayloadBytesMax && IsValidUtf8(message.value);
  for (char c : message.value) {
    printable = printable && !((c >= 0 && c < 0x20 && c != '\t' && c != '\n') || c == 0x7F);
  }
  if (printable) FUZZ_CHECK(dead_letter.payload() == message.value, dead_letter.payload());
  std::string wire;
  FUZZ_CHECK(dead_letter.SerializeToString(&wire), "serialize");
  v1::DeadLetter again;
  FUZZ_CHECK(again.ParseFromString(wire), "parse back");
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(dead_letter, again), "round trip");
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  kafka::IncomingMessage message;
  message.topic = std::string(kafka::kDeadLetterTopic);
  message.partition = 3;
  message.offset = 42;
  message.key = lines.Text();
  message.headers["traceparent"] = lines.Text();
  message.headers["fxmesh-error"] = lines.Text();
  message.headers["fxmesh-attempts"] = lines.Text();
  message.headers["fxmesh-source-topic"] = std::string(kafka::kBranchCommandsTopic);
  message.value = std::string(lines.Rest());

  CheckDecode<v1::BranchCommand>(message.value);
  CheckDecode<v1::BranchResult>(message.value);
  CheckTraceparent(message.headers["traceparent"]);
  CheckDeadLetter(message);
}

}  // namespace fxmesh::fuzz
