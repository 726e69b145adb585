// Identifier rules shared by every service. Each validator returns INVALID_ARGUMENT with a message
// that names the field, says what is wrong and what is allowed.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fxmesh {

// 32 lowercase hex digits, not all zero: a 128-bit id that doubles as the W3C trace-id.
absl::Status ValidateSagaId(absl::string_view saga_id);
// An operator's name, recorded in the audit log: required, printable, bounded.
absl::Status ValidateOperator(absl::string_view operator_name);
// Free text an operator gives that is stored and audited (a reason, a note): at most
// limits::kQuotedTextBytesMax bytes. May be empty; a caller that requires it checks that itself.
absl::Status ValidateNote(absl::string_view text, absl::string_view field);
// Whether two operator names are one person's: compared without case ("Kim" is "kim"), so that
// maker-checker cannot be passed by spelling one's own name differently.
bool SameOperator(absl::string_view a, absl::string_view b);

// A branch (participant leg) name: a lowercase letter, then lowercase letters, digits, '_' or '-';
// at most limits::kBranchNameLengthMax characters.
absl::Status ValidateBranchName(absl::string_view branch);

// Account ids, request ids and other client-chosen keys: 1 to `length_max` characters from
// [A-Za-z0-9._:-].
absl::Status ValidateKey(absl::string_view value, absl::string_view field, size_t length_max);

// A new random saga id (128 bits from the OS's entropy), as 32 lowercase hex digits.
std::string NewSagaId();

// `value` as it may safely appear in an error message: truncated, with non-printables escaped.
std::string QuoteForMessage(absl::string_view value);

}  // namespace fxmesh
