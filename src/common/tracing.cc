#include "common/tracing.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ids.h"
#include "common/proto_time.h"

namespace fxmesh {
namespace {

thread_local const ScopedSpan* current_span = nullptr;

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<TraceContext> TraceContext::Parse(absl::string_view traceparent) {
  // "00-" + 32 + "-" + 16 + "-" + 2
  if (traceparent.size() != 55 || traceparent.substr(0, 3) != "00-" || traceparent[35] != '-' ||
      traceparent[52] != '-') {
    return std::nullopt;
  }
  TraceContext context{std::string(traceparent.substr(3, 32)),
                       std::string(traceparent.substr(36, 16))};
  if (!IsLowerHex(context.trace_id) || !IsLowerHex(context.span_id) ||
      !IsLowerHex(traceparent.substr(53, 2))) {
    return std::nullopt;
  }
  return context;
}

std::string TraceContext::SpanIdIn(absl::string_view traceparent, absl::string_view trace_id) {
  std::optional<TraceContext> parsed = Parse(traceparent);
  return parsed && parsed->trace_id == trace_id ? parsed->span_id : "";
}

std::string TraceContext::ToTraceparent() const {
  return absl::StrCat("00-", trace_id, "-", span_id, "-01");
}

std::string RootSpanId(absl::string_view trace_id) { return std::string(trace_id.substr(0, 16)); }

std::string NewSpanId() { return NewSagaId().substr(0, 16); }

Tracer::Tracer(std::string service, size_t capacity)
    : service_(std::move(service)), capacity_(capacity) {}

void Tracer::Record(v1::Span span) {
  span.set_service(service_);
  absl::MutexLock lock(&mu_);
  if (sink_) sink_(span);
  spans_.push_back(std::move(span));
  while (spans_.size() > capacity_) spans_.pop_front();
}

std::vector<v1::Span> Tracer::SpansOf(absl::string_view trace_id) const {
  std::vector<v1::Span> found;
  absl::MutexLock lock(&mu_);
  for (const v1::Span& span : spans_) {
    if (span.trace_id() == trace_id) found.push_back(span);
  }
  return found;
}

void Tracer::SetSink(Sink sink) {
  absl::MutexLock lock(&mu_);
  sink_ = std::move(sink);
}

ScopedSpan::ScopedSpan(Tracer* tracer, absl::string_view name, absl::string_view trace_id,
                       absl::string_view parent_span_id, Scope scope)
    // Not a trace id (a malformed request's saga id, which may be any size): nothing is recorded
    // under it, and log lines inside this span carry no trace id.
    : tracer_(ValidateSagaId(trace_id).ok() ? tracer : nullptr),
      detached_(scope == Scope::kDetached),
      outer_(detached_ ? nullptr : current_span) {
  if (!ValidateSagaId(trace_id).ok()) trace_id = "";
  span_.set_trace_id(std::string(trace_id));
  span_.set_span_id(NewSpanId());
  span_.set_parent_span_id(parent_span_id.empty() ? RootSpanId(trace_id)
                                                  : std::string(parent_span_id));
  span_.set_name(std::string(name));
  *span_.mutable_start() = ToTimestamp(absl::Now());
  if (!detached_) current_span = this;
}

ScopedSpan::~ScopedSpan() {
  if (!detached_) current_span = outer_;
  if (tracer_ == nullptr) return;
  *span_.mutable_end() = ToTimestamp(absl::Now());
  tracer_->Record(std::move(span_));
}

std::string ScopedSpan::traceparent() const {
  return TraceContext{span_.trace_id(), span_.span_id()}.ToTraceparent();
}

void ScopedSpan::SetAttribute(absl::string_view key, absl::string_view value) {
  (*span_.mutable_attributes())[std::string(key)] = std::string(value);
}

void ScopedSpan::SetStatus(const absl::Status& status) {
  if (!status.ok()) span_.set_error(status.ToString());
}

const ScopedSpan* CurrentSpan() { return current_span; }

AdoptSpan::AdoptSpan(const ScopedSpan* span) : outer_(current_span) { current_span = span; }

AdoptSpan::~AdoptSpan() { current_span = outer_; }

std::string ParentSpanIdFor(absl::string_view trace_id) {
  if (current_span != nullptr && current_span->trace_id() == trace_id)
    return current_span->span_id();
  return RootSpanId(trace_id);
}

std::string TraceparentFor(absl::string_view trace_id) {
  return TraceContext{std::string(trace_id), ParentSpanIdFor(trace_id)}.ToTraceparent();
}

v1::Span MakeSpan(absl::string_view service, absl::string_view name, absl::string_view trace_id,
                  absl::string_view span_id, absl::string_view parent_span_id, absl::Time start,
                  absl::Time end) {
  v1::Span span;
  span.set_service(std::string(service));
  span.set_name(std::string(name));
  span.set_trace_id(std::string(trace_id));
  span.set_span_id(std::string(span_id));
  span.set_parent_span_id(std::string(parent_span_id));
  *span.mutable_start() = ToTimestamp(start);
  *span.mutable_end() = ToTimestamp(end);
  return span;
}

}  // namespace fxmesh
