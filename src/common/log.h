// Structured log lines: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-22T20:31:02.123Z","level":"info","service":"krw-ledger","msg":"listening",
//    "address":"127.0.0.1:50061"}
// Thread-safe; a line is written whole.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide settings, set once by main before threads start.
void SetLogService(absl::string_view service);
void SetLogLevel(LogLevel level);
// "debug", "info", "warning" or "error"; INVALID_ARGUMENT otherwise.
absl::Status ParseLogLevel(absl::string_view text, LogLevel* level);

// Collects fields and writes the line when destroyed: LogInfo("listening").With("port", port);
class LogLine {
 public:
  LogLine(LogLevel level, absl::string_view message);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& With(absl::string_view key, absl::string_view value);
  LogLine& With(absl::string_view key, const char* value) {
    return With(key, absl::string_view(value));
  }
  LogLine& With(absl::string_view key, const std::string& value) {
    return With(key, absl::string_view(value));
  }
  LogLine& With(absl::string_view key, int64_t value);
  LogLine& With(absl::string_view key, int value) { return With(key, static_cast<int64_t>(value)); }
  LogLine& With(absl::string_view key, const absl::Status& status);

 private:
  bool enabled_;
  LogLevel level_;
  std::string message_;
  std::vector<std::pair<std::string, std::string>> fields_;  // Values already JSON-encoded.
};

inline LogLine LogDebug(absl::string_view message) { return LogLine(LogLevel::kDebug, message); }
inline LogLine LogInfo(absl::string_view message) { return LogLine(LogLevel::kInfo, message); }
inline LogLine LogWarning(absl::string_view message) {
  return LogLine(LogLevel::kWarning, message);
}
inline LogLine LogError(absl::string_view message) { return LogLine(LogLevel::kError, message); }

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(absl::string_view text);

}  // namespace fxmesh
