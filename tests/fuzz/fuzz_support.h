// What every fuzz target shares: a check that stops the run loudly (in the libFuzzer build and in
// the corpus replay of `make test` alike), a reader that turns the fuzzer's bytes into readable
// fields, and a strict JSON check for the hand-written encoders.
#pragma once

#include <google/protobuf/struct.pb.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// Stops the run with what broke; libFuzzer then saves the input as a crash file.
#define FUZZ_CHECK(condition, detail)                                                 \
  do {                                                                                \
    if (!(condition)) ::fxmesh::fuzz::Fail(#condition, (detail), __FILE__, __LINE__); \
  } while (0)

namespace fxmesh::fuzz {

// Each target defines this: one input, checked; a failed FUZZ_CHECK stops the run. The
// LLVMFuzzerTestOneInput that libFuzzer and the corpus replay call is fuzz_entry.cc's.
void FuzzOne(const uint8_t* data, size_t size);

[[noreturn]] void Fail(const char* condition, absl::string_view detail, const char* file, int line);

// The input as lines, so that seed inputs are text a person can read and write. Text() undoes C
// escapes ("\n", "\x00"), so one line can still carry any bytes; a line whose escapes are broken
// is taken as it is. Past the last line every read returns empty text and 0.
class Lines {
 public:
  Lines(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  bool done() const { return rest_.empty(); }
  // The next line without its '\n', as it is.
  absl::string_view Raw();
  // The next line with its C escapes undone.
  std::string Text();
  // The next line as a decimal integer; 0 when it is not one.
  int64_t Int();
  // Everything not read yet, as it is.
  absl::string_view Rest() const { return rest_; }

 private:
  absl::string_view rest_;
};

// Whether `text` is valid UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Parses `json` as one JSON value, strictly: the text must be valid UTF-8 (RFC 8259 §8.1) and
// valid JSON. INVALID_ARGUMENT says what is wrong.
absl::StatusOr<google::protobuf::Value> ParseJson(absl::string_view json);

}  // namespace fxmesh::fuzz
