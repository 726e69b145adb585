#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/printable.h"
#include "common/tracing.h"

namespace fxmesh {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::string* g_service = new std::string("fxmesh");
absl::Mutex g_write_mu;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void SetLogService(absl::string_view service) { *g_service = std::string(service); }

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

absl::Status ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel candidate :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning, LogLevel::kError}) {
    if (text == LevelName(candidate)) {
      *level = candidate;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("log level must be debug, info, warning or error; got '", text, "'"));
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  size_t at = 0;
  while (at < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[at]);
    // JSON text is UTF-8 (RFC 8259 §8.1): a byte that starts no valid UTF-8 sequence (a Kafka
    // key, a client's id) is written as the text \xNN, as common/printable.h does, so the line
    // stays JSON that any reader accepts and still shows which bytes they were.
    const size_t length = c < 0x80 ? 1 : Utf8SequenceLength(text, at);
    if (length == 0) {
      out += absl::StrFormat("\\\\x%02x", c);
      ++at;
      continue;
    }
    if (length > 1) {
      out.append(text.data() + at, length);
      at += length;
      continue;
    }
    ++at;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

LogLine::LogLine(LogLevel level, absl::string_view message)
    : enabled_(static_cast<int>(level) >= g_level.load()), level_(level), message_(message) {}

LogLine& LogLine::With(absl::string_view key, absl::string_view value) {
  if (enabled_) fields_.emplace_back(std::string(key), JsonQuote(value));
  return *this;
}

LogLine& LogLine::With(absl::string_view key, int64_t value) {
  if (enabled_) fields_.emplace_back(std::string(key), absl::StrCat(value));
  return *this;
}

LogLine& LogLine::With(absl::string_view key, const absl::Status& status) {
  return With(key, absl::string_view(status.ToString()));
}

// JSON lines, except on a terminal, where people read them: text. FXMESH_LOG_FORMAT=json or
// text overrides the guess.
bool TextFormat() {
  static const bool text = [] {
    const char* format = std::getenv("FXMESH_LOG_FORMAT");
    if (format != nullptr && absl::string_view(format) == "json") return false;
    if (format != nullptr && absl::string_view(format) == "text") return true;
    return isatty(STDERR_FILENO) != 0;
  }();
  return text;
}

LogLine::~LogLine() {
  if (!enabled_) return;
  // Work done inside a span names it, so a log line leads to its place in the trace.
  if (const ScopedSpan* span = CurrentSpan(); span != nullptr) {
    bool has_trace = false;
    for (const auto& field : fields_) has_trace = has_trace || field.first == "trace_id";
    if (!has_trace) fields_.emplace_back("trace_id", JsonQuote(span->trace_id()));
    fields_.emplace_back("span_id", JsonQuote(span->span_id()));
  }
  if (TextFormat()) {
    std::string line =
        absl::StrCat(absl::FormatTime("%H:%M:%E3S", absl::Now(), absl::LocalTimeZone()), " ",
                     absl::AsciiStrToUpper(LevelName(level_)), " ", *g_service, ": ", message_);
    for (const auto& [key, value] : fields_) absl::StrAppend(&line, " ", key, "=", value);
    line += "\n";
    absl::MutexLock lock(&g_write_mu);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    return;
  }
  std::string line = absl::StrCat(
      "{\"ts\":",
      JsonQuote(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())),
      ",\"level\":\"", LevelName(level_), "\",\"service\":", JsonQuote(*g_service),
      ",\"msg\":", JsonQuote(message_));
  for (const auto& [key, value] : fields_) absl::StrAppend(&line, ",", JsonQuote(key), ":", value);
  line += "}\n";
  absl::MutexLock lock(&g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace fxmesh
