// Fuzzes the identifier validators every request goes through (saga ids, branch names, keys such
// as account and request ids, operator names) against a spec written out again here: a validator
// accepts exactly what the spec allows, and every refusal is INVALID_ARGUMENT with a message that
// is printable ASCII and bounded, whatever bytes it quotes. Input: lines of "<length_max>" then
// "<value>" (C escapes allowed).
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/limits.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool SpecSagaId(const std::string& id) {
  if (id.size() != limits::kSagaIdHexLength) return false;
  bool nonzero = false;
  for (char c : id) {
    if (!IsLowerHex(c)) return false;
    nonzero = nonzero || c != '0';
  }
  return nonzero;
}

bool SpecBranch(const std::string& branch) {
  if (branch.empty() || branch.size() > limits::kBranchNameLengthMax) return false;
  if (branch[0] < 'a' || branch[0] > 'z') return false;
  for (char c : branch) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool SpecKey(const std::string& key, size_t length_max) {
  if (key.empty() || key.size() > length_max) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A refusal goes back to a client and into logs: INVALID_ARGUMENT, a message that names the
// field, printable ASCII only (bytes from the input are escaped), and not much longer than the
// quoted prefix.
void CheckVerdict(const absl::Status& status, bool valid, absl::string_view field,
                  const std::string& value) {
  FUZZ_CHECK(status.ok() == valid, absl::StrCat(field, " ", QuoteForMessage(value), " was ",
                                                status.ok() ? "accepted" : "refused",
                                                " against the spec: ", status.ToString()));
  if (status.ok()) return;
  FUZZ_CHECK(absl::IsInvalidArgument(status), status.ToString());
  const absl::string_view message = status.message();
  FUZZ_CHECK(absl::StrContains(message, field), status.ToString());
  FUZZ_CHECK(message.size() <= 400, absl::StrCat("a ", message.size(), "-byte message"));
  for (char c : message) {
    FUZZ_CHECK(c >= 0x20 && c < 0x7F,
               absl::StrCat("unprintable byte in ", QuoteForMessage(message)));
  }
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  while (!lines.done()) {
    // Key limits as the services use them, and anything else the input asks for up to 256.
    const size_t length_max = static_cast<size_t>(lines.Int() & 0xFF);
    const std::string value = lines.Text();
    CheckVerdict(ValidateSagaId(value), SpecSagaId(value), "saga_id", value);
    CheckVerdict(ValidateBranchName(value), SpecBranch(value), "branch", value);
    CheckVerdict(ValidateKey(value, "account_id", length_max), SpecKey(value, length_max),
                 "account_id", value);
    CheckVerdict(ValidateOperator(value), SpecKey(value, limits::kAccountIdLengthMax), "operator",
                 value);
    // Operator names compare without case, and a name is always its own.
    FUZZ_CHECK(SameOperator(value, value), value);
    std::string upper = value;
    for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    FUZZ_CHECK(SameOperator(value, upper), value);
  }
}

}  // namespace fxmesh::fuzz
