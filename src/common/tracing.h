// Spans by saga (ARCHITECTURE.md §6): a saga's id is its W3C trace-id, and every hop carries a
// `traceparent` ("00-<trace id>-<span id>-01") in gRPC metadata or a Kafka header. Each service
// records a span for each piece of work it does for a saga and keeps the most recent ones in
// memory, for TraceService to answer `fxmesh trace` and, when configured, for an exporter to send
// to an OpenTelemetry collector.
//
//   ScopedSpan span(tracer, "Confirm fx", saga_id, parent_span_id);
//   span.SetAttribute("outcome", "APPLIED");
//   ... // Calls made on this thread meanwhile are its children (CurrentSpan()).
//   // Recorded when `span` goes out of scope.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "fxmesh/v1/trace.pb.h"

namespace fxmesh {

// A parsed traceparent.
struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits.
  std::string span_id;   // 16 lower-case hex digits.

  // nullopt unless `traceparent` is a well-formed version-00 W3C traceparent.
  static std::optional<TraceContext> Parse(absl::string_view traceparent);
  // The span id in `traceparent` when it is a well-formed traceparent of `trace_id`; "" (which
  // ScopedSpan takes as the trace's root) otherwise.
  static std::string SpanIdIn(absl::string_view traceparent, absl::string_view trace_id);
  std::string ToTraceparent() const;
};

// The id of a saga's root span: the first 16 hex digits of its id, so every service can name the
// root without asking the coordinator.
std::string RootSpanId(absl::string_view trace_id);
// A fresh random span id.
std::string NewSpanId();

// Keeps the most recent spans of one service. Thread-safe.
class Tracer {
 public:
  // Receives each span as it is recorded (an exporter); must not block.
  using Sink = std::function<void(const v1::Span&)>;

  explicit Tracer(std::string service, size_t capacity);
  const std::string& service() const { return service_; }

  void Record(v1::Span span);
  // The kept spans of `trace_id`, oldest first.
  std::vector<v1::Span> SpansOf(absl::string_view trace_id) const;
  void SetSink(Sink sink);

 private:
  const std::string service_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<v1::Span> spans_ ABSL_GUARDED_BY(mu_);
  Sink sink_ ABSL_GUARDED_BY(mu_);
};

// One span, from construction to destruction, recorded into `tracer` (which may be null: then
// nothing is recorded, but the span still has ids for the traceparent it hands on). While it lives
// it is its thread's current span, unless it is detached: a detached span belongs to no thread, so
// it may end on another one (a call answered on the transport's thread); AdoptSpan makes it current
// where work is started under it.
class ScopedSpan {
 public:
  enum class Scope { kThisThread, kDetached };
  // An empty `parent_span_id` makes it a child of the trace's root span.
  ScopedSpan(Tracer* tracer, absl::string_view name, absl::string_view trace_id,
             absl::string_view parent_span_id = "", Scope scope = Scope::kThisThread);
  ~ScopedSpan();
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

  const std::string& trace_id() const { return span_.trace_id(); }
  const std::string& span_id() const { return span_.span_id(); }
  // The traceparent that makes the receiver's work a child of this span.
  std::string traceparent() const;
  void SetAttribute(absl::string_view key, absl::string_view value);
  // Marks the span failed with `status`'s message (nothing when `status` is OK).
  void SetStatus(const absl::Status& status);

 private:
  Tracer* const tracer_;
  const bool detached_;
  const ScopedSpan* const outer_;
  v1::Span span_;
};

// The innermost ScopedSpan alive on this thread, or null.
const ScopedSpan* CurrentSpan();

// Makes `span` (which must outlive this) the current span of another thread for this object's
// lifetime, so work fanned out to threads stays under its parent.
class AdoptSpan {
 public:
  explicit AdoptSpan(const ScopedSpan* span);
  ~AdoptSpan();
  AdoptSpan(const AdoptSpan&) = delete;
  AdoptSpan& operator=(const AdoptSpan&) = delete;

 private:
  const ScopedSpan* const outer_;
};

// The span that work done for `trace_id` now belongs under: this thread's current span when it
// is of that trace, else the trace's root span.
std::string ParentSpanIdFor(absl::string_view trace_id);
// The traceparent that makes the receiver's work a child of ParentSpanIdFor(trace_id).
std::string TraceparentFor(absl::string_view trace_id);

// A finished span with explicit times (a saga's root span, recorded when the saga ends).
v1::Span MakeSpan(absl::string_view service, absl::string_view name, absl::string_view trace_id,
                  absl::string_view span_id, absl::string_view parent_span_id, absl::Time start,
                  absl::Time end);

}  // namespace fxmesh
