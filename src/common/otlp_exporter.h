// Exports spans to an OpenTelemetry collector as OTLP/HTTP JSON: a POST of `resourceSpans` to
// <endpoint>/v1/traces, in batches, from a thread of its own, so recording a span never waits on
// the network. While the collector is away, batches fail and are dropped (counted and logged):
// tracing must never hold up money. The spans also stay in the service's Tracer for `fxmesh trace`.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/tracing.h"
#include "fxmesh/v1/trace.pb.h"

namespace fxmesh {

// The OTLP/HTTP JSON body for `spans` of one service.
std::string ToOtlpJson(const std::vector<v1::Span>& spans, absl::string_view service);

class OtlpExporter {
 public:
  // `endpoint` is the collector's base URL, "http://host:port" (an OpenTelemetry collector's
  // OTLP/HTTP receiver listens on 4318). INVALID_ARGUMENT for anything else.
  static absl::StatusOr<std::unique_ptr<OtlpExporter>> Start(absl::string_view endpoint,
                                                             std::string service);
  // Exports every span `tracer` records from now on, until this exporter is destroyed; `tracer`
  // must outlive it.
  void Attach(Tracer& tracer);
  // Detaches from the tracer, sends what is queued (one last attempt), then stops.
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Queues `span`; beyond limits::kOtlpQueueMax it is dropped. Never blocks on the network.
  void Enqueue(const v1::Span& span);
  int64_t exported() const { return exported_.load(); }
  int64_t dropped() const { return dropped_.load(); }

 private:
  OtlpExporter(std::string host, std::string port, std::string service)
      : host_(std::move(host)), port_(std::move(port)), service_(std::move(service)) {}
  void Loop();
  // Sends up to one batch; false when there was nothing to send.
  bool SendBatch();
  absl::Status Post(const std::string& body) const;

  const std::string host_, port_, service_;
  Tracer* attached_ = nullptr;
  absl::Mutex mu_;
  std::deque<v1::Span> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> exported_{0}, dropped_{0};
  std::thread thread_;
};

// With a non-empty `endpoint`, starts an exporter attached to `tracer`; with an empty one, returns
// null (no export).
absl::StatusOr<std::unique_ptr<OtlpExporter>> ExportSpans(absl::string_view endpoint,
                                                          Tracer& tracer);

}  // namespace fxmesh
