// Exchange rates between KRW and foreign currencies, and the exact integer arithmetic that prices
// an exchange (ARCHITECTURE.md §2). No floating point: rates are fixed-point integers and every
// product is computed in 128 bits.
//
// THE ROUNDING RULE, stated once for all of fxmesh: the amount the customer RECEIVES rounds DOWN;
// the amount the customer is CHARGED rounds UP. The bank's spread follows the same rule: the ask
// (the rate at which the bank sells foreign currency) rounds up to a whole micro, the bid (the rate
// at which it buys) rounds down. Rounding therefore never moves value from the bank to the
// customer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/limits.h"
#include "common/money.h"

namespace fxmesh::coordinator {

// A rate is KRW per 1 major unit of a foreign currency, scaled by 10^6 ("micros"):
// 1370.25 KRW per USD is 1'370'250'000.
inline constexpr int64_t kRateScale = 1'000'000;

// Largest mid rate and widest spread: named in common/limits.h.
inline constexpr int64_t kRateMicrosMax = limits::kRateMicrosMax;
static_assert(kRateMicrosMax == 1'000'000'000'000 * kRateScale, "10^12 KRW per unit, in micros");

inline constexpr int kBasisPointsPerUnit = 10'000;
inline constexpr int kSpreadBpsMax = limits::kSpreadBpsMax;

static_assert(kRateMicrosMax / kBasisPointsPerUnit <=
                  INT64_MAX / (kBasisPointsPerUnit + kSpreadBpsMax),
              "the ask of the largest rate at the widest spread is computed and stored as int64");

// One line of a rates file: the mid rate of `currency` in KRW micros per major unit.
struct RateEntry {
  Currency currency;
  int64_t mid_micros = 0;
};

// Which amount of an exchange the customer fixed: the amount they sell or the amount they buy.
enum class Side { kSell, kBuy };

// An exchange to price. `amount_minor` is in minor units of `sell` when `fixed` is kSell, of `buy`
// when it is kBuy. Exactly one of `sell` and `buy` must be KRW.
struct QuoteInput {
  Currency sell;
  Currency buy;
  Side fixed = Side::kSell;
  int64_t amount_minor = 0;
};

// A priced exchange: the customer pays `sell_minor` of the sell currency and receives `buy_minor`
// of the buy currency. `rate_micros` is the KRW per unit of the foreign currency actually applied:
// the ask when the customer buys foreign currency, the bid when they sell it.
struct QuoteAmounts {
  int64_t sell_minor = 0;
  int64_t buy_minor = 0;
  int64_t rate_micros = 0;
};

// The rate at which the bank sells foreign currency: mid × (10000 + spread_bps) / 10000, rounded up
// to a whole micro. Requires 0 < mid_micros <= kRateMicrosMax and 0 <= spread_bps <= kSpreadBpsMax.
int64_t AskMicros(int64_t mid_micros, int spread_bps);

// The rate at which the bank buys foreign currency: mid × (10000 − spread_bps) / 10000, rounded
// down. Same requirements as AskMicros.
int64_t BidMicros(int64_t mid_micros, int spread_bps);

// "1370.25" for 1'370'250'000: the rate as a decimal, trailing fractional zeros and a bare trailing
// dot trimmed ("1370" for a whole number).
std::string FormatRate(int64_t micros);

// The mid rates of the foreign currencies fxmesh exchanges against KRW, with the bank's spread.
// Immutable once built, so any number of threads may call its const methods concurrently.
class RateTable {
 public:
  // Parses a rates file: one line per currency, such as "USD 1370.25" (code, whitespace, KRW per
  // major unit). Blank lines and lines starting with '#' are ignored. The code must be known to
  // LookupCurrency and must not be KRW or repeat; the rate is an exact decimal greater than 0 with
  // at most 6 fractional digits, at most kRateMicrosMax, and whose bid must not round to 0. The
  // file must give at least one rate. INVALID_ARGUMENT names the offending line; it is also
  // returned when spread_bps is outside 0..kSpreadBpsMax.
  static absl::StatusOr<RateTable> Parse(absl::string_view text, int spread_bps);

  // Reads and parses the rates file at `path`. NOT_FOUND when the file cannot be opened or read;
  // otherwise as Parse, with the path in the message.
  static absl::StatusOr<RateTable> Load(const std::string& path, int spread_bps);

  // The entry for `code`, or INVALID_ARGUMENT listing the codes that have rates.
  absl::StatusOr<RateEntry> Find(absl::string_view code) const;

  // The codes that have rates, in the order of the rates file.
  std::vector<std::string> Codes() const;

  int spread_bps() const { return spread_bps_; }

  // Prices an exchange between KRW and one foreign currency under the rounding rule above, at the
  // ask when the customer buys foreign currency and at the bid when they sell it. INVALID_ARGUMENT
  // when neither or both currencies are KRW, when the foreign currency has no rate, when a
  // currency's decimals disagree with fxmesh's table, when the fixed amount fails
  // ValidateAmountMinor, when the counter-amount rounds to 0 (too small to exchange) and when it
  // exceeds limits::kAmountMinorMax.
  absl::StatusOr<QuoteAmounts> Price(const QuoteInput& input) const;

  // The KRW equivalent of `amount_minor` of `currency` at the MID rate, rounded up; KRW passes
  // through unchanged. For daily limits. INVALID_ARGUMENT when the amount fails
  // ValidateAmountMinor, when the currency has no rate or its decimals disagree with fxmesh's
  // table, and when the result exceeds limits::kAmountMinorMax.
  absl::StatusOr<int64_t> ToKrwMinor(const Currency& currency, int64_t amount_minor) const;

 private:
  RateTable(std::vector<RateEntry> entries, int spread_bps, int krw_decimals)
      : entries_(std::move(entries)), spread_bps_(spread_bps), krw_decimals_(krw_decimals) {}

  std::vector<RateEntry> entries_;
  int spread_bps_ = 0;
  int krw_decimals_ = 0;
};

}  // namespace fxmesh::coordinator
