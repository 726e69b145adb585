#include "common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>

#include "absl/strings/str_cat.h"
#include "common/check.h"
#include "common/log.h"

namespace fxmesh {
namespace {

bool IsNameChar(char c, bool first, bool colon_allowed) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return colon_allowed;
  return !first && c >= '0' && c <= '9';
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names; label names are the same without ':'.
bool IsValidName(absl::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsNameChar(name[i], i == 0, colon_allowed)) return false;
  }
  return true;
}

// The format's two escaping rules: HELP text escapes backslash and newline; label values also
// escape the double quote, which would otherwise end the value.
void AppendEscaped(absl::string_view text, bool escape_quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '"' && escape_quote) {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// The shortest text that parses back to `value`, with the spellings Prometheus expects for the
// special values.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace

void MetricFamily::CheckArity(LabelValues values) const {
  FXMESH_CHECK(
      values.size() == label_names_.size(),
      absl::StrCat(name_, " has ", label_names_.size(), " labels; got ", values.size(), " values")
          .c_str());
}

void MetricFamily::RenderHeader(absl::string_view type, std::string* out) const {
  absl::StrAppend(out, "# HELP ", name_, " ");
  AppendEscaped(help_, /*escape_quote=*/false, out);
  absl::StrAppend(out, "\n# TYPE ", name_, " ", type, "\n");
}

void MetricFamily::RenderSample(absl::string_view suffix, const std::vector<std::string>& values,
                                absl::string_view le, absl::string_view value,
                                std::string* out) const {
  absl::StrAppend(out, name_, suffix);
  if (!values.empty() || !le.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(out, i == 0 ? "" : ",", label_names_[i], "=\"");
      AppendEscaped(values[i], /*escape_quote=*/true, out);
      out->push_back('"');
    }
    if (!le.empty()) absl::StrAppend(out, values.empty() ? "" : ",", "le=\"", le, "\"");
    out->push_back('}');
  }
  absl::StrAppend(out, " ", value, "\n");
}

void MetricFamily::RenderValue(const std::vector<std::string>& values, double value,
                               std::string* out) const {
  RenderSample("", values, "", FormatValue(value), out);
}

void CounterChild::Increment(double amount) {
  FXMESH_CHECK(amount >= 0, "a counter only goes up");
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Child::Child(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Child::Observe(double value) {
  // NaN is above no bound and below none; like Prometheus' own clients, count it only in +Inf.
  const size_t bucket =
      std::isnan(value) ? bounds_.size()
                        : std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::Child::CumulativeCounts() const {
  std::vector<uint64_t> cumulative(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i < cumulative.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    cumulative[i] = total;
  }
  return cumulative;
}

Histogram::Child& Histogram::With(LabelValues values) {
  CheckArity(values);
  return children_.Get(values, [this] { return std::make_unique<Child>(bounds_); });
}

void Histogram::Render(std::string* out) const {
  RenderHeader("histogram", out);
  children_.ForEach([&](const std::vector<std::string>& values, const Child& child) {
    // _count is the +Inf bucket as read here, not a separate counter, so the two always agree
    // even while observations race with the scrape.
    const std::vector<uint64_t> cumulative = child.CumulativeCounts();
    for (size_t i = 0; i < bounds_.size(); ++i) {
      RenderSample("_bucket", values, FormatValue(bounds_[i]), absl::StrCat(cumulative[i]), out);
    }
    const std::string count = absl::StrCat(cumulative.back());
    RenderSample("_bucket", values, "+Inf", count, out);
    RenderSample("_sum", values, "", FormatValue(child.sum()), out);
    RenderSample("_count", values, "", count, out);
  });
}

void GaugeSink::Set(LabelValues values, double value) {
  FXMESH_CHECK(values.size() == label_count_, "one label value per label name");
  values_[std::vector<std::string>(values.begin(), values.end())] = value;
}

// A gauge family whose samples a callback computes at each scrape.
class MetricsRegistry::CallbackGauge final : public MetricFamily {
 public:
  CallbackGauge(absl::string_view name, absl::string_view help,
                std::vector<std::string> label_names, GaugeCallback callback)
      : MetricFamily(name, help, std::move(label_names)), callback_(std::move(callback)) {}

  // Runs the callback and keeps what it reported for Render. The registry calls it for one
  // scrape at a time, so the callback never runs concurrently with itself.
  absl::Status Collect() {
    GaugeSink sink(label_names().size());
    absl::Status status;
    // An exception escaping here would end the server thread, and with it the process.
    try {
      status = callback_(sink);
    } catch (const std::exception& e) {
      status = absl::InternalError(absl::StrCat("gauge callback threw: ", e.what()));
    }
    absl::MutexLock lock(&mu_);
    status_ = status;
    values_ = status.ok() ? sink.values() : std::map<std::vector<std::string>, double>();
    return status;
  }

 private:
  void Render(std::string* out) const override {
    RenderHeader("gauge", out);
    absl::MutexLock lock(&mu_);
    if (!status_.ok()) {
      // A comment, which scrapers ignore, for whoever reads the page; it must stay on one line.
      std::string message(status_.ToString());
      std::replace_if(
          message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
      absl::StrAppend(out, "# ", name(), " not collected: ", message, "\n");
    }
    for (const auto& [values, value] : values_) RenderValue(values, value, out);
  }

  const GaugeCallback callback_;
  mutable absl::Mutex mu_;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::map<std::vector<std::string>, double> values_ ABSL_GUARDED_BY(mu_);
};

void MetricsRegistry::ReserveNames(absl::string_view name,
                                   const std::vector<std::string>& label_names,
                                   absl::Span<const absl::string_view> suffixes) {
  FXMESH_CHECK(IsValidName(name, /*colon_allowed=*/true),
               absl::StrCat("invalid metric name '", name, "'").c_str());
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    FXMESH_CHECK(IsValidName(label, /*colon_allowed=*/false) && label.rfind("__", 0) != 0,
                 absl::StrCat("invalid label name '", label, "' in ", name).c_str());
    FXMESH_CHECK(
        std::find(label_names.begin(), label_names.begin() + i, label) == label_names.begin() + i,
        absl::StrCat("label '", label, "' named twice in ", name).c_str());
  }
  FXMESH_CHECK(families_.count(std::string(name)) == 0,
               absl::StrCat("metric family '", name, "' registered twice").c_str());
  for (absl::string_view suffix : suffixes) {
    const std::string sample_name = absl::StrCat(name, suffix);
    FXMESH_CHECK(sample_names_.insert(sample_name).second,
                 absl::StrCat("metric '", sample_name, "' registered twice").c_str());
  }
}

template <typename FamilyT>
FamilyT& MetricsRegistry::Insert(std::unique_ptr<FamilyT> family) {
  FamilyT& inserted = *family;
  families_.emplace(inserted.name(), std::move(family));
  return inserted;
}

Counter& MetricsRegistry::AddCounter(absl::string_view name, absl::string_view help,
                                     const std::vector<std::string>& label_names) {
  absl::MutexLock lock(&mu_);
  ReserveNames(name, label_names, {""});
  return Insert(std::unique_ptr<Counter>(new Counter(name, help, label_names)));
}

Gauge& MetricsRegistry::AddGauge(absl::string_view name, absl::string_view help,
                                 const std::vector<std::string>& label_names) {
  absl::MutexLock lock(&mu_);
  ReserveNames(name, label_names, {""});
  return Insert(std::unique_ptr<Gauge>(new Gauge(name, help, label_names)));
}

Histogram& MetricsRegistry::AddHistogram(absl::string_view name, absl::string_view help,
                                         const std::vector<std::string>& label_names,
                                         absl::Span<const double> bucket_bounds) {
  FXMESH_CHECK(std::find(label_names.begin(), label_names.end(), "le") == label_names.end(),
               "a histogram's buckets own the label \"le\"");
  for (size_t i = 0; i < bucket_bounds.size(); ++i) {
    FXMESH_CHECK(std::isfinite(bucket_bounds[i]), "bucket bounds are finite; +Inf is implicit");
    FXMESH_CHECK(i == 0 || bucket_bounds[i - 1] < bucket_bounds[i],
                 "bucket bounds strictly increase");
  }
  absl::MutexLock lock(&mu_);
  ReserveNames(name, label_names, {"_bucket", "_sum", "_count"});
  return Insert(std::unique_ptr<Histogram>(new Histogram(name, help, label_names, bucket_bounds)));
}

void MetricsRegistry::AddGaugeCallback(absl::string_view name, absl::string_view help,
                                       const std::vector<std::string>& label_names,
                                       GaugeCallback callback) {
  FXMESH_CHECK(callback != nullptr, "a gauge callback is callable");
  absl::MutexLock lock(&mu_);
  ReserveNames(name, label_names, {""});
  if (callback_errors_ == nullptr) {
    ReserveNames(kCallbackErrorsMetric, {"metric"}, {""});
    callback_errors_ = &Insert(std::unique_ptr<Counter>(new Counter(
        kCallbackErrorsMetric, "Gauge callbacks that failed during a scrape.", {"metric"})));
  }
  callback_gauges_.push_back(
      &Insert(std::make_unique<CallbackGauge>(name, help, label_names, std::move(callback))));
  // The error count starts at zero rather than appearing at the first failure, so that
  // increase() over it sees that first failure.
  callback_errors_->With({name});
}

std::string MetricsRegistry::RenderPrometheusText() {
  absl::MutexLock render_lock(&render_mu_);
  std::vector<CallbackGauge*> callback_gauges;
  Counter* callback_errors;
  {
    absl::MutexLock lock(&mu_);
    callback_gauges = callback_gauges_;
    callback_errors = callback_errors_;
  }
  // Callbacks run first, without mu_: a slow database query then holds up only other scrapes,
  // and the error counter rendered below already counts this scrape's failures.
  for (CallbackGauge* gauge : callback_gauges) {
    const absl::Status status = gauge->Collect();
    if (!status.ok()) {
      callback_errors->With({gauge->name()}).Increment();
      LogWarning("metrics callback failed").With("metric", gauge->name()).With("error", status);
    }
  }
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

}  // namespace fxmesh
