// Fuzzes the rate arithmetic (coordinator/rates.h): a rates file either parses into distinct,
// positive, bounded rates whose text form reads back exactly, or is refused with
// INVALID_ARGUMENT naming the line; and every price obeys the rounding rule, checked here in
// 128-bit arithmetic written out again: the customer never receives more than they pay for, the
// counter-amount is the tightest one that keeps that true, the ask is at least the mid and the bid
// at most, and the daily-limit value of an amount (ToKrwMinor) is its KRW worth rounded up.
//
// Input: the spread in basis points, the rates file's lines, a line "--", then exchanges of five
// lines each: sell code, buy code, "sell" or "buy" (which amount is fixed), the amount, and the
// decimals to claim for the foreign currency (-1: fxmesh's table).
#include <cstdint>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/rates.h"
#include "tests/fuzz/fuzz_support.h"

namespace fxmesh::fuzz {
namespace {

using coordinator::QuoteAmounts;
using coordinator::QuoteInput;
using coordinator::RateTable;
using coordinator::Side;
using Int128 = __int128;

Int128 Pow10(int exponent) {
  Int128 result = 1;
  for (int i = 0; i < exponent; ++i) result *= 10;
  return result;
}

void CheckTable(const RateTable& table) {
  std::set<std::string> codes;
  for (const std::string& code : table.Codes()) {
    FUZZ_CHECK(codes.insert(code).second && code != "KRW", code);
    const absl::StatusOr<coordinator::RateEntry> entry = table.Find(code);
    FUZZ_CHECK(entry.ok(), code);
    const int64_t mid = entry->mid_micros;
    FUZZ_CHECK(mid > 0 && mid <= coordinator::kRateMicrosMax, absl::StrCat(code, " ", mid));
    const int64_t ask = coordinator::AskMicros(mid, table.spread_bps());
    const int64_t bid = coordinator::BidMicros(mid, table.spread_bps());
    FUZZ_CHECK(bid > 0 && bid <= mid && mid <= ask, absl::StrCat(bid, " ", mid, " ", ask));
    // The text a quote shows reads back as the same rate.
    const std::string text = coordinator::FormatRate(mid);
    const absl::StatusOr<RateTable> again =
        RateTable::Parse(absl::StrCat(code, " ", text), table.spread_bps());
    FUZZ_CHECK(again.ok() && again->Find(code)->mid_micros == mid,
               absl::StrCat(code, " ", mid, " formats as ", text));
  }
}

// K KRW against F foreign at `rate`: the KRW side's worth is K × kRateScale × 10^fd and the
// foreign side's F × rate × 10^kd, in the same unit.
void CheckPrice(const RateTable& table, const QuoteInput& input) {
  const absl::StatusOr<QuoteAmounts> amounts = table.Price(input);
  if (!amounts.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(amounts.status()), amounts.status().ToString());
    return;
  }
  const bool sells_krw = input.sell.code == "KRW";
  const Currency& krw = sells_krw ? input.sell : input.buy;
  const Currency& foreign = sells_krw ? input.buy : input.sell;
  const int64_t fixed = input.fixed == Side::kSell ? amounts->sell_minor : amounts->buy_minor;
  const std::string what =
      absl::StrCat(input.sell.code, "->", input.buy.code, " fixed ",
                   input.fixed == Side::kSell ? "sell " : "buy ", input.amount_minor, ": sell ",
                   amounts->sell_minor, " buy ", amounts->buy_minor, " at ", amounts->rate_micros);
  FUZZ_CHECK(fixed == input.amount_minor, what);
  for (int64_t amount : {amounts->sell_minor, amounts->buy_minor}) {
    FUZZ_CHECK(amount > 0 && amount <= limits::kAmountMinorMax, what);
  }
  const int64_t mid = table.Find(foreign.code)->mid_micros;
  FUZZ_CHECK(amounts->rate_micros == (sells_krw ? coordinator::AskMicros(mid, table.spread_bps())
                                                : coordinator::BidMicros(mid, table.spread_bps())),
             what);
  const Int128 krw_unit = Int128{coordinator::kRateScale} * Pow10(foreign.decimals);
  const Int128 foreign_unit = Int128{amounts->rate_micros} * Pow10(krw.decimals);
  const auto worth_paid = [&](Int128 paid) { return paid * (sells_krw ? krw_unit : foreign_unit); };
  const auto worth_got = [&](Int128 got) { return got * (sells_krw ? foreign_unit : krw_unit); };
  // Rounding never moves value from the bank to the customer.
  FUZZ_CHECK(worth_paid(amounts->sell_minor) >= worth_got(amounts->buy_minor), what);
  // And it moves as little as it can: one more unit received, or one less paid, would.
  if (input.fixed == Side::kSell) {
    FUZZ_CHECK(worth_paid(amounts->sell_minor) < worth_got(Int128{amounts->buy_minor} + 1), what);
  } else {
    FUZZ_CHECK(worth_paid(Int128{amounts->sell_minor} - 1) < worth_got(amounts->buy_minor), what);
  }
}

void CheckKrwWorth(const RateTable& table, const Currency& currency, int64_t amount) {
  const absl::StatusOr<int64_t> krw = table.ToKrwMinor(currency, amount);
  if (!krw.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(krw.status()), krw.status().ToString());
    return;
  }
  FUZZ_CHECK(*krw > 0 && *krw <= limits::kAmountMinorMax, absl::StrCat(*krw));
  if (currency.code == "KRW") {
    FUZZ_CHECK(*krw == amount, absl::StrCat(amount));
    return;
  }
  const Int128 scale = Int128{coordinator::kRateScale} * Pow10(currency.decimals);
  const Int128 worth =
      Int128{amount} * table.Find(currency.code)->mid_micros;  // KRW has 0 decimals.
  FUZZ_CHECK(Int128{*krw} * scale >= worth && Int128{*krw - 1} * scale < worth,
             absl::StrCat(amount, " ", currency.code, " counted as ", *krw, " KRW"));
}

Currency Claimed(const std::string& code, int64_t decimals) {
  absl::StatusOr<Currency> known = LookupCurrency(code);
  Currency currency{code, known.ok() ? known->decimals : 2};
  if (decimals >= 0) currency.decimals = static_cast<int>(decimals % 5);
  return currency;
}

}  // namespace

void FuzzOne(const uint8_t* data, size_t size) {
  Lines lines(data, size);
  const int64_t spread_bps = lines.Int();
  std::vector<absl::string_view> file;
  while (!lines.done()) {
    const absl::string_view line = lines.Raw();
    if (line == "--") break;
    file.push_back(line);
  }
  const absl::StatusOr<RateTable> table = RateTable::Parse(
      absl::StrJoin(file, "\n"), static_cast<int>(std::clamp<int64_t>(spread_bps, -1, 100'000)));
  if (!table.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(table.status()), table.status().ToString());
    return;
  }
  CheckTable(*table);
  while (!lines.done()) {
    const std::string sell_code = lines.Text();
    const std::string buy_code = lines.Text();
    const bool fixed_sell = lines.Raw() != "buy";
    const int64_t amount = lines.Int();
    const int64_t decimals = lines.Int();
    QuoteInput input{Claimed(sell_code, sell_code == "KRW" ? -1 : decimals),
                     Claimed(buy_code, buy_code == "KRW" ? -1 : decimals),
                     fixed_sell ? Side::kSell : Side::kBuy, amount};
    CheckPrice(*table, input);
    CheckKrwWorth(*table, input.sell, amount);
  }
}

}  // namespace fxmesh::fuzz
