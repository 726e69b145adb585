#include "common/printable.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fxmesh {

size_t Utf8SequenceLength(absl::string_view text, size_t at) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  size_t length;
  unsigned int minimum;
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, minimum = 0x10000;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  unsigned int code_point = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(at + i) & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not valid UTF-8.
  if (code_point < minimum || (code_point >= 0xD800 && code_point <= 0xDFFF) ||
      code_point > 0x10FFFF) {
    return 0;
  }
  return length;
}

std::string PrintableText(absl::string_view bytes, size_t max_bytes) {
  std::string text;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t length = Utf8SequenceLength(bytes, at);
    const unsigned char byte = static_cast<unsigned char>(bytes[at]);
    const bool control =
        length == 1 && (byte < 0x20 || byte == 0x7F) && byte != '\t' && byte != '\n';
    const std::string piece = length == 0 || control ? absl::StrFormat("\\x%02x", byte)
                                                     : std::string(bytes.substr(at, length));
    if (text.size() + piece.size() > max_bytes) break;
    text += piece;
    at += length == 0 ? 1 : length;
  }
  if (at < bytes.size()) absl::StrAppend(&text, " …(", bytes.size() - at, " more bytes)");
  return text;
}

}  // namespace fxmesh
