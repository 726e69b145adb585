// Fuzzes PrintableText, which makes bytes from outside (Kafka keys and payloads, headers, ids) safe
// for a proto string, a TEXT column and a log line: the result is valid UTF-8 with no control
// character but tab and newline, it stays within its bound (plus the " …(N more bytes)" note), the
// note counts exactly the bytes left out, and text that needs no escaping is kept as it is.
//
// Input: the bound in bytes, then the bytes to make printable (the rest of the input, as it is).
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/printable.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  const size_t bytes_max = static_cast<size_t>(lines.Int() & 0xFFFF);
  const absl::string_view bytes = lines.Rest();
  const std::string text = PrintableText(bytes, bytes_max);
  FUZZ_CHECK(IsValidUtf8(text), "not UTF-8");

  // Split off the note, if any: " …(N more bytes)".
  absl::string_view body = text;
  size_t left_out = 0;
  const size_t note = body.rfind(" …(");
  if (note != absl::string_view::npos && absl::EndsWith(body, " more bytes)")) {
    absl::string_view count = body.substr(note + 5);
    count.remove_suffix(std::string(" more bytes)").size());
    if (absl::SimpleAtoi(count, &left_out) && left_out > 0)
      body = body.substr(0, note);
    else
      left_out = 0;
  }
  FUZZ_CHECK(body.size() <= bytes_max, absl::StrCat(body.size(), " > ", bytes_max));
  for (char c : body) {
    const unsigned char byte = static_cast<unsigned char>(c);
    FUZZ_CHECK(byte >= 0x20 || c == '\t' || c == '\n', "a control character");
    FUZZ_CHECK(byte != 0x7F, "DEL");
  }
  bool plain = IsValidUtf8(bytes);
  for (char c : bytes) {
    const unsigned char byte = static_cast<unsigned char>(c);
    plain = plain && (byte >= 0x20 || c == '\t' || c == '\n') && byte != 0x7F;
  }
  if (plain && bytes.size() <= bytes_max) FUZZ_CHECK(text == bytes, "plain text changed");
  if (plain && left_out > 0) {
    // The kept part is a prefix of the input, and the count is what follows it.
    FUZZ_CHECK(absl::StartsWith(bytes, body) && body.size() + left_out == bytes.size(),
               absl::StrCat(body.size(), " + ", left_out, " != ", bytes.size()));
  }
}

}  // namespace fxmesh::fuzz
