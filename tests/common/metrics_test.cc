// Proves the metrics registry renders exactly the Prometheus text format (labels, escaping,
// cumulative histograms, callback gauges and their failures), that concurrent updates add up,
// that misuse fails a check (in a forked child), and that the HTTP endpoint answers real socket
// clients, survives bad ones, and stops promptly.
#include "common/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/metrics_http_server.h"
#include "tests/support/http_client.h"

namespace fxmesh {
namespace {

TEST_CASE("counters and gauges render HELP, TYPE and labelled samples, ordered by name", "[unit]") {
  MetricsRegistry registry;
  Gauge& depth = registry.AddGauge("fxmesh_queue_depth", "Tasks waiting.");
  Counter& calls =
      registry.AddCounter("fxmesh_calls_total", "Calls by outcome.", {"method", "outcome"});
  calls.With({"Exchange", "ok"}).Increment();
  calls.With({"Exchange", "ok"}).Increment(2);
  calls.With({"Exchange", "failed"}).Increment(0.5);
  depth.With({}).Set(7);
  depth.With({}).Add(-2);

  CHECK(registry.RenderPrometheusText() ==
        "# HELP fxmesh_calls_total Calls by outcome.\n"
        "# TYPE fxmesh_calls_total counter\n"
        "fxmesh_calls_total{method=\"Exchange\",outcome=\"failed\"} 0.5\n"
        "fxmesh_calls_total{method=\"Exchange\",outcome=\"ok\"} 3\n"
        "# HELP fxmesh_queue_depth Tasks waiting.\n"
        "# TYPE fxmesh_queue_depth gauge\n"
        "fxmesh_queue_depth 5\n");
}

TEST_CASE("children are created once and stay where they are", "[unit]") {
  MetricsRegistry registry;
  Counter& calls = registry.AddCounter("calls_total", "Calls.", {"outcome"});
  Counter::Child& ok = calls.With({"ok"});
  for (int i = 0; i < 1000; ++i) calls.With({absl::StrCat("other", i)});
  const std::string looked_up_again = "ok";
  CHECK(&calls.With({looked_up_again}) == &ok);
  ok.Increment();
  CHECK(calls.With({"ok"}).value() == 1);
}

TEST_CASE("label values and help text are escaped as the format requires", "[unit]") {
  MetricsRegistry registry;
  Gauge& gauge =
      registry.AddGauge("escapes", "A \\ backslash,\na \"quoted\" word.", {"value", "plain"});
  gauge.With({"a\"b\\c\nd", "x"}).Set(1);

  CHECK(registry.RenderPrometheusText() ==
        "# HELP escapes A \\\\ backslash,\\na \"quoted\" word.\n"
        "# TYPE escapes gauge\n"
        "escapes{value=\"a\\\"b\\\\c\\nd\",plain=\"x\"} 1\n");
}

TEST_CASE("values are written as Prometheus spells them", "[unit]") {
  MetricsRegistry registry;
  Gauge& gauge = registry.AddGauge("values", "Values.", {"case"});
  gauge.With({"a_integer"}).Set(1234567);
  gauge.With({"b_fraction"}).Set(0.1);
  gauge.With({"c_tiny"}).Set(1e-7);
  gauge.With({"d_negative"}).Set(-2.5);
  gauge.With({"e_plus_inf"}).Set(std::numeric_limits<double>::infinity());
  gauge.With({"f_minus_inf"}).Set(-std::numeric_limits<double>::infinity());
  gauge.With({"g_nan"}).Set(std::nan(""));

  CHECK(registry.RenderPrometheusText() ==
        "# HELP values Values.\n"
        "# TYPE values gauge\n"
        "values{case=\"a_integer\"} 1234567\n"
        "values{case=\"b_fraction\"} 0.1\n"
        "values{case=\"c_tiny\"} 1e-07\n"
        "values{case=\"d_negative\"} -2.5\n"
        "values{case=\"e_plus_inf\"} +Inf\n"
        "values{case=\"f_minus_inf\"} -Inf\n"
        "values{case=\"g_nan\"} NaN\n");
}

TEST_CASE("histogram buckets are cumulative, inclusive, end in +Inf, then _sum and _count",
          "[unit]") {
  MetricsRegistry registry;
  Histogram& latency =
      registry.AddHistogram("fxmesh_call_seconds", "Call latency.", {"op"}, {0.5, 1, 10});
  Histogram::Child& quote = latency.With({"quote"});
  // 0.5 sits exactly on a bound and counts in it; 50 is above every bound.
  for (double seconds : {0.25, 0.5, 0.75, 5.0, 50.0}) quote.Observe(seconds);

  CHECK(registry.RenderPrometheusText() ==
        "# HELP fxmesh_call_seconds Call latency.\n"
        "# TYPE fxmesh_call_seconds histogram\n"
        "fxmesh_call_seconds_bucket{op=\"quote\",le=\"0.5\"} 2\n"
        "fxmesh_call_seconds_bucket{op=\"quote\",le=\"1\"} 3\n"
        "fxmesh_call_seconds_bucket{op=\"quote\",le=\"10\"} 4\n"
        "fxmesh_call_seconds_bucket{op=\"quote\",le=\"+Inf\"} 5\n"
        "fxmesh_call_seconds_sum{op=\"quote\"} 56.5\n"
        "fxmesh_call_seconds_count{op=\"quote\"} 5\n");
}

TEST_CASE("the default latency buckets count every observation in each bucket above it", "[unit]") {
  MetricsRegistry registry;
  Histogram& latency =
      registry.AddHistogram("latency_seconds", "Latency.", {}, kLatencyBucketsSeconds);
  Histogram::Child& child = latency.With({});
  child.Observe(0.003);
  child.Observe(0.2);
  child.Observe(20);
  child.Observe(std::nan(""));  // Counted only in +Inf.

  const std::vector<uint64_t> cumulative = child.CumulativeCounts();
  const size_t bounds = std::size(kLatencyBucketsSeconds);
  REQUIRE(cumulative.size() == bounds + 1);
  for (size_t i = 0; i < bounds; ++i) {
    const double bound = kLatencyBucketsSeconds[i];
    const uint64_t expected = (bound >= 0.003 ? 1 : 0) + (bound >= 0.2 ? 1 : 0);
    INFO("le=" << bound);
    CHECK(cumulative[i] == expected);
  }
  CHECK(cumulative[bounds] == 4);

  const std::string text = registry.RenderPrometheusText();
  CHECK_THAT(text, Catch::Contains("latency_seconds_bucket{le=\"0.001\"} 0\n"
                                   "latency_seconds_bucket{le=\"0.0025\"} 0\n"
                                   "latency_seconds_bucket{le=\"0.005\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("latency_seconds_bucket{le=\"10\"} 2\n"
                                   "latency_seconds_bucket{le=\"+Inf\"} 4\n"
                                   "latency_seconds_sum NaN\n"
                                   "latency_seconds_count 4\n"));
}

TEST_CASE("concurrent updates from several threads all count", "[unit][concurrency]") {
  MetricsRegistry registry;
  Counter& calls = registry.AddCounter("calls_total", "Calls.", {"thread_group"});
  Gauge& level = registry.AddGauge("level", "Level.");
  Histogram& sizes = registry.AddHistogram("sizes", "Sizes.", {}, {1, 2});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20'000;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Two threads share each child, and every lookup races with the others' creations.
      const std::string group = absl::StrCat("g", t / 2);
      for (int i = 0; i < kPerThread; ++i) {
        calls.With({group}).Increment();
        calls.With({"all"}).Increment(0.5);
        level.With({}).Add(1);
        sizes.With({}).Observe(i % 3);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int g = 0; g < kThreads / 2; ++g) {
    CHECK(calls.With({absl::StrCat("g", g)}).value() == 2 * kPerThread);
  }
  CHECK(calls.With({"all"}).value() == kThreads * kPerThread * 0.5);
  CHECK(level.With({}).value() == kThreads * kPerThread);
  const std::vector<uint64_t> cumulative = sizes.With({}).CumulativeCounts();
  CHECK(cumulative.back() == uint64_t{kThreads} * kPerThread);
  // Observations of 0 and 1 fall at or below le="1"; those of 2 (every third i) do not.
  CHECK(cumulative[0] == uint64_t{kThreads} * (kPerThread - kPerThread / 3));
  CHECK(cumulative[1] == uint64_t{kThreads} * kPerThread);
  CHECK_THAT(registry.RenderPrometheusText(),
             Catch::Contains(absl::StrCat("calls_total{thread_group=\"all\"} ",
                                          kThreads * kPerThread / 2, "\n")));
}

TEST_CASE("callback gauges are computed at each scrape", "[unit]") {
  MetricsRegistry registry;
  int scrapes = 0;
  registry.AddGaugeCallback("fxmesh_sagas", "Sagas by state.", {"state"},
                            [&scrapes](GaugeSink& sink) {
                              ++scrapes;
                              sink.Set({"DONE"}, 10 * scrapes);
                              sink.Set({"RUNNING"}, 1);
                              sink.Set({"RUNNING"}, 2);  // Replaces the 1.
                              return absl::OkStatus();
                            });
  const std::string expected_errors =
      "# HELP fxmesh_metrics_callback_errors_total Gauge callbacks that failed during a scrape.\n"
      "# TYPE fxmesh_metrics_callback_errors_total counter\n"
      "fxmesh_metrics_callback_errors_total{metric=\"fxmesh_sagas\"} 0\n";
  CHECK(registry.RenderPrometheusText() == expected_errors +
                                               "# HELP fxmesh_sagas Sagas by state.\n"
                                               "# TYPE fxmesh_sagas gauge\n"
                                               "fxmesh_sagas{state=\"DONE\"} 10\n"
                                               "fxmesh_sagas{state=\"RUNNING\"} 2\n");
  CHECK_THAT(registry.RenderPrometheusText(), Catch::Contains("fxmesh_sagas{state=\"DONE\"} 20\n"));
  CHECK(scrapes == 2);
}

TEST_CASE("a failing callback gauge is counted and noted, and the scrape still succeeds",
          "[unit]") {
  MetricsRegistry registry;
  registry.AddCounter("fxmesh_calls_total", "Calls.").With({}).Increment();
  bool database_down = true;
  registry.AddGaugeCallback("fxmesh_outbox_backlog", "Outbox rows not yet sent.", {},
                            [&database_down](GaugeSink& sink) {
                              sink.Set({}, 5);  // Dropped when the callback then fails.
                              if (database_down) {
                                return absl::UnavailableError("database down\nretry later");
                              }
                              return absl::OkStatus();
                            });

  const std::string failed = registry.RenderPrometheusText();
  CHECK_THAT(failed,
             Catch::Contains("# TYPE fxmesh_outbox_backlog gauge\n"
                             "# fxmesh_outbox_backlog not collected: UNAVAILABLE: database down "
                             "retry later\n"));
  CHECK_FALSE(absl::StrContains(failed, "fxmesh_outbox_backlog 5"));
  CHECK_THAT(failed,
             Catch::Contains(
                 "fxmesh_metrics_callback_errors_total{metric=\"fxmesh_outbox_backlog\"} 1\n"));
  CHECK_THAT(failed, Catch::Contains("fxmesh_calls_total 1\n"));

  database_down = false;
  const std::string recovered = registry.RenderPrometheusText();
  CHECK_THAT(recovered, Catch::Contains("fxmesh_outbox_backlog 5\n"));
  CHECK_FALSE(absl::StrContains(recovered, "not collected"));
  CHECK_THAT(recovered,
             Catch::Contains(
                 "fxmesh_metrics_callback_errors_total{metric=\"fxmesh_outbox_backlog\"} 1\n"));
}

TEST_CASE("a callback gauge that throws is counted like one that fails", "[unit]") {
  MetricsRegistry registry;
  registry.AddGaugeCallback("fxmesh_thrower", "Throws.", {}, [](GaugeSink&) -> absl::Status {
    throw std::runtime_error("connection lost");
  });
  const std::string text = registry.RenderPrometheusText();
  CHECK_THAT(text, Catch::Contains("# fxmesh_thrower not collected: INTERNAL: gauge callback "
                                   "threw: connection lost\n"));
  CHECK_THAT(
      text, Catch::Contains("fxmesh_metrics_callback_errors_total{metric=\"fxmesh_thrower\"} 1\n"));
}

// Runs `misuse` in a forked child and reports whether it aborted, as a failed FXMESH_CHECK does.
bool Aborts(const std::function<void(MetricsRegistry&)>& misuse) {
  const pid_t pid = fork();
  if (pid == 0) {
    // The child dies of SIGABRT itself, without Catch's handler reporting a failure from it,
    // and its check message would only clutter the test output.
    std::signal(SIGABRT, SIG_DFL);
    if (std::freopen("/dev/null", "w", stderr) == nullptr) _exit(2);
    MetricsRegistry registry;
    registry.AddCounter("taken_total", "Taken.", {"label"});
    misuse(registry);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST_CASE("invalid names, duplicates and misuse fail a check", "[unit]") {
  // Valid uses, so that the cases below abort for their own reason and not the harness's.
  CHECK_FALSE(Aborts([](MetricsRegistry& r) { r.AddGauge("ns:sub_name9", "Ok.", {"_a", "b1"}); }));
  CHECK_FALSE(Aborts([](MetricsRegistry& r) { r.AddHistogram("h", "Ok.", {"x"}, {}); }));
  CHECK_FALSE(Aborts([](MetricsRegistry& r) { r.AddCounter("taken", "Ok."); }));

  CHECK(Aborts([](MetricsRegistry& r) { r.AddCounter("", "Empty."); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddCounter("9lives", "Digit first."); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddCounter("has-dash", "Dash."); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddGauge("taken_total", "Duplicate."); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddGauge("g", "Label colon.", {"a:b"}); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddGauge("g", "Reserved label.", {"__name"}); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddGauge("g", "Label twice.", {"a", "a"}); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddHistogram("h", "Owns le.", {"le"}, {1}); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddHistogram("h", "Not increasing.", {}, {1, 1}); }));
  CHECK(Aborts([](MetricsRegistry& r) {
    r.AddHistogram("h", "Explicit +Inf.", {}, {1, std::numeric_limits<double>::infinity()});
  }));
  // A histogram's derived sample names clash with other families, either way round.
  CHECK(Aborts([](MetricsRegistry& r) {
    r.AddHistogram("h", "Histogram.", {}, {1});
    r.AddCounter("h_count", "Clash.");
  }));
  // Two families of one name, though their sample names differ.
  CHECK(Aborts([](MetricsRegistry& r) { r.AddHistogram("taken_total", "Clash.", {}, {1}); }));
  CHECK(Aborts([](MetricsRegistry& r) {
    r.AddHistogram("h", "Histogram.", {}, {1});
    r.AddGauge("h", "Clash.");
  }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddGaugeCallback("cb", "No callback.", {}, nullptr); }));
  CHECK(Aborts([](MetricsRegistry& r) {
    r.AddGaugeCallback("cb", "Wrong arity.", {"state"}, [](GaugeSink& sink) {
      sink.Set({}, 1);
      return absl::OkStatus();
    });
    r.RenderPrometheusText();
  }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddCounter("c", "Arity.", {"a"}).With({}); }));
  CHECK(Aborts([](MetricsRegistry& r) { r.AddCounter("c", "Down.").With({}).Increment(-1); }));
}

// --- The HTTP endpoint, over real sockets on 127.0.0.1. ---

using testing::HttpClient;
using testing::HttpExchange;
using testing::HttpGet;
using testing::HttpResponse;

std::unique_ptr<MetricsHttpServer> StartServer(MetricsRegistry& registry) {
  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> server =
      MetricsHttpServer::Start("127.0.0.1:0", registry);
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);
  return std::move(*server);
}

TEST_CASE("the endpoint serves /metrics and /healthz, 404 elsewhere, 405 for other methods",
          "[integration]") {
  MetricsRegistry registry;
  registry.AddCounter("fxmesh_calls_total", "Calls.", {"outcome"}).With({"ok"}).Increment(3);
  std::unique_ptr<MetricsHttpServer> server = StartServer(registry);

  const HttpResponse metrics = HttpGet(server->port(), "/metrics");
  CHECK(metrics.status_line == "HTTP/1.1 200 OK");
  CHECK_THAT(metrics.headers,
             Catch::Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  CHECK_THAT(metrics.headers, Catch::Contains("Connection: close\r\n"));
  const std::string expected_body =
      "# HELP fxmesh_calls_total Calls.\n"
      "# TYPE fxmesh_calls_total counter\n"
      "fxmesh_calls_total{outcome=\"ok\"} 3\n";
  CHECK(metrics.body == expected_body);
  CHECK_THAT(metrics.headers,
             Catch::Contains(absl::StrCat("Content-Length: ", expected_body.size(), "\r\n")));

  // A query string does not change the path; the page is rendered anew for each scrape.
  registry.AddGauge("fxmesh_late", "Registered after start.").With({}).Set(1);
  CHECK_THAT(HttpGet(server->port(), "/metrics?debug=1").body, Catch::Contains("fxmesh_late 1\n"));

  const HttpResponse health = HttpGet(server->port(), "/healthz");
  CHECK(health.status_line == "HTTP/1.1 200 OK");
  CHECK(health.body == "ok");

  CHECK(HttpGet(server->port(), "/").status_line == "HTTP/1.1 404 Not Found");
  CHECK(HttpGet(server->port(), "/metricsx").status_line == "HTTP/1.1 404 Not Found");

  const HttpResponse post =
      HttpExchange(server->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  CHECK(post.status_line == "HTTP/1.1 405 Method Not Allowed");
  CHECK_THAT(post.headers, Catch::Contains("Allow: GET\r\n"));
  CHECK(HttpExchange(server->port(), "HEAD /metrics HTTP/1.0\r\n\r\n").status_line ==
        "HTTP/1.1 405 Method Not Allowed");
  // Bare LF line endings, as some tools send them.
  CHECK(HttpExchange(server->port(), "GET /healthz HTTP/1.0\n\n").body == "ok");
}

TEST_CASE("garbage, oversized requests and vanishing clients do not stop the endpoint",
          "[integration]") {
  MetricsRegistry registry;
  // A page of a few megabytes, so that a client that leaves without reading makes the server's
  // later writes fail (EPIPE), which must not raise SIGPIPE and kill this process.
  Gauge& big = registry.AddGauge("big", "Many children.", {"name"});
  for (int i = 0; i < 40'000; ++i) big.With({absl::StrCat(std::string(60, 'x'), i)}).Set(i);
  std::unique_ptr<MetricsHttpServer> server = StartServer(registry);
  const int port = server->port();

  CHECK(HttpExchange(port, "\x01\x02\xff garbage\r\n\r\n").status_line ==
        "HTTP/1.1 400 Bad Request");
  CHECK(HttpExchange(port, "GET\r\n\r\n").status_line == "HTTP/1.1 400 Bad Request");
  CHECK(HttpExchange(port, "GET metrics HTTP/1.1\r\n\r\n").status_line ==
        "HTTP/1.1 400 Bad Request");
  CHECK(HttpExchange(port, "GET /metrics SMTP/1.0\r\n\r\n").status_line ==
        "HTTP/1.1 400 Bad Request");
  CHECK(HttpExchange(port, "GET /healthz HTTP/1.1\r\nX-Long: " +
                               std::string(limits::kMetricsRequestBytesMax + 1000, 'a') +
                               "\r\n\r\n")
            .status_line == "HTTP/1.1 431 Request Header Fields Too Large");

  {
    HttpClient silent(port);  // Connects and leaves.
  }
  {
    HttpClient partial(port);
    partial.Send("GET /met");
  }
  for (int i = 0; i < 3; ++i) {
    HttpClient impatient(port);
    impatient.Send("GET /metrics HTTP/1.1\r\n\r\n");
  }

  CHECK(HttpGet(port, "/healthz").body == "ok");
  CHECK(HttpGet(port, "/metrics").body == registry.RenderPrometheusText());
}

TEST_CASE("a client that sends nothing gets 408 after the request timeout", "[integration]") {
  MetricsRegistry registry;
  std::unique_ptr<MetricsHttpServer> server = StartServer(registry);
  {
    HttpClient slow(server->port());
    REQUIRE(slow.connected());
    const auto start = std::chrono::steady_clock::now();
    const std::string answer = slow.ReadAll();
    const auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    CHECK(absl::StartsWith(answer, "HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(waited_ms >= limits::kMetricsRequestTimeoutMs - 100);
  }
  CHECK(HttpGet(server->port(), "/healthz").body == "ok");
}

TEST_CASE("Start reports a bad or busy address", "[integration]") {
  MetricsRegistry registry;
  std::unique_ptr<MetricsHttpServer> first = StartServer(registry);

  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> second =
      MetricsHttpServer::Start(absl::StrCat("127.0.0.1:", first->port()), registry);
  CHECK(absl::IsUnavailable(second.status()));
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("in use"));

  CHECK(absl::IsInvalidArgument(MetricsHttpServer::Start("no-port", registry).status()));
  CHECK(absl::IsInvalidArgument(MetricsHttpServer::Start("127.0.0.1:99999", registry).status()));
  CHECK(absl::IsInvalidArgument(MetricsHttpServer::Start("127.0.0.1:http", registry).status()));

  absl::StatusOr<std::unique_ptr<MetricsHttpServer>> bracketed =
      MetricsHttpServer::Start("[127.0.0.1]:0", registry);
  CHECK(bracketed.ok());
}

TEST_CASE("Stop is prompt even while a client holds a connection open", "[integration]") {
  MetricsRegistry registry;
  std::unique_ptr<MetricsHttpServer> server = StartServer(registry);
  const int port = server->port();
  HttpClient idle(port);
  REQUIRE(idle.connected());
  idle.Send("GET /metr");  // Half a request: the server is now waiting for the rest.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  const auto start = std::chrono::steady_clock::now();
  server->Stop();
  const auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  CHECK(stop_ms < limits::kMetricsRequestTimeoutMs / 5);
  CHECK_FALSE(HttpClient(port).connected());
  server->Stop();  // Idempotent; the destructor stops once more.
}

}  // namespace
}  // namespace fxmesh
