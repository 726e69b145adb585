#include "tests/fuzz/fuzz_support.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fxmesh::fuzz {

void Fail(const char* condition, absl::string_view detail, const char* file, int line) {
  std::fprintf(stderr, "fuzz check failed at %s:%d: %s\n  %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

absl::string_view Lines::Raw() {
  const size_t end = rest_.find('\n');
  absl::string_view line = rest_.substr(0, end);
  rest_.remove_prefix(end == absl::string_view::npos ? rest_.size() : end + 1);
  return line;
}

std::string Lines::Text() {
  const absl::string_view raw = Raw();
  std::string text;
  if (!absl::CUnescape(raw, &text)) text = std::string(raw);
  return text;
}

int64_t Lines::Int() {
  int64_t value = 0;
  if (!absl::SimpleAtoi(Raw(), &value)) value = 0;
  return value;
}

bool IsValidUtf8(absl::string_view text) {
  // The well-formed byte sequences of the Unicode Standard, table 3-7: each row gives the range
  // of the first byte and of the second; any further bytes are 80..BF.
  struct Row {
    unsigned char first_min, first_max, second_min, second_max;
    size_t length;
  };
  static constexpr Row kRows[] = {
      {0xC2, 0xDF, 0x80, 0xBF, 2}, {0xE0, 0xE0, 0xA0, 0xBF, 3}, {0xE1, 0xEC, 0x80, 0xBF, 3},
      {0xED, 0xED, 0x80, 0x9F, 3}, {0xEE, 0xEF, 0x80, 0xBF, 3}, {0xF0, 0xF0, 0x90, 0xBF, 4},
      {0xF1, 0xF3, 0x80, 0xBF, 4}, {0xF4, 0xF4, 0x80, 0x8F, 4},
  };
  const auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  size_t i = 0;
  while (i < text.size()) {
    if (at(i) < 0x80) {
      ++i;
      continue;
    }
    const Row* row = nullptr;
    for (const Row& candidate : kRows) {
      if (at(i) >= candidate.first_min && at(i) <= candidate.first_max) row = &candidate;
    }
    if (row == nullptr || i + row->length > text.size()) return false;
    if (at(i + 1) < row->second_min || at(i + 1) > row->second_max) return false;
    for (size_t k = 2; k < row->length; ++k) {
      if (at(i + k) < 0x80 || at(i + k) > 0xBF) return false;
    }
    i += row->length;
  }
  return true;
}

absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json) {
  if (!IsValidUtf8(json)) return absl::InvalidArgumentError("the JSON text is not valid UTF-8");
  google::protobuf::Value value;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &value);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not JSON: ", std::string(parsed.message())));
  }
  return value;
}

}  // namespace fxmesh::fuzz
