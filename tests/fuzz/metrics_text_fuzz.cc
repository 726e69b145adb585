// Fuzzes the Prometheus text encoder (common/metrics.h) with any help text, label values and
// values: the page parses line by line under the exposition format 0.0.4 (read back here by a
// parser of its own), help text and label values unescape to exactly what was given, counters and
// gauges read back as their values (NaN and ±Inf spelled as Prometheus expects), and a histogram's
// buckets are cumulative and end in _count, the number of observations.
//
// Input: the help text, then groups of three lines: two label values (C escapes allowed) and a
// value ("1.5", "-inf", "nan", ...).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/metrics.h"
#include "common/printable.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

// Reads an escaped text up to an unescaped `end` (or the end of the line when `end` is 0).
std::string Unescape(absl::string_view* rest, char end, const std::string& page) {
  std::string text;
  while (true) {
    if (rest->empty()) {
      FUZZ_CHECK(end == 0, absl::StrCat("unterminated text in ", PrintableText(page, 400)));
      return text;
    }
    const char c = rest->front();
    rest->remove_prefix(1);
    if (end != 0 && c == end) return text;
    if (c != '\\') {
      text.push_back(c);
      continue;
    }
    FUZZ_CHECK(!rest->empty(), PrintableText(page, 400));
    const char escaped = rest->front();
    rest->remove_prefix(1);
    FUZZ_CHECK(escaped == '\\' || escaped == 'n' || (end == '"' && escaped == '"'),
               absl::StrCat("bad escape \\", std::string(1, escaped)));
    text.push_back(escaped == 'n' ? '\n' : escaped);
  }
}

double ParseValue(absl::string_view text, const std::string& page) {
  if (text == "NaN") return std::nan("");
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  FUZZ_CHECK(!copy.empty() && end == copy.c_str() + copy.size() && std::isfinite(value),
             absl::StrCat("value '", copy, "' in ", PrintableText(page, 400)));
  return value;
}

Sample ParseSample(absl::string_view line, const std::string& page) {
  Sample sample;
  const size_t name_end = line.find_first_of("{ ");
  FUZZ_CHECK(name_end != absl::string_view::npos, PrintableText(page, 400));
  sample.name = std::string(line.substr(0, name_end));
  absl::string_view rest = line.substr(name_end);
  if (absl::ConsumePrefix(&rest, "{")) {
    while (!absl::ConsumePrefix(&rest, "}")) {
      if (!sample.labels.empty()) FUZZ_CHECK(absl::ConsumePrefix(&rest, ","), std::string(line));
      const size_t equals = rest.find("=\"");
      FUZZ_CHECK(equals != absl::string_view::npos, PrintableText(page, 400));
      std::string name(rest.substr(0, equals));
      rest.remove_prefix(equals + 2);
      sample.labels.emplace_back(std::move(name), Unescape(&rest, '"', page));
    }
  }
  FUZZ_CHECK(absl::ConsumePrefix(&rest, " "), PrintableText(page, 400));
  sample.value = ParseValue(rest, page);
  return sample;
}

bool SameValue(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  const std::string help = lines.Text();
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("fuzz_total", help, {"a", "b"});
  Gauge& gauge = registry.AddGauge("fuzz_gauge", help, {"a", "b"});
  const double bounds[] = {-1, 0, 0.5, 1e300};
  Histogram& histogram = registry.AddHistogram("fuzz_seconds", help, {"a"}, bounds);

  std::map<Labels, double> counted, gauged;
  std::map<Labels, uint64_t> observed;
  while (!lines.done()) {
    const std::string a = lines.Text();
    const std::string b = lines.Text();
    double value = 0;
    if (!absl::SimpleAtod(lines.Raw(), &value)) value = 0;
    const Labels ab = {{"a", a}, {"b", b}};
    if (value >= 0) {
      counter.With({a, b}).Increment(value);
      counted[ab] += value;
    }
    gauge.With({a, b}).Set(value);
    gauged[ab] = value;
    histogram.With({a}).Observe(value);
    ++observed[{{"a", a}}];
  }

  const std::string page = registry.RenderPrometheusText();
  FUZZ_CHECK(page.empty() || page.back() == '\n', PrintableText(page, 400));
  std::map<std::string, std::map<Labels, double>> samples;
  std::map<Labels, std::vector<double>> buckets;
  for (absl::string_view line : absl::StrSplit(page, '\n', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&line, "# HELP ")) {
      line.remove_prefix(std::min(line.find(' ') + 1, line.size()));
      FUZZ_CHECK(Unescape(&line, 0, page) == help, PrintableText(page, 400));
      continue;
    }
    if (absl::StartsWith(line, "# TYPE ")) continue;
    FUZZ_CHECK(!absl::StartsWith(line, "#"), PrintableText(page, 400));
    Sample sample = ParseSample(line, page);
    if (sample.name == "fuzz_seconds_bucket") {
      FUZZ_CHECK(!sample.labels.empty() && sample.labels.back().first == "le", std::string(line));
      sample.labels.pop_back();
      buckets[sample.labels].push_back(sample.value);
      continue;
    }
    FUZZ_CHECK(samples[sample.name].emplace(sample.labels, sample.value).second,
               absl::StrCat("a sample twice: ", PrintableText(line, 200)));
  }
  for (const auto& [labels, value] : counted) {
    FUZZ_CHECK(
        samples["fuzz_total"].count(labels) == 1 && SameValue(samples["fuzz_total"][labels], value),
        PrintableText(page, 400));
  }
  for (const auto& [labels, value] : gauged) {
    FUZZ_CHECK(
        samples["fuzz_gauge"].count(labels) == 1 && SameValue(samples["fuzz_gauge"][labels], value),
        PrintableText(page, 400));
  }
  FUZZ_CHECK(buckets.size() == observed.size(), PrintableText(page, 400));
  for (const auto& [labels, count] : observed) {
    const std::vector<double>& cumulative = buckets[labels];
    FUZZ_CHECK(cumulative.size() == std::size(bounds) + 1, PrintableText(page, 400));
    for (size_t i = 1; i < cumulative.size(); ++i) {
      FUZZ_CHECK(cumulative[i - 1] <= cumulative[i], PrintableText(page, 400));
    }
    FUZZ_CHECK(cumulative.back() == static_cast<double>(count) &&
                   samples["fuzz_seconds_count"][labels] == static_cast<double>(count),
               PrintableText(page, 400));
  }
}

}  // namespace fxmesh::fuzz
