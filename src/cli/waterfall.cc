#include "cli/waterfall.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/proto_time.h"

namespace fxmesh::cli {
namespace {

constexpr const char* kReset = "\033[0m";
constexpr const char* kRed = "\033[31m";

const char* ServiceColor(const std::string& service) {
  if (service == "coordinator") return "\033[36m";
  if (service == "relay") return "\033[35m";
  if (service == "krw-ledger") return "\033[33m";
  if (service == "fx-ledger") return "\033[32m";
  return "\033[37m";
}

// Columns of text as the terminal shows them: UTF-8 continuation bytes take no column.
size_t Columns(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; });
}

std::string PadRight(const std::string& text, size_t width) {
  const size_t columns = Columns(text);
  return columns >= width ? text : text + std::string(width - columns, ' ');
}

}  // namespace

std::string RenderWaterfall(const std::vector<v1::Span>& spans, const WaterfallOptions& options) {
  if (spans.empty()) return "no spans\n";
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  std::set<std::string> ids;
  for (const v1::Span& span : spans) {
    first = std::min(first, ToTime(span.start()));
    last = std::max(last, ToTime(span.end()));
    ids.insert(span.span_id());
  }
  const absl::Duration total = std::max(last - first, absl::Microseconds(1));
  // Children by parent, each list in start order; spans with no kept parent are the roots.
  std::map<std::string, std::vector<const v1::Span*>> children;
  std::vector<const v1::Span*> roots;
  for (const v1::Span& span : spans) {
    if (ids.count(span.parent_span_id()) > 0 && span.parent_span_id() != span.span_id()) {
      children[span.parent_span_id()].push_back(&span);
    } else {
      roots.push_back(&span);
    }
  }
  auto by_start = [](const v1::Span* a, const v1::Span* b) {
    return ToTime(a->start()) < ToTime(b->start());
  };
  std::sort(roots.begin(), roots.end(), by_start);
  for (auto& [parent, list] : children) std::sort(list.begin(), list.end(), by_start);

  std::vector<std::pair<const v1::Span*, int>> rows;  // Span and depth, in drawing order.
  std::set<std::string> drawn;
  std::function<void(const v1::Span*, int)> visit = [&](const v1::Span* span, int depth) {
    if (!drawn.insert(span->span_id()).second) return;  // A cycle or a duplicate id.
    rows.emplace_back(span, depth);
    for (const v1::Span* child : children[span->span_id()]) visit(child, depth + 1);
  };
  for (const v1::Span* root : roots) visit(root, 0);

  size_t name_width = 0;
  for (const auto& [span, depth] : rows)
    name_width = std::max(name_width, 2 * depth + Columns(span->name()));
  const int width = std::max(options.bar_width, 10);
  std::string out = absl::StrFormat("trace %s: %d spans over %.1f ms\n", spans.front().trace_id(),
                                    rows.size(), absl::ToDoubleMilliseconds(total));
  for (const auto& [span, depth] : rows) {
    const absl::Duration offset = ToTime(span->start()) - first;
    const absl::Duration length = ToTime(span->end()) - ToTime(span->start());
    const int begin = static_cast<int>(absl::FDivDuration(offset, total) * width);
    const int cells =
        std::max(1, static_cast<int>(absl::FDivDuration(length, total) * width + 0.5));
    const int from = std::min(begin, width - 1);
    const int to = std::min(width, from + cells);
    std::string bar;
    for (int i = 0; i < width; ++i) bar += (i >= from && i < to) ? "█" : " ";
    std::string result;
    auto outcome = span->attributes().find("outcome");
    auto state = span->attributes().find("state");
    if (!span->error().empty()) {
      result = absl::StrCat("✗ ", span->error());
    } else if (outcome != span->attributes().end()) {
      result = outcome->second;
    } else if (state != span->attributes().end()) {
      result = state->second;
    }
    const std::string service = PadRight(span->service(), 12);
    const std::string name = PadRight(std::string(2 * depth, ' ') + span->name(), name_width);
    const std::string timing = absl::StrFormat("%9.1f ms", absl::ToDoubleMilliseconds(length));
    if (options.color) {
      absl::StrAppend(&out, ServiceColor(span->service()), service, kReset, " ", name, " |",
                      ServiceColor(span->service()), bar, kReset, "| ", timing, "  ",
                      span->error().empty() ? "" : kRed, result,
                      span->error().empty() ? "" : kReset, "\n");
    } else {
      absl::StrAppend(&out, service, " ", name, " |", bar, "| ", timing, "  ", result, "\n");
    }
  }
  return out;
}

}  // namespace fxmesh::cli
