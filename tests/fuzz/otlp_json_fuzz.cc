// Fuzzes ToOtlpJson, the hand-written OTLP/HTTP JSON encoder of the span export: whatever the
// spans hold, the body is valid JSON with one resourceSpans entry for the service, one span per
// span given, in order, whose names, ids, attributes, error message and times read back as they
// were (text that is valid UTF-8 exactly; other bytes still make valid JSON).
//
// Input: the service name, then spans of eight lines each: name, trace id, span id, parent span
// id, error, start seconds, duration in nanoseconds, and "key=value" attributes separated by ';'
// (C escapes allowed).
#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/otlp_exporter.h"
#include "common/printable.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

using google::protobuf::Value;

const Value& Field(const Value& object, const std::string& name, const std::string& body) {
  FUZZ_CHECK(object.has_struct_value(), PrintableText(body, 400));
  const auto& fields = object.struct_value().fields();
  const auto found = fields.find(name);
  FUZZ_CHECK(found != fields.end(), absl::StrCat(name, " missing in ", PrintableText(body, 400)));
  return found->second;
}

const Value& Item(const Value& list, int index, const std::string& body) {
  FUZZ_CHECK(list.has_list_value() && list.list_value().values_size() > index,
             PrintableText(body, 400));
  return list.list_value().values(index);
}

void CheckString(const Value& value, const std::string& expected, const std::string& body) {
  FUZZ_CHECK(value.has_string_value(), PrintableText(body, 400));
  if (IsValidUtf8(expected)) {
    FUZZ_CHECK(value.string_value() == expected,
               absl::StrCat(PrintableText(expected, 100), " in ", PrintableText(body, 400)));
  }
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  using google::protobuf::util::TimeUtil;
  Lines lines(data, size);
  const std::string service = lines.Text();
  std::vector<v1::Span> spans;
  while (!lines.done() && spans.size() < 64) {
    v1::Span span;
    span.set_name(lines.Text());
    span.set_trace_id(lines.Text());
    span.set_span_id(lines.Text());
    span.set_parent_span_id(lines.Text());
    span.set_error(lines.Text());
    // Spans come from this machine's clock: from 1970 to far beyond any real run, where
    // nanoseconds since 1970 still fit an int64.
    const int64_t start_seconds = lines.Int() % 9'000'000'000;
    const int64_t duration_nanos = lines.Int() % 1'000'000'000'000;
    *span.mutable_start() = TimeUtil::NanosecondsToTimestamp(
        (start_seconds < 0 ? -start_seconds : start_seconds) * 1'000'000'000);
    *span.mutable_end() =
        TimeUtil::NanosecondsToTimestamp(TimeUtil::TimestampToNanoseconds(span.start()) +
                                         (duration_nanos < 0 ? -duration_nanos : duration_nanos));
    for (absl::string_view pair : absl::StrSplit(lines.Text(), ';', absl::SkipEmpty())) {
      std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      (*span.mutable_attributes())[kv.first] = kv.second;
    }
    spans.push_back(std::move(span));
  }

  const std::string body = ToOtlpJson(spans, service);
  const absl::StatusOr<google::protobuf::Value> parsed = ParseJson(body);
  FUZZ_CHECK(parsed.ok(),
             absl::StrCat(parsed.status().ToString(), " in ", PrintableText(body, 400)));
  const Value& resource_spans = Field(*parsed, "resourceSpans", body);
  FUZZ_CHECK(resource_spans.list_value().values_size() == 1, body);
  const Value& resource = Item(resource_spans, 0, body);
  const Value& service_attribute =
      Item(Field(Field(resource, "resource", body), "attributes", body), 0, body);
  CheckString(Field(service_attribute, "key", body), "service.name", body);
  CheckString(Field(Field(service_attribute, "value", body), "stringValue", body), service, body);
  const Value& encoded = Field(Item(Field(resource, "scopeSpans", body), 0, body), "spans", body);
  FUZZ_CHECK(encoded.list_value().values_size() == static_cast<int>(spans.size()), body);
  for (int i = 0; i < static_cast<int>(spans.size()); ++i) {
    const v1::Span& span = spans[i];
    const Value& out = Item(encoded, i, body);
    CheckString(Field(out, "name", body), span.name(), body);
    CheckString(Field(out, "traceId", body), span.trace_id(), body);
    CheckString(Field(out, "spanId", body), span.span_id(), body);
    if (!span.parent_span_id().empty()) {
      CheckString(Field(out, "parentSpanId", body), span.parent_span_id(), body);
    }
    CheckString(Field(out, "startTimeUnixNano", body),
                absl::StrCat(TimeUtil::TimestampToNanoseconds(span.start())), body);
    CheckString(Field(out, "endTimeUnixNano", body),
                absl::StrCat(TimeUtil::TimestampToNanoseconds(span.end())), body);
    const Value& status = Field(out, "status", body);
    FUZZ_CHECK(Field(status, "code", body).number_value() == (span.error().empty() ? 1 : 2), body);
    if (!span.error().empty()) CheckString(Field(status, "message", body), span.error(), body);
    const Value& attributes = Field(out, "attributes", body);
    FUZZ_CHECK(attributes.list_value().values_size() == span.attributes_size(), body);
    for (const Value& attribute : attributes.list_value().values()) {
      const std::string& key = Field(attribute, "key", body).string_value();
      const auto found = span.attributes().find(key);
      if (found == span.attributes().end()) continue;  // A key that is not UTF-8, re-spelled.
      CheckString(Field(Field(attribute, "value", body), "stringValue", body), found->second, body);
    }
  }
}

}  // namespace fxmesh::fuzz
