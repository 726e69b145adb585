// Amounts as people type and read them: decimal major units ("100.50" USD, "137000" KRW),
// converted exactly to and from the integer minor units that fxmesh's APIs carry, using each
// currency's ISO 4217 exponent from common/money.h. No floating point is involved.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/money.h"

namespace fxmesh::cli {

// Upper-cases `code` and looks it up in fxmesh's currency table. INVALID_ARGUMENT names the code
// and the known ones when it is not there (its exponent, and so its minor unit, is unknown).
absl::StatusOr<Currency> ParseCurrency(absl::string_view code);

// "100.50" in USD is 10050 minor units. Accepts digits with an optional fraction, and commas
// between groups of three digits ("1,000,000", as FormatAmount prints). INVALID_ARGUMENT says what
// is wrong: not a number, more decimals than the currency has, zero, or above
// limits::kAmountMinorMax.
absl::StatusOr<int64_t> ParseAmount(absl::string_view text, const Currency& currency);

// A non-negative decimal with at most `decimals` fraction digits, scaled by 10^decimals:
// ParseScaledDecimal("1.5", 3) is 1500. INVALID_ARGUMENT (naming `what`) when it is not such a
// number or exceeds `max_scaled`.
absl::StatusOr<int64_t> ParseScaledDecimal(absl::string_view text, int decimals, int64_t max_scaled,
                                           absl::string_view what);

// "1,234.56 USD". A currency missing from the table (a ledger may declare one) is shown in minor
// units, "1234 XTS (minor units)", rather than guessed.
std::string FormatAmount(int64_t amount_minor, absl::string_view currency);

}  // namespace fxmesh::cli
