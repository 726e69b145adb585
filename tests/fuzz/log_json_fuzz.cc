// Fuzzes JsonQuote, the encoder of every JSON log line (and of the OTLP export): whatever bytes a
// field holds, the quoted text is valid JSON (UTF-8 included, RFC 8259 §8.1) and an object built
// of quoted keys and values, as a log line is, parses; text that is valid UTF-8 decodes back to
// exactly itself.
//
// Input: lines of key and value pairs (C escapes allowed, so any bytes can be written).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/printable.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  std::vector<std::pair<std::string, std::string>> fields;
  std::string object = "{";
  while (!lines.done()) {
    const std::string key = absl::StrCat("k", fields.size(), "_", lines.Text());
    const std::string value = lines.Text();
    const std::string quoted = JsonQuote(value);
    const absl::StatusOr<google::protobuf::Value> parsed = ParseJson(quoted);
    FUZZ_CHECK(parsed.ok() && parsed->has_string_value(),
               absl::StrCat(parsed.status().ToString(), " for ", PrintableText(quoted, 200)));
    if (IsValidUtf8(value)) {
      FUZZ_CHECK(parsed->string_value() == value, PrintableText(quoted, 200));
    }
    absl::StrAppend(&object, fields.empty() ? "" : ",", JsonQuote(key), ":", quoted);
    fields.emplace_back(key, value);
  }
  object += "}";
  const absl::StatusOr<google::protobuf::Value> parsed = ParseJson(object);
  FUZZ_CHECK(parsed.ok() && parsed->has_struct_value(), PrintableText(object, 400));
  for (const auto& [key, value] : fields) {
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) continue;
    const auto& members = parsed->struct_value().fields();
    const auto found = members.find(key);
    FUZZ_CHECK(found != members.end() && found->second.string_value() == value,
               PrintableText(object, 400));
  }
}

}  // namespace fxmesh::fuzz
