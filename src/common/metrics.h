// Prometheus metrics: a registry of counter, gauge and histogram families that renders itself in
// the Prometheus text exposition format 0.0.4, for MetricsHttpServer to serve at /metrics.
//
//   MetricsRegistry registry;
//   Counter& calls = registry.AddCounter("fxmesh_calls_total", "Calls by outcome.", {"outcome"});
//   Counter::Child& ok = calls.With({"ok"});  // Look a child up once, keep the reference.
//   ok.Increment();
//
// A family is registered once, at startup; registering an invalid or duplicate name, or asking a
// family for the wrong number of label values, is a programmer error and fails a FXMESH_CHECK.
// Families and children live as long as the registry and never move, so references to them stay
// valid. Everything here is thread-safe: updating a child is a lock-free atomic operation, and
// With() takes the family's lock (shared, unless it creates the child).
//
// Label values should come from a small, bounded set (outcomes, states, currencies): every
// distinct combination is a child kept for the life of the process.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/internal/metric_children.h"

namespace fxmesh {

// Histogram buckets for latencies in seconds, from 1 ms to 10 s. Name such histograms
// `..._seconds` and observe seconds (absl::ToDoubleSeconds).
inline constexpr double kLatencyBucketsSeconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,  0.5,    1,     2.5,  5,     10};

// Label values, in the order of the family's label names.
using LabelValues = absl::Span<const absl::string_view>;

// The part every family shares: its name, help and label names, and how it renders.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  const std::string& name() const { return name_; }

 protected:
  MetricFamily(absl::string_view name, absl::string_view help, std::vector<std::string> label_names)
      : name_(name), help_(help), label_names_(std::move(label_names)) {}

  const std::vector<std::string>& label_names() const { return label_names_; }
  // Fails a check unless `values` has one value per label name.
  void CheckArity(LabelValues values) const;
  // Appends the # HELP and # TYPE lines.
  void RenderHeader(absl::string_view type, std::string* out) const;
  // Appends one sample: `<name><suffix>{<labels>} <value>`, where the labels are the family's
  // with `values`, then le="<le>" unless `le` is empty.
  void RenderSample(absl::string_view suffix, const std::vector<std::string>& values,
                    absl::string_view le, absl::string_view value, std::string* out) const;
  // Appends the sample of a counter or gauge child.
  void RenderValue(const std::vector<std::string>& values, double value, std::string* out) const;

 private:
  friend class MetricsRegistry;
  // Appends the whole family in the text exposition format.
  virtual void Render(std::string* out) const = 0;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// One number, updated atomically: what a counter or gauge child holds.
class AtomicValue {
 public:
  double value() const { return value_.load(std::memory_order_relaxed); }

 protected:
  std::atomic<double> value_{0};
};

class CounterChild final : public AtomicValue {
 public:
  // `amount` must not be negative (nor NaN).
  void Increment(double amount = 1);
};

class GaugeChild final : public AtomicValue {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
};

// What counters and gauges share: a family of children that each hold one number.
template <typename ChildT>
class ValueFamily : public MetricFamily {
 public:
  using Child = ChildT;

  // The child with these label values, created at zero on first use.
  Child& With(LabelValues values) {
    CheckArity(values);
    return children_.Get(values, [] { return std::make_unique<Child>(); });
  }

 protected:
  ValueFamily(absl::string_view name, absl::string_view help, std::vector<std::string> label_names,
              absl::string_view type)
      : MetricFamily(name, help, std::move(label_names)), type_(type) {}

 private:
  void Render(std::string* out) const override {
    RenderHeader(type_, out);
    children_.ForEach([&](const std::vector<std::string>& values, const Child& child) {
      RenderValue(values, child.value(), out);
    });
  }

  const absl::string_view type_;  // A literal.
  metrics_internal::ChildMap<Child> children_;
};

// A value that only goes up (calls, failures, bytes): rendered as TYPE counter.
class Counter final : public ValueFamily<CounterChild> {
 private:
  friend class MetricsRegistry;
  Counter(absl::string_view name, absl::string_view help, std::vector<std::string> label_names)
      : ValueFamily(name, help, std::move(label_names), "counter") {}
};

// A value that goes up and down (queue depth, open connections): rendered as TYPE gauge.
class Gauge final : public ValueFamily<GaugeChild> {
 private:
  friend class MetricsRegistry;
  Gauge(absl::string_view name, absl::string_view help, std::vector<std::string> label_names)
      : ValueFamily(name, help, std::move(label_names), "gauge") {}
};

// A distribution (latencies, batch sizes) counted into fixed buckets: rendered as TYPE histogram,
// with cumulative `_bucket{le="..."}` lines ending in le="+Inf", then `_sum` and `_count`.
class Histogram final : public MetricFamily {
 public:
  class Child {
   public:
    explicit Child(const std::vector<double>& bounds);
    void Observe(double value);

    // How many observations fell at or below each bound, in bound order, then all of them.
    std::vector<uint64_t> CumulativeCounts() const;
    double sum() const { return sum_.load(std::memory_order_relaxed); }

   private:
    const std::vector<double>& bounds_;
    // Observations per bucket, not cumulative: counts_[i] holds those in (bounds_[i-1],
    // bounds_[i]]; the last holds those above every bound (and NaN).
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
  };

  // The child with these label values, created empty on first use.
  Child& With(LabelValues values);

 private:
  friend class MetricsRegistry;
  Histogram(absl::string_view name, absl::string_view help, std::vector<std::string> label_names,
            absl::Span<const double> bounds)
      : MetricFamily(name, help, std::move(label_names)), bounds_(bounds.begin(), bounds.end()) {}
  void Render(std::string* out) const override;

  const std::vector<double> bounds_;
  metrics_internal::ChildMap<Child> children_;
};

// What a gauge callback reports its values into.
class GaugeSink {
 public:
  explicit GaugeSink(size_t label_count) : label_count_(label_count) {}

  // Sets the value for these label values (one per label name of the family); a second Set for
  // the same label values replaces the first.
  void Set(LabelValues values, double value);

  const std::map<std::vector<std::string>, double>& values() const { return values_; }

 private:
  const size_t label_count_;
  std::map<std::vector<std::string>, double> values_;
};

// Owns every metric family of a process and renders them all.
class MetricsRegistry {
 public:
  // Computes a gauge family when scraped, e.g. by counting outbox rows in the database. It runs
  // on the scraping thread, never concurrently with itself (scrapes are serialized), and must not
  // render the registry. It may block, but should bound its own time (a statement timeout): the
  // scrape, and MetricsHttpServer::Stop, wait for it. An error drops the family's samples from
  // that scrape, which still succeeds: the error is logged, noted in a comment line, and counted
  // in kCallbackErrorsMetric{metric="<name>"}.
  using GaugeCallback = std::function<absl::Status(GaugeSink&)>;

  // Counts failed gauge callbacks, labelled by the failing family's name.
  static constexpr char kCallbackErrorsMetric[] = "fxmesh_metrics_callback_errors_total";

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* without a leading
  // "__". The returned family lives as long as the registry.
  Counter& AddCounter(absl::string_view name, absl::string_view help,
                      const std::vector<std::string>& label_names = {});
  Gauge& AddGauge(absl::string_view name, absl::string_view help,
                  const std::vector<std::string>& label_names = {});
  // `bucket_bounds`: finite and strictly increasing; the +Inf bucket is implicit. A histogram may
  // not have a label named "le".
  Histogram& AddHistogram(absl::string_view name, absl::string_view help,
                          const std::vector<std::string>& label_names,
                          absl::Span<const double> bucket_bounds);
  void AddGaugeCallback(absl::string_view name, absl::string_view help,
                        const std::vector<std::string>& label_names, GaugeCallback callback);

  // Every family, ordered by name, in the Prometheus text exposition format 0.0.4. Runs the gauge
  // callbacks first, so it may block for as long as they do.
  std::string RenderPrometheusText();

 private:
  class CallbackGauge;

  // Checks the names and that no family has this one yet, then reserves every sample name the
  // family will render, so that no two families ever render the same series (a histogram "x"
  // reserves "x_bucket", "x_sum" and "x_count").
  void ReserveNames(absl::string_view name, const std::vector<std::string>& label_names,
                    absl::Span<const absl::string_view> suffixes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  template <typename FamilyT>
  FamilyT& Insert(std::unique_ptr<FamilyT> family) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Held for a whole scrape, so that callbacks never run concurrently.
  absl::Mutex render_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::set<std::string> sample_names_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<MetricFamily>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<CallbackGauge*> callback_gauges_ ABSL_GUARDED_BY(mu_);
  Counter* callback_errors_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace fxmesh
