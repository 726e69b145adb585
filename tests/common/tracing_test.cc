// Proves span bookkeeping and export: traceparents parse and format per W3C; a ScopedSpan records
// into its Tracer as the child of the thread's current span (and of the trace's root otherwise);
// a Tracer keeps only its most recent spans; and the OTLP exporter POSTs valid OTLP/HTTP JSON to a
// real collector socket, while a collector that is away only costs dropped spans.
#include "common/tracing.h"

#include <arpa/inet.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/ids.h"
#include "common/otlp_exporter.h"

namespace fxmesh {
namespace {

TEST_CASE("traceparents parse strictly and format back", "[unit]") {
  const std::string saga = NewSagaId();
  const std::string header = absl::StrCat("00-", saga, "-0123456789abcdef-01");
  std::optional<TraceContext> parsed = TraceContext::Parse(header);
  REQUIRE(parsed.has_value());
  CHECK(parsed->trace_id == saga);
  CHECK(parsed->span_id == "0123456789abcdef");
  CHECK(parsed->ToTraceparent() == header);
  CHECK_FALSE(TraceContext::Parse("").has_value());
  CHECK_FALSE(TraceContext::Parse(absl::StrCat("01-", saga, "-0123456789abcdef-01")).has_value());
  CHECK_FALSE(TraceContext::Parse(absl::StrCat("00-", saga, "-0123456789ABCDEF-01")).has_value());
  CHECK_FALSE(TraceContext::Parse(absl::StrCat("00-", saga, "-0123456789abcdef")).has_value());
  CHECK_FALSE(TraceContext::Parse(absl::StrCat("00-", saga, "x0123456789abcdef-01")).has_value());
}

TEST_CASE("a detached span is no thread's current span and may end on another thread", "[unit]") {
  Tracer tracer("relay", 100);
  const std::string saga = NewSagaId();
  ScopedSpan scoped(&tracer, "step", saga);
  auto call = std::make_unique<ScopedSpan>(&tracer, "Cancel krw attempt 1", saga, "",
                                           ScopedSpan::Scope::kDetached);
  CHECK(CurrentSpan() == &scoped);
  {
    AdoptSpan adopted(call.get());  // Where the ledger call is started under it.
    CHECK(TraceparentFor(saga) == call->traceparent());
  }
  CHECK(CurrentSpan() == &scoped);
  std::thread([&] {
    call.reset();  // Answered on the transport's thread.
    CHECK(CurrentSpan() == nullptr);
  }).join();
  CHECK(CurrentSpan() == &scoped);
  const std::vector<v1::Span> spans = tracer.SpansOf(saga);
  REQUIRE(spans.size() == 1);
  CHECK(spans[0].name() == "Cancel krw attempt 1");
}

TEST_CASE("spans nest under the thread's current span and the trace's root", "[unit]") {
  Tracer tracer("coordinator", 100);
  const std::string saga = NewSagaId();
  std::string outer_id;
  {
    ScopedSpan outer(&tracer, "drive TRYING", saga);
    outer_id = outer.span_id();
    CHECK(TraceparentFor(saga) == outer.traceparent());
    {
      ScopedSpan inner(&tracer, "krw-ledger Try", saga, outer.span_id());
      inner.SetAttribute("branch", "krw");
      inner.SetStatus(absl::UnavailableError("ledger down"));
      CHECK(CurrentSpan() == &inner);
    }
    CHECK(CurrentSpan() == &outer);
    std::thread([&] {
      CHECK(CurrentSpan() == nullptr);
      AdoptSpan adopted(&outer);
      CHECK(TraceparentFor(saga) == outer.traceparent());
    }).join();
  }
  CHECK(CurrentSpan() == nullptr);
  CHECK(TraceparentFor(saga) == absl::StrCat("00-", saga, "-", saga.substr(0, 16), "-01"));

  const std::vector<v1::Span> spans = tracer.SpansOf(saga);
  REQUIRE(spans.size() == 2);  // Recorded as they end: inner first.
  CHECK(spans[0].name() == "krw-ledger Try");
  CHECK(spans[0].parent_span_id() == outer_id);
  CHECK(spans[0].attributes().at("branch") == "krw");
  CHECK_THAT(spans[0].error(), Catch::Contains("ledger down"));
  CHECK(spans[1].parent_span_id() == RootSpanId(saga));
  CHECK(spans[1].service() == "coordinator");
  CHECK(spans[1].end().seconds() >= spans[1].start().seconds());
  CHECK(tracer.SpansOf(NewSagaId()).empty());
}

TEST_CASE("a tracer keeps only its most recent spans", "[unit]") {
  Tracer tracer("relay", 3);
  const std::string saga = NewSagaId();
  for (int i = 0; i < 5; ++i) ScopedSpan span(&tracer, absl::StrCat("attempt ", i), saga);
  const std::vector<v1::Span> spans = tracer.SpansOf(saga);
  REQUIRE(spans.size() == 3);
  CHECK(spans.front().name() == "attempt 2");
  CHECK(spans.back().name() == "attempt 4");
}

// A collector on a real loopback socket: answers every POST 200 and keeps the bodies.
class FakeCollector {
 public:
  FakeCollector() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(fd_, 8) == 0);
    socklen_t length = sizeof(address);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeCollector() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> Bodies() {
    absl::MutexLock lock(&mu_);
    return bodies_;
  }

 private:
  void Serve() {
    while (true) {
      const int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      size_t needed = std::string::npos;
      while (needed == std::string::npos || request.size() < needed) {
        const ssize_t n = recv(client, buffer, sizeof(buffer), 0);
        if (n <= 0) break;
        request.append(buffer, n);
        const size_t head_end = request.find("\r\n\r\n");
        const size_t length_at = request.find("Content-Length: ");
        if (head_end != std::string::npos && length_at != std::string::npos) {
          size_t length = 0;
          (void)absl::SimpleAtoi(
              request.substr(length_at + 16, request.find("\r\n", length_at) - length_at - 16),
              &length);
          needed = head_end + 4 + length;
        }
      }
      const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      send(client, ok.data(), ok.size(), MSG_NOSIGNAL);
      close(client);
      absl::MutexLock lock(&mu_);
      if (absl::StartsWith(request, "POST /v1/traces HTTP/1.1\r\n"))
        bodies_.push_back(request.substr(request.find("\r\n\r\n") + 4));
    }
  }

  int fd_;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

TEST_CASE("the OTLP exporter posts valid OTLP JSON to a collector", "[integration]") {
  FakeCollector collector;
  Tracer tracer("coordinator", 100);
  absl::StatusOr<std::unique_ptr<OtlpExporter>> exporter =
      ExportSpans(absl::StrCat("http://127.0.0.1:", collector.port()), tracer);
  REQUIRE(exporter.ok());
  const std::string saga = NewSagaId();
  {
    ScopedSpan parent(&tracer, "exchange KRW→USD", saga);
    ScopedSpan child(&tracer, "fx-ledger \"Confirm\"", saga, parent.span_id());
    child.SetStatus(absl::DeadlineExceededError("no answer"));
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((*exporter)->exported() < 2 && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(20));
  CHECK((*exporter)->exported() == 2);
  const std::vector<std::string> bodies = collector.Bodies();
  REQUIRE(!bodies.empty());
  // Valid JSON, in OTLP's shape, with the ids in hex and the names intact.
  google::protobuf::Struct parsed;
  REQUIRE(google::protobuf::util::JsonStringToMessage(bodies[0], &parsed).ok());
  CHECK_THAT(bodies[0], Catch::Contains("{\"key\":\"service.name\",\"value\":{\"stringValue\":"
                                        "\"coordinator\"}}"));
  CHECK_THAT(bodies[0], Catch::Contains(absl::StrCat("\"traceId\":\"", saga, "\"")));
  CHECK_THAT(bodies[0], Catch::Contains("\"name\":\"exchange KRW→USD\""));
  CHECK_THAT(bodies[0], Catch::Contains("\"name\":\"fx-ledger \\\"Confirm\\\"\""));
  CHECK_THAT(bodies[0], Catch::Contains("\"status\":{\"code\":2,\"message\":"));
  CHECK_THAT(bodies[0], Catch::Contains("\"parentSpanId\":"));
}

TEST_CASE("a collector that is away costs dropped spans only and a bad endpoint is refused",
          "[integration]") {
  int port = 0;
  {
    FakeCollector gone;  // Binds a free port, then closes it.
    port = gone.port();
  }
  Tracer tracer("relay", 100);
  absl::StatusOr<std::unique_ptr<OtlpExporter>> exporter =
      ExportSpans(absl::StrCat("http://127.0.0.1:", port), tracer);
  REQUIRE(exporter.ok());
  { ScopedSpan span(&tracer, "Cancel krw attempt 1", NewSagaId()); }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((*exporter)->dropped() < 1 && absl::Now() < give_up)
    absl::SleepFor(absl::Milliseconds(20));
  CHECK((*exporter)->dropped() == 1);
  CHECK((*exporter)->exported() == 0);

  CHECK(absl::IsInvalidArgument(ExportSpans("127.0.0.1:4318", tracer).status()));
  CHECK(absl::IsInvalidArgument(ExportSpans("http://collector", tracer).status()));
  CHECK(absl::IsInvalidArgument(ExportSpans("http://collector:0", tracer).status()));
  CHECK(*ExportSpans("", tracer) == nullptr);
}

}  // namespace
}  // namespace fxmesh
