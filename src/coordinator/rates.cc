#include "coordinator/rates.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/check.h"
#include "common/ids.h"
#include "common/limits.h"
#include "common/status_macros.h"

namespace fxmesh::coordinator {
namespace {

using Int128 = __int128;

constexpr absl::string_view kKrwCode = "KRW";

// Fractional digits a rate may carry: one per power of ten in kRateScale.
constexpr size_t kRateFractionDigitsMax = 6;

// The most decimals any currency in fxmesh's table may have (ParseCurrencyList allows 0 to 4).
// Together with kAmountMinorMax and the largest ask it bounds every product below.
constexpr int kDecimalsMax = 4;

constexpr Int128 kPow10DecimalsMax = 10'000;
constexpr int64_t kAskMicrosMax =
    kRateMicrosMax / kBasisPointsPerUnit * (kBasisPointsPerUnit + kSpreadBpsMax);

// Every numerator in Price and ToKrwMinor is an amount times either (rate × 10^krw_decimals) or
// (kRateScale × 10^foreign_decimals). This proves both fit an __int128 with room to spare, so the
// arithmetic below needs no overflow checks of its own.
constexpr Int128 kInt128Max = std::numeric_limits<Int128>::max();
static_assert(Int128{limits::kAmountMinorMax} * kAskMicrosMax * kPow10DecimalsMax < kInt128Max,
              "amount x rate x 10^decimals must fit an __int128");
static_assert(Int128{limits::kAmountMinorMax} * kRateScale * kPow10DecimalsMax < kInt128Max,
              "amount x kRateScale x 10^decimals must fit an __int128");

Int128 Pow10(int exponent) {
  // Decimals come from fxmesh's own currency table, so a value out of range is a programmer error.
  FXMESH_CHECK(exponent >= 0 && exponent <= kDecimalsMax, "currency decimals out of range");
  Int128 result = 1;
  for (int i = 0; i < exponent; ++i) result *= 10;
  return result;
}

// Both operands are positive wherever this is called.
Int128 CeilDiv(Int128 numerator, Int128 denominator) {
  return (numerator + denominator - 1) / denominator;
}

bool AllDigits(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Parses an exact decimal such as "1370.25" into micros. Only digits and one optional point are
// accepted: signs, exponents and thousands separators would make a typo in the rates file look like
// a valid rate. The error message describes the problem without the line number, which the caller
// adds.
absl::StatusOr<int64_t> ParseRateMicros(absl::string_view text) {
  absl::string_view whole = text;
  absl::string_view fraction;
  const size_t point = text.find('.');
  const bool has_point = point != absl::string_view::npos;
  if (has_point) {
    whole = text.substr(0, point);
    fraction = text.substr(point + 1);
  }
  if (whole.empty() || !AllDigits(whole) ||
      (has_point && (fraction.empty() || !AllDigits(fraction)))) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate '", text,
                     "' is not a decimal number such as 1370.25 (digits and one optional point)"));
  }
  if (fraction.size() > kRateFractionDigitsMax) {
    return absl::InvalidArgumentError(absl::StrCat("rate '", text, "' has more than ",
                                                   kRateFractionDigitsMax, " fractional digits"));
  }
  // Leading zeros are harmless; stripping them lets the length check below bound the value.
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  const absl::Status too_large = absl::InvalidArgumentError(absl::StrCat(
      "rate '", text, "' exceeds the maximum of ", FormatRate(kRateMicrosMax), " KRW per unit"));
  // Eighteen digits always fit an int64, so accumulating them cannot overflow.
  if (whole.size() > 18) return too_large;
  int64_t whole_units = 0;
  for (char c : whole) whole_units = whole_units * 10 + (c - '0');
  if (whole_units > kRateMicrosMax / kRateScale) return too_large;
  int64_t fraction_micros = 0;
  for (size_t i = 0; i < kRateFractionDigitsMax; ++i) {
    fraction_micros = fraction_micros * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  const int64_t micros = whole_units * kRateScale + fraction_micros;
  if (micros > kRateMicrosMax) return too_large;
  if (micros == 0) {
    return absl::InvalidArgumentError(absl::StrCat("rate '", text, "' must be greater than 0"));
  }
  return micros;
}

// A caller's Currency must agree with fxmesh's table; otherwise the same minor amount would mean
// different money on the two sides of the exchange.
absl::Status CheckDecimals(const Currency& currency, int expected_decimals) {
  if (currency.decimals == expected_decimals) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("currency ", currency.code, " has ", expected_decimals,
                   " decimals in fxmesh's table, not ", currency.decimals));
}

}  // namespace

int64_t AskMicros(int64_t mid_micros, int spread_bps) {
  FXMESH_CHECK(mid_micros > 0 && mid_micros <= kRateMicrosMax, "mid rate out of range");
  FXMESH_CHECK(spread_bps >= 0 && spread_bps <= kSpreadBpsMax, "spread out of range");
  // The bank sells at the ask, so rounding up keeps the customer's rounding gain at zero.
  return static_cast<int64_t>(
      CeilDiv(Int128{mid_micros} * (kBasisPointsPerUnit + spread_bps), kBasisPointsPerUnit));
}

int64_t BidMicros(int64_t mid_micros, int spread_bps) {
  FXMESH_CHECK(mid_micros > 0 && mid_micros <= kRateMicrosMax, "mid rate out of range");
  FXMESH_CHECK(spread_bps >= 0 && spread_bps <= kSpreadBpsMax, "spread out of range");
  // The bank buys at the bid, so rounding down likewise never favours the customer.
  return static_cast<int64_t>(Int128{mid_micros} * (kBasisPointsPerUnit - spread_bps) /
                              kBasisPointsPerUnit);
}

std::string FormatRate(int64_t micros) {
  // Digits come from the unsigned magnitude so that INT64_MIN formats like any other value.
  const bool negative = micros < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(micros) : static_cast<uint64_t>(micros);
  const uint64_t scale = static_cast<uint64_t>(kRateScale);
  std::string text = absl::StrCat(negative ? "-" : "", magnitude / scale);
  const uint64_t fraction_micros = magnitude % scale;
  if (fraction_micros == 0) return text;
  std::string fraction = absl::StrCat(fraction_micros);
  fraction.insert(0, kRateFractionDigitsMax - fraction.size(), '0');
  while (fraction.back() == '0') fraction.pop_back();
  absl::StrAppend(&text, ".", fraction);
  return text;
}

absl::StatusOr<RateTable> RateTable::Parse(absl::string_view text, int spread_bps) {
  if (spread_bps < 0 || spread_bps > kSpreadBpsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("spread_bps must be 0 to ", kSpreadBpsMax, " basis points, got ", spread_bps));
  }
  // KRW's decimals are taken from the same table as every other currency's, not hard-coded, so the
  // arithmetic stays right if the table ever changes.
  ASSIGN_OR_RETURN(const Currency krw, LookupCurrency(kKrwCode));

  std::vector<RateEntry> entries;
  std::vector<int> entry_lines;  // The line each entry came from, to point at the first duplicate.
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    // Stripping whitespace also removes the '\r' of files written with Windows line endings.
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const std::string where = absl::StrCat("line ", line_number, ": ");

    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "expected a currency code and a rate, such as 'USD 1370.25', got '", line, "'"));
    }
    const absl::string_view code = fields[0];
    if (code == kKrwCode) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "KRW is the home currency; rates are KRW per unit of another currency"));
    }
    absl::StatusOr<Currency> currency = LookupCurrency(code);
    if (!currency.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "unknown currency '", code, "' (not in fxmesh's currency table)"));
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].currency.code == code) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, code, " is listed twice (first on line ", entry_lines[i], ")"));
      }
    }
    absl::StatusOr<int64_t> mid_micros = ParseRateMicros(fields[1]);
    if (!mid_micros.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, code, " ", mid_micros.status().message()));
    }
    // A bid of zero would price the customer's foreign currency at nothing and divide by zero when
    // a KRW amount is fixed, so such a rate is refused here rather than at quote time.
    if (BidMicros(*mid_micros, spread_bps) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, code, " rate '", fields[1],
                                                     "' is too small: its bid at a spread of ",
                                                     spread_bps, " bps rounds to 0"));
    }
    entries.push_back(RateEntry{*std::move(currency), *mid_micros});
    entry_lines.push_back(line_number);
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError("the rates file gives no rates");
  }
  return RateTable(std::move(entries), spread_bps, krw.decimals);
}

absl::StatusOr<RateTable> RateTable::Load(const std::string& path, int spread_bps) {
  // stdio rather than iostreams: it reports why a read failed through errno, including reading a
  // directory, which an ifstream opens without complaint.
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot open rates file '", path, "': ", std::strerror(errno)));
  }
  std::string text;
  char buffer[4096];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) text.append(buffer, read);
  if (std::ferror(file.get())) {
    return absl::NotFoundError(
        absl::StrCat("cannot read rates file '", path, "': ", std::strerror(errno)));
  }
  absl::StatusOr<RateTable> table = Parse(text, spread_bps);
  if (!table.ok()) {
    return absl::Status(table.status().code(),
                        absl::StrCat("rates file '", path, "': ", table.status().message()));
  }
  return table;
}

absl::StatusOr<RateEntry> RateTable::Find(absl::string_view code) const {
  // A handful of currencies: a linear scan is simpler than a map and just as fast.
  for (const RateEntry& entry : entries_) {
    if (entry.currency.code == code) return entry;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no rate for ", QuoteForMessage(code), "; rates exist for ", absl::StrJoin(Codes(), ", ")));
}

std::vector<std::string> RateTable::Codes() const {
  std::vector<std::string> codes;
  codes.reserve(entries_.size());
  for (const RateEntry& entry : entries_) codes.push_back(entry.currency.code);
  return codes;
}

absl::StatusOr<QuoteAmounts> RateTable::Price(const QuoteInput& input) const {
  RETURN_IF_ERROR(ValidateAmountMinor(input.amount_minor, "amount"));
  const bool sells_krw = input.sell.code == kKrwCode;
  const bool buys_krw = input.buy.code == kKrwCode;
  if (sells_krw == buys_krw) {
    return absl::InvalidArgumentError(
        absl::StrCat("fxmesh exchanges between KRW and another currency; cannot sell ",
                     input.sell.code, " for ", input.buy.code));
  }
  const Currency& krw = sells_krw ? input.sell : input.buy;
  const Currency& foreign = sells_krw ? input.buy : input.sell;
  ASSIGN_OR_RETURN(const RateEntry entry, Find(foreign.code));
  RETURN_IF_ERROR(CheckDecimals(foreign, entry.currency.decimals));
  RETURN_IF_ERROR(CheckDecimals(krw, krw_decimals_));

  // The customer buying foreign currency pays the ask; selling it, they get the bid.
  const int64_t rate_micros = sells_krw ? AskMicros(entry.mid_micros, spread_bps_)
                                        : BidMicros(entry.mid_micros, spread_bps_);

  // One foreign minor unit is worth rate × 10^krw_decimals / (kRateScale × 10^foreign_decimals) KRW
  // minor units. Keeping the two factors apart and dividing once, at the end, is what makes the
  // result exact.
  const Int128 krw_factor = Int128{rate_micros} * Pow10(krw.decimals);
  const Int128 foreign_factor = Int128{kRateScale} * Pow10(foreign.decimals);

  // The four directions of ARCHITECTURE.md §2 collapse into two questions. Which currency is the
  // fixed amount in? That decides whether we convert KRW to foreign or foreign to KRW. Did the
  // customer fix what they sell? Then the counter-amount is what they receive and rounds down;
  // otherwise it is what they are charged and rounds up.
  const bool fixed_is_sell = input.fixed == Side::kSell;
  const bool fixed_is_krw = fixed_is_sell == sells_krw;
  const Int128 numerator =
      Int128{input.amount_minor} * (fixed_is_krw ? foreign_factor : krw_factor);
  const Int128 denominator = fixed_is_krw ? krw_factor : foreign_factor;
  const Int128 counter_minor =
      fixed_is_sell ? numerator / denominator : CeilDiv(numerator, denominator);

  const Currency& fixed_currency = fixed_is_sell ? input.sell : input.buy;
  const Currency& counter_currency = fixed_is_sell ? input.buy : input.sell;
  // Only a rounded-down amount can reach 0: a charge of a positive amount rounds up to at least 1.
  if (counter_minor == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the amount is too small to exchange: ", FormatMoney(input.amount_minor, fixed_currency),
        " buys less than ", FormatMoney(1, counter_currency), " at ", FormatRate(rate_micros),
        " KRW per ", foreign.code));
  }
  if (counter_minor > limits::kAmountMinorMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the amount is too large to exchange: ", FormatMoney(input.amount_minor, fixed_currency),
        " comes to more than the per-request maximum of ",
        FormatMoney(limits::kAmountMinorMax, counter_currency)));
  }

  QuoteAmounts amounts;
  amounts.sell_minor = fixed_is_sell ? input.amount_minor : static_cast<int64_t>(counter_minor);
  amounts.buy_minor = fixed_is_sell ? static_cast<int64_t>(counter_minor) : input.amount_minor;
  amounts.rate_micros = rate_micros;
  return amounts;
}

absl::StatusOr<int64_t> RateTable::ToKrwMinor(const Currency& currency,
                                              int64_t amount_minor) const {
  RETURN_IF_ERROR(ValidateAmountMinor(amount_minor, "amount"));
  if (currency.code == kKrwCode) {
    RETURN_IF_ERROR(CheckDecimals(currency, krw_decimals_));
    return amount_minor;
  }
  ASSIGN_OR_RETURN(const RateEntry entry, Find(currency.code));
  RETURN_IF_ERROR(CheckDecimals(currency, entry.currency.decimals));
  // Rounding up counts every fraction of a won against the limit, so splitting one exchange into
  // many small ones cannot slip under a daily limit.
  const Int128 krw_minor = CeilDiv(Int128{amount_minor} * entry.mid_micros * Pow10(krw_decimals_),
                                   Int128{kRateScale} * Pow10(currency.decimals));
  if (krw_minor > limits::kAmountMinorMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        FormatMoney(amount_minor, currency), " is worth more than the per-request maximum of ",
        FormatMoney(limits::kAmountMinorMax, Currency{std::string(kKrwCode), krw_decimals_})));
  }
  return static_cast<int64_t>(krw_minor);
}

}  // namespace fxmesh::coordinator
