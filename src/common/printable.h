// Bytes that came from outside (a Kafka message, a header, a client's id) made safe to put in a
// proto `string` field, a TEXT column or a log line: proto strings must be valid UTF-8, PostgreSQL
// TEXT refuses NUL and invalid UTF-8, and one huge value must not make a huge answer or log line.
#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace fxmesh {

// The length of the valid UTF-8 sequence that starts at `text[at]` (1 to 4), or 0 when none starts
// there (a stray continuation byte, an overlong form, a surrogate, a cut-off sequence). Requires
// at < text.size().
size_t Utf8SequenceLength(absl::string_view text, size_t at);

// `bytes` as valid UTF-8 text: valid UTF-8 is kept as it is (a backslash too); every byte that is
// not part of a valid UTF-8 sequence, and every control character but tab and newline, becomes
// `\xNN`. Past `max_bytes` of output the rest is cut and " …(N more bytes)" says how much.
std::string PrintableText(absl::string_view bytes, size_t max_bytes);

}  // namespace fxmesh
