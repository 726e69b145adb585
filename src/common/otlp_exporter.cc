#include "common/otlp_exporter.h"

#include <google/protobuf/util/time_util.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace fxmesh {
namespace {

using google::protobuf::util::TimeUtil;

std::string KeyValue(absl::string_view key, absl::string_view value) {
  return absl::StrCat("{\"key\":", JsonQuote(key), ",\"value\":{\"stringValue\":", JsonQuote(value),
                      "}}");
}

std::string Nanos(const google::protobuf::Timestamp& time) {
  return absl::StrCat("\"", TimeUtil::TimestampToNanoseconds(time), "\"");
}

}  // namespace

std::string ToOtlpJson(const std::vector<v1::Span>& spans, absl::string_view service) {
  std::vector<std::string> encoded;
  for (const v1::Span& span : spans) {
    std::vector<std::string> attributes;
    for (const auto& [key, value] : span.attributes()) attributes.push_back(KeyValue(key, value));
    // OTLP/JSON writes trace and span ids as hex, as fxmesh keeps them. Status code 1 is OK, 2
    // ERROR; kind 1 is INTERNAL.
    encoded.push_back(absl::StrCat(
        "{\"traceId\":", JsonQuote(span.trace_id()), ",\"spanId\":", JsonQuote(span.span_id()),
        span.parent_span_id().empty()
            ? ""
            : absl::StrCat(",\"parentSpanId\":", JsonQuote(span.parent_span_id())),
        ",\"name\":", JsonQuote(span.name()), ",\"kind\":1,\"startTimeUnixNano\":",
        Nanos(span.start()), ",\"endTimeUnixNano\":", Nanos(span.end()), ",\"attributes\":[",
        absl::StrJoin(attributes, ","), "],\"status\":",
        span.error().empty()
            ? "{\"code\":1}"
            : absl::StrCat("{\"code\":2,\"message\":", JsonQuote(span.error()), "}"),
        "}"));
  }
  return absl::StrCat("{\"resourceSpans\":[{\"resource\":{\"attributes\":[",
                      KeyValue("service.name", service),
                      "]},\"scopeSpans\":[{\"scope\":{\"name\":\"fxmesh\"},\"spans\":[",
                      absl::StrJoin(encoded, ","), "]}]}]}");
}

absl::StatusOr<std::unique_ptr<OtlpExporter>> OtlpExporter::Start(absl::string_view endpoint,
                                                                  std::string service) {
  absl::string_view rest = endpoint;
  if (!absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the OTLP endpoint must be http://host:port (a collector's OTLP/HTTP receiver), got '",
        endpoint, "'"));
  }
  absl::ConsumeSuffix(&rest, "/");
  std::vector<std::string> parts = absl::StrSplit(rest, absl::MaxSplits(':', 1));
  int port = 0;
  if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &port) || port <= 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("the OTLP endpoint must be http://host:port, got '", endpoint, "'"));
  }
  std::unique_ptr<OtlpExporter> exporter(new OtlpExporter(parts[0], parts[1], std::move(service)));
  exporter->thread_ = std::thread([raw = exporter.get()] { raw->Loop(); });
  return exporter;
}

void OtlpExporter::Attach(Tracer& tracer) {
  attached_ = &tracer;
  tracer.SetSink([this](const v1::Span& span) { Enqueue(span); });
}

absl::StatusOr<std::unique_ptr<OtlpExporter>> ExportSpans(absl::string_view endpoint,
                                                          Tracer& tracer) {
  if (endpoint.empty()) return nullptr;
  ASSIGN_OR_RETURN(std::unique_ptr<OtlpExporter> exporter,
                   OtlpExporter::Start(endpoint, tracer.service()));
  exporter->Attach(tracer);
  return exporter;
}

OtlpExporter::~OtlpExporter() {
  if (attached_ != nullptr) attached_->SetSink(nullptr);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void OtlpExporter::Enqueue(const v1::Span& span) {
  absl::MutexLock lock(&mu_);
  if (queue_.size() >= limits::kOtlpQueueMax) {
    ++dropped_;
    return;
  }
  queue_.push_back(span);
}

void OtlpExporter::Loop() {
  while (true) {
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready),
                           absl::Milliseconds(limits::kOtlpExportIntervalMs));
      stopping = stopping_;
    }
    while (SendBatch()) {
    }
    if (stopping) return;
  }
}

bool OtlpExporter::SendBatch() {
  std::vector<v1::Span> batch;
  {
    absl::MutexLock lock(&mu_);
    while (!queue_.empty() && batch.size() < limits::kOtlpBatchMax) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  if (batch.empty()) return false;
  absl::Status posted = Post(ToOtlpJson(batch, service_));
  if (posted.ok()) {
    exported_ += static_cast<int64_t>(batch.size());
    return true;
  }
  dropped_ += static_cast<int64_t>(batch.size());
  LogWarning("cannot export spans; dropped them")
      .With("collector", absl::StrCat(host_, ":", port_))
      .With("spans", static_cast<int64_t>(batch.size()))
      .With("error", posted);
  return false;  // Try the rest at the next interval.
}

absl::Status OtlpExporter::Post(const std::string& body) const {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int err = getaddrinfo(host_.c_str(), port_.c_str(), &hints, &found); err != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host_, ": ", gai_strerror(err)));
  }
  int fd = -1;
  for (addrinfo* address = found; address != nullptr && fd < 0; address = address->ai_next) {
    fd = socket(address->ai_family, address->ai_socktype, address->ai_protocol);
    if (fd < 0) continue;
    timeval timeout{static_cast<time_t>(limits::kOtlpTimeoutMs / 1000),
                    static_cast<suseconds_t>((limits::kOtlpTimeoutMs % 1000) * 1000)};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (connect(fd, address->ai_addr, address->ai_addrlen) != 0) {
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot connect to ", host_, ":", port_));
  const std::string request =
      absl::StrCat("POST /v1/traces HTTP/1.1\r\nHost: ", host_, ":", port_,
                   "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                   "\r\nConnection: close\r\n\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      close(fd);
      return absl::UnavailableError("the collector closed the connection while we were sending");
    }
    sent += static_cast<size_t>(n);
  }
  char head[64] = {};
  const ssize_t n = recv(fd, head, sizeof(head) - 1, 0);
  close(fd);
  absl::string_view status_line(head, n > 0 ? static_cast<size_t>(n) : 0);
  // "HTTP/1.1 200 OK": any 2xx is accepted.
  if (status_line.size() < 12 || !absl::StartsWith(status_line, "HTTP/1.") ||
      status_line[9] != '2') {
    return absl::UnavailableError(absl::StrCat("the collector answered '",
                                               status_line.substr(0, status_line.find('\r')), "'"));
  }
  return absl::OkStatus();
}

}  // namespace fxmesh
