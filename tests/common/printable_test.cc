// Proves that bytes from outside become valid, bounded UTF-8 text: valid text (multi-byte too) is
// kept, invalid sequences and control bytes are escaped, and long input is cut with a count.
#include "common/printable.h"

#include <catch2/catch.hpp>
#include <string>

namespace fxmesh {
namespace {

TEST_CASE("bytes become bounded printable UTF-8", "[unit]") {
  CHECK(PrintableText("plain {json} \\ text", 100) == "plain {json} \\ text");
  CHECK(PrintableText("원화 ₩ 🙂", 100) == "원화 ₩ 🙂");
  CHECK(PrintableText(std::string("\x00\xff\xfe binary", 10), 100) == "\\x00\\xff\\xfe binary");
  CHECK(PrintableText("tab\there\nnew\x01line", 100) == "tab\there\nnew\\x01line");
  // An overlong encoding, a lone continuation byte and a cut-off sequence are not UTF-8.
  CHECK(PrintableText("\xc0\xaf \x80 \xe2\x82", 100) == "\\xc0\\xaf \\x80 \\xe2\\x82");
  CHECK(PrintableText(std::string(10'000, 'k'), 16) ==
        std::string(16, 'k') + " …(9984 more bytes)");
  // A sequence is never split by the cut.
  CHECK(PrintableText("aa원", 4) == "aa …(3 more bytes)");
}

}  // namespace
}  // namespace fxmesh
