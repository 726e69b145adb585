// Proves the rate table and quote arithmetic: rates files parse exactly or fail naming the line,
// the spread rounds in the bank's favour, all four pricing directions match hand-computed amounts
// (USD with 2 decimals, JPY with 0), the customer receives rounded down and is charged rounded up,
// and amounts near the limits fail cleanly; a seeded random sweep checks the rounding is tight.
#include "coordinator/rates.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"
#include "common/money.h"
#include "tests/support/temp_dir.h"

namespace fxmesh::coordinator {
namespace {

using Int128 = __int128;

const Currency kKrw{"KRW", 0};
const Currency kUsd{"USD", 2};
const Currency kJpy{"JPY", 0};
const Currency kEur{"EUR", 2};

// Mid rates 1370.25 KRW/USD and 9.1234 KRW/JPY at a 1% spread, so
//   USD ask = 1370.25 × 1.01 = 1383.9525 and bid = 1370.25 × 0.99 = 1356.5475,
//   JPY ask = 9.1234 × 1.01 = 9.214634 and bid = 9.1234 × 0.99 = 9.032166,
// all exact in micros, which keeps the expectations below easy to check by hand.
constexpr absl::string_view kRatesFile =
    "# KRW per unit, Bank of Korea noon rates\n"
    "\n"
    "USD 1370.25\n"
    "  # an indented comment\n"
    "JPY\t9.1234\r\n"
    "EUR 1500\n";
constexpr int kSpreadBps = 100;

RateTable MustParse(absl::string_view text, int spread_bps) {
  absl::StatusOr<RateTable> table = RateTable::Parse(text, spread_bps);
  INFO(table.status().ToString());
  REQUIRE(table.ok());
  return *std::move(table);
}

std::string ParseError(absl::string_view text, int spread_bps = kSpreadBps) {
  absl::StatusOr<RateTable> table = RateTable::Parse(text, spread_bps);
  REQUIRE_FALSE(table.ok());
  CHECK(absl::IsInvalidArgument(table.status()));
  return std::string(table.status().message());
}

QuoteAmounts MustPrice(const RateTable& table, const QuoteInput& input) {
  absl::StatusOr<QuoteAmounts> amounts = table.Price(input);
  INFO(amounts.status().ToString());
  REQUIRE(amounts.ok());
  return *amounts;
}

std::string PriceError(const RateTable& table, const QuoteInput& input) {
  absl::StatusOr<QuoteAmounts> amounts = table.Price(input);
  REQUIRE_FALSE(amounts.ok());
  CHECK(absl::IsInvalidArgument(amounts.status()));
  return std::string(amounts.status().message());
}

TEST_CASE("a rates file parses exactly, skipping blank lines and comments", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);
  CHECK(table.Codes() == std::vector<std::string>{"USD", "JPY", "EUR"});
  CHECK(table.spread_bps() == kSpreadBps);

  absl::StatusOr<RateEntry> usd = table.Find("USD");
  REQUIRE(usd.ok());
  CHECK(usd->currency.code == "USD");
  CHECK(usd->currency.decimals == 2);
  CHECK(usd->mid_micros == 1'370'250'000);
  CHECK(table.Find("JPY")->mid_micros == 9'123'400);
  CHECK(table.Find("JPY")->currency.decimals == 0);
  CHECK(table.Find("EUR")->mid_micros == 1'500'000'000);

  absl::StatusOr<RateEntry> gbp = table.Find("GBP");
  CHECK(absl::IsInvalidArgument(gbp.status()));
  CHECK(gbp.status().message() == "no rate for 'GBP'; rates exist for USD, JPY, EUR");

  // Leading zeros, all six fractional digits, tabs and the smallest and largest rates are exact.
  CHECK(MustParse("USD 0001370.250001", 0).Find("USD")->mid_micros == 1'370'250'001);
  CHECK(MustParse("USD 0.000001", 0).Find("USD")->mid_micros == 1);
  CHECK(MustParse("USD \t 1000000000000", 0).Find("USD")->mid_micros == kRateMicrosMax);
  CHECK(MustParse("USD 1000000000000.000000", 1000).Find("USD")->mid_micros == kRateMicrosMax);
  CHECK(MustParse("USD 1", 0).spread_bps() == 0);
}

TEST_CASE("a bad rates file fails with a message naming the line", "[unit]") {
  CHECK(ParseError("# header\n\nUSD 1370.25\n  # comment\nXYZ 5\n") ==
        "line 5: unknown currency 'XYZ' (not in fxmesh's currency table)");
  CHECK_THAT(ParseError("usd 1370.25"), Catch::Contains("line 1: unknown currency 'usd'"));
  CHECK_THAT(ParseError("USD 1370.25\nKRW 1"),
             Catch::StartsWith("line 2: KRW is the home currency"));
  CHECK(ParseError("USD 1370.25\nEUR 1500\nUSD 1371") ==
        "line 3: USD is listed twice (first on line 1)");
  CHECK(ParseError("USD 1.1234567") ==
        "line 1: USD rate '1.1234567' has more than 6 fractional digits");
  CHECK(ParseError("USD 0") == "line 1: USD rate '0' must be greater than 0");
  CHECK(ParseError("USD 0.000000") == "line 1: USD rate '0.000000' must be greater than 0");
  for (const char* bad :
       {"-5", "+5", "1e3", "1,370", ".5", "5.", "1.2.3", "abc", "0x10", "1 370"}) {
    INFO(bad);
    const std::string message = ParseError(absl::StrCat("USD ", bad));
    // "1 370" splits into three fields; everything else is one field that is not a decimal.
    if (absl::string_view(bad) == "1 370") {
      CHECK_THAT(message, Catch::Contains("expected a currency code and a rate"));
    } else {
      CHECK_THAT(message, Catch::Contains("is not a decimal number"));
    }
  }
  CHECK(ParseError("\nUSD") ==
        "line 2: expected a currency code and a rate, such as 'USD 1370.25', got 'USD'");
  CHECK_THAT(ParseError("USD 1370.25 # note"), Catch::Contains("expected a currency code"));
  CHECK(
      ParseError("USD 1000000000000.000001") ==
      "line 1: USD rate '1000000000000.000001' exceeds the maximum of 1000000000000 KRW per unit");
  // Far more digits than an int64 holds must be refused, not wrapped around.
  CHECK_THAT(ParseError("USD 99999999999999999999999999"), Catch::Contains("exceeds the maximum"));
  CHECK_THAT(ParseError("USD 10000000000000"), Catch::Contains("exceeds the maximum"));
  // 0.000001 × 0.99 rounds down to a bid of 0, which could never be priced.
  CHECK(ParseError("USD 0.000001", 100) ==
        "line 1: USD rate '0.000001' is too small: its bid at a spread of 100 bps rounds to 0");
  CHECK(ParseError("") == "the rates file gives no rates");
  CHECK(ParseError("# only a comment\n\n") == "the rates file gives no rates");
  CHECK(ParseError("USD 1", -1) == "spread_bps must be 0 to 1000 basis points, got -1");
  CHECK(ParseError("USD 1", 1001) == "spread_bps must be 0 to 1000 basis points, got 1001");
  CHECK(RateTable::Parse("USD 1", 1000).ok());
}

TEST_CASE("rates files load from disk, and an unreadable one is NOT_FOUND", "[unit]") {
  const std::string dir = testing::MakeTempDir("fxmesh-rates");
  const std::string path = dir + "/rates.txt";
  std::FILE* file = std::fopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  std::fputs(std::string(kRatesFile).c_str(), file);
  std::fclose(file);

  absl::StatusOr<RateTable> table = RateTable::Load(path, kSpreadBps);
  REQUIRE(table.ok());
  CHECK(table->Codes() == std::vector<std::string>{"USD", "JPY", "EUR"});

  absl::StatusOr<RateTable> missing = RateTable::Load(dir + "/missing.txt", kSpreadBps);
  CHECK(absl::IsNotFound(missing.status()));
  CHECK_THAT(std::string(missing.status().message()),
             Catch::Contains("cannot open rates file '" + dir + "/missing.txt'"));

  absl::StatusOr<RateTable> directory = RateTable::Load(dir, kSpreadBps);
  CHECK(absl::IsNotFound(directory.status()));
  CHECK_THAT(std::string(directory.status().message()), Catch::Contains(dir));

  file = std::fopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  std::fputs("USD 1370.25\nXYZ 1\n", file);
  std::fclose(file);
  absl::StatusOr<RateTable> bad = RateTable::Load(path, kSpreadBps);
  CHECK(absl::IsInvalidArgument(bad.status()));
  CHECK(bad.status().message() ==
        "rates file '" + path +
            "': line 2: unknown currency 'XYZ' (not in fxmesh's currency table)");

  std::filesystem::remove_all(dir);
}

TEST_CASE("the ask rounds up and the bid rounds down to a whole micro", "[unit]") {
  // 1370.250001 × 1.01 = 1383.95250101 and × 0.99 = 1356.54750099.
  CHECK(AskMicros(1'370'250'001, 100) == 1'383'952'502);
  CHECK(BidMicros(1'370'250'001, 100) == 1'356'547'500);
  // Exact products are not rounded at all.
  CHECK(AskMicros(1'370'250'000, 100) == 1'383'952'500);
  CHECK(BidMicros(1'370'250'000, 100) == 1'356'547'500);
  // No spread: both are the mid.
  CHECK(AskMicros(1'370'250'001, 0) == 1'370'250'001);
  CHECK(BidMicros(1'370'250'001, 0) == 1'370'250'001);
  // The smallest rates: 1 × 1.1 = 1.1 and 2 × 0.9 = 1.8.
  CHECK(AskMicros(1, 1000) == 2);
  CHECK(BidMicros(1, 1000) == 0);
  CHECK(BidMicros(2, 1000) == 1);
  // The largest rate at the widest spread is computed without overflow.
  CHECK(AskMicros(kRateMicrosMax, 1000) == kRateMicrosMax / 10 * 11);
  CHECK(BidMicros(kRateMicrosMax, 1000) == kRateMicrosMax / 10 * 9);
}

TEST_CASE("all four directions price to hand-computed amounts", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);

  SECTION("USD, 2 decimals") {
    // Sell 1,000,000 KRW: 1'000'000 × 100 / 1383.9525 = 72256.8 cents, received, so 72256.
    QuoteAmounts a = MustPrice(table, {kKrw, kUsd, Side::kSell, 1'000'000});
    CHECK(a.sell_minor == 1'000'000);
    CHECK(a.buy_minor == 72'256);
    CHECK(a.rate_micros == 1'383'952'500);

    // Buy 100.00 USD: 10'000 × 1383.9525 / 100 = 138395.25 KRW, charged, so 138396.
    a = MustPrice(table, {kKrw, kUsd, Side::kBuy, 10'000});
    CHECK(a.sell_minor == 138'396);
    CHECK(a.buy_minor == 10'000);
    CHECK(a.rate_micros == 1'383'952'500);

    // Sell 100.00 USD: 10'000 × 1356.5475 / 100 = 135654.75 KRW, received, so 135654.
    a = MustPrice(table, {kUsd, kKrw, Side::kSell, 10'000});
    CHECK(a.sell_minor == 10'000);
    CHECK(a.buy_minor == 135'654);
    CHECK(a.rate_micros == 1'356'547'500);

    // Buy 100,000 KRW: 100'000 × 100 / 1356.5475 = 7371.65 cents, charged, so 7372.
    a = MustPrice(table, {kUsd, kKrw, Side::kBuy, 100'000});
    CHECK(a.sell_minor == 7'372);
    CHECK(a.buy_minor == 100'000);
    CHECK(a.rate_micros == 1'356'547'500);
  }

  SECTION("JPY, 0 decimals") {
    // Sell 10,000 KRW: 10'000 / 9.214634 = 1085.23 yen, received, so 1085.
    QuoteAmounts a = MustPrice(table, {kKrw, kJpy, Side::kSell, 10'000});
    CHECK(a.buy_minor == 1'085);
    CHECK(a.rate_micros == 9'214'634);

    // Buy 1,000 JPY: 1'000 × 9.214634 = 9214.634 KRW, charged, so 9215.
    a = MustPrice(table, {kKrw, kJpy, Side::kBuy, 1'000});
    CHECK(a.sell_minor == 9'215);

    // Sell 1,000 JPY: 1'000 × 9.032166 = 9032.166 KRW, received, so 9032.
    a = MustPrice(table, {kJpy, kKrw, Side::kSell, 1'000});
    CHECK(a.buy_minor == 9'032);
    CHECK(a.rate_micros == 9'032'166);

    // Buy 9,032 KRW: 9'032 / 9.032166 = 999.98 yen, charged, so 1000.
    a = MustPrice(table, {kJpy, kKrw, Side::kBuy, 9'032});
    CHECK(a.sell_minor == 1'000);
  }

  SECTION("no spread prices at the mid") {
    const RateTable flat = MustParse("EUR 1500", 0);
    // 1'500'000 KRW buys exactly 1000.00 EUR, and 1000.00 EUR exactly 1'500'000 KRW.
    CHECK(MustPrice(flat, {kKrw, kEur, Side::kSell, 1'500'000}).buy_minor == 100'000);
    CHECK(MustPrice(flat, {kEur, kKrw, Side::kSell, 100'000}).buy_minor == 1'500'000);
    CHECK(MustPrice(flat, {kKrw, kEur, Side::kBuy, 100'000}).sell_minor == 1'500'000);
    CHECK(MustPrice(flat, {kEur, kKrw, Side::kBuy, 1'500'000}).sell_minor == 100'000);
  }
}

TEST_CASE("what the customer receives rounds down and what they are charged rounds up", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);

  // A fraction of a minor unit never reaches the customer: 15 KRW at 9.214634 is 1.63 yen.
  CHECK(MustPrice(table, {kKrw, kJpy, Side::kSell, 15}).buy_minor == 1);
  // And never escapes a charge: 1 yen costs 9.214634 KRW, so 10.
  CHECK(MustPrice(table, {kKrw, kJpy, Side::kBuy, 1}).sell_minor == 10);
  // 1 cent sold gives 13.565475 KRW, so 13; 1 KRW bought costs 0.0737 cents, so 1 cent.
  CHECK(MustPrice(table, {kUsd, kKrw, Side::kSell, 1}).buy_minor == 13);
  CHECK(MustPrice(table, {kUsd, kKrw, Side::kBuy, 1}).sell_minor == 1);

  // Re-pricing an output never gives the customer more than they first asked for: what a fixed sell
  // buys costs at most that much again, and what a fixed charge pays for buys at least that much.
  for (const auto& [sell, buy, amount] :
       std::vector<std::tuple<Currency, Currency, int64_t>>{{kKrw, kUsd, 1'000'000},
                                                            {kKrw, kJpy, 12'345},
                                                            {kUsd, kKrw, 98'765},
                                                            {kJpy, kKrw, 777}}) {
    INFO(sell.code << " -> " << buy.code << " " << amount);
    const QuoteAmounts fixed_sell = MustPrice(table, {sell, buy, Side::kSell, amount});
    const QuoteAmounts same_buy = MustPrice(table, {sell, buy, Side::kBuy, fixed_sell.buy_minor});
    CHECK(same_buy.sell_minor <= amount);

    const QuoteAmounts fixed_buy = MustPrice(table, {sell, buy, Side::kBuy, amount});
    const QuoteAmounts same_sell = MustPrice(table, {sell, buy, Side::kSell, fixed_buy.sell_minor});
    CHECK(same_sell.buy_minor >= amount);
    // One minor unit less would not have paid for it.
    if (fixed_buy.sell_minor > 1) {
      absl::StatusOr<QuoteAmounts> less =
          table.Price({sell, buy, Side::kSell, fixed_buy.sell_minor - 1});
      CHECK((!less.ok() || less->buy_minor < amount));
    }
  }

  // A round trip through the spread loses money for the customer, never gains it.
  const QuoteAmounts bought = MustPrice(table, {kKrw, kUsd, Side::kSell, 1'000'000});
  const QuoteAmounts sold_back = MustPrice(table, {kUsd, kKrw, Side::kSell, bought.buy_minor});
  CHECK(sold_back.buy_minor < 1'000'000);
}

TEST_CASE("amounts too small to buy a minor unit are refused", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);
  // 13 KRW buys 0.94 cents.
  CHECK(PriceError(table, {kKrw, kUsd, Side::kSell, 13}) ==
        "the amount is too small to exchange: 13 KRW buys less than 0.01 USD at 1383.9525 KRW "
        "per USD");
  CHECK(MustPrice(table, {kKrw, kUsd, Side::kSell, 14}).buy_minor == 1);
  // 9 KRW buys 0.98 yen; 10 KRW buys one.
  CHECK_THAT(PriceError(table, {kKrw, kJpy, Side::kSell, 9}), Catch::Contains("too small"));
  CHECK(MustPrice(table, {kKrw, kJpy, Side::kSell, 10}).buy_minor == 1);
  // Selling foreign currency for KRW at a rate below 1 KRW per unit can also round to nothing.
  const RateTable cheap = MustParse("JPY 0.5", 0);
  CHECK(PriceError(cheap, {kJpy, kKrw, Side::kSell, 1}) ==
        "the amount is too small to exchange: 1 JPY buys less than 1 KRW at 0.5 KRW per JPY");
  CHECK(MustPrice(cheap, {kJpy, kKrw, Side::kSell, 2}).buy_minor == 1);
  // A charge never rounds to nothing: 1 KRW bought costs 2 yen, not 0.
  CHECK(MustPrice(cheap, {kJpy, kKrw, Side::kBuy, 1}).sell_minor == 2);
}

TEST_CASE("bad amounts, bad pairs and amounts beyond the maximum are refused", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);

  for (int64_t amount :
       {int64_t{0}, int64_t{-1}, INT64_MIN, limits::kAmountMinorMax + 1, INT64_MAX}) {
    INFO(amount);
    CHECK_THAT(PriceError(table, {kKrw, kUsd, Side::kSell, amount}), Catch::StartsWith("amount "));
  }
  CHECK(PriceError(table, {kUsd, kEur, Side::kSell, 100}) ==
        "fxmesh exchanges between KRW and another currency; cannot sell USD for EUR");
  CHECK_THAT(PriceError(table, {kKrw, kKrw, Side::kSell, 100}),
             Catch::StartsWith("fxmesh exchanges between KRW and another currency"));
  CHECK(PriceError(table, {kKrw, Currency{"GBP", 2}, Side::kSell, 100}) ==
        "no rate for 'GBP'; rates exist for USD, JPY, EUR");
  CHECK(PriceError(table, {kKrw, Currency{"USD", 3}, Side::kSell, 100}) ==
        "currency USD has 2 decimals in fxmesh's table, not 3");
  CHECK(PriceError(table, {Currency{"KRW", 2}, kUsd, Side::kSell, 100}) ==
        "currency KRW has 0 decimals in fxmesh's table, not 2");

  // The largest rate makes the largest products: 10^15 cents × 10^12 KRW per dollar is 10^25 KRW,
  // which __int128 holds and the per-request maximum refuses.
  const RateTable huge = MustParse("USD 1000000000000", 1000);
  CHECK(PriceError(huge, {kUsd, kKrw, Side::kSell, limits::kAmountMinorMax}) ==
        "the amount is too large to exchange: 10,000,000,000,000.00 USD comes to more than the "
        "per-request maximum of 1,000,000,000,000,000 KRW");
  CHECK_THAT(PriceError(huge, {kKrw, kUsd, Side::kBuy, limits::kAmountMinorMax}),
             Catch::StartsWith("the amount is too large to exchange"));
  // The other way round the same amounts are small: 10^15 KRW buys 10^15 × 100 / (1.1 × 10^12)
  // = 90909.09 cents.
  CHECK(MustPrice(huge, {kKrw, kUsd, Side::kSell, limits::kAmountMinorMax}).buy_minor == 90'909);
  // 10^15 KRW at a bid of 0.9 × 10^12 costs 111111.11 cents, so 111112.
  CHECK(MustPrice(huge, {kUsd, kKrw, Side::kBuy, limits::kAmountMinorMax}).sell_minor == 111'112);

  // Exactly at the maximum is allowed; one unit of rate beyond it is not.
  const RateTable par = MustParse("JPY 1", 0);
  CHECK(MustPrice(par, {kJpy, kKrw, Side::kSell, limits::kAmountMinorMax}).buy_minor ==
        limits::kAmountMinorMax);
  const RateTable above_par = MustParse("JPY 1.000001", 0);
  CHECK_THAT(PriceError(above_par, {kJpy, kKrw, Side::kSell, limits::kAmountMinorMax}),
             Catch::Contains("too large"));
  CHECK_THAT(PriceError(above_par, {kKrw, kJpy, Side::kBuy, limits::kAmountMinorMax}),
             Catch::Contains("too large"));
  // At 1.000001 KRW per yen the counter-amount crosses the maximum between adjacent amounts:
  // 999'999'000'001'000 yen is worth 10^15 + 0.001 KRW, received as exactly 10^15, while one yen
  // more is worth 10^15 + 1.001001. Charged, 999'999'000'000'999 yen cost 10^15 - 0.999001 KRW,
  // rounded up to exactly 10^15, while one yen more costs 10^15 + 0.001, rounded up past it.
  CHECK(MustPrice(above_par, {kJpy, kKrw, Side::kSell, 999'999'000'001'000}).buy_minor ==
        limits::kAmountMinorMax);
  CHECK_THAT(PriceError(above_par, {kJpy, kKrw, Side::kSell, 999'999'000'001'001}),
             Catch::Contains("too large"));
  CHECK(MustPrice(above_par, {kKrw, kJpy, Side::kBuy, 999'999'000'000'999}).sell_minor ==
        limits::kAmountMinorMax);
  CHECK_THAT(PriceError(above_par, {kKrw, kJpy, Side::kBuy, 999'999'000'001'000}),
             Catch::Contains("too large"));
}

TEST_CASE("amounts convert to KRW at the mid rate, rounded up, for daily limits", "[unit]") {
  const RateTable table = MustParse(kRatesFile, kSpreadBps);
  CHECK(*table.ToKrwMinor(kKrw, 500) == 500);
  // 100.00 USD × 1370.25 = 137025 KRW exactly; 0.01 USD = 13.7025 KRW, so 14.
  CHECK(*table.ToKrwMinor(kUsd, 10'000) == 137'025);
  CHECK(*table.ToKrwMinor(kUsd, 1) == 14);
  // 1 yen = 9.1234 KRW, so 10.
  CHECK(*table.ToKrwMinor(kJpy, 1) == 10);
  CHECK(*table.ToKrwMinor(kJpy, 1'000) == 9'124);

  CHECK(table.ToKrwMinor(Currency{"GBP", 2}, 1).status().message() ==
        "no rate for 'GBP'; rates exist for USD, JPY, EUR");
  CHECK(absl::IsInvalidArgument(table.ToKrwMinor(kUsd, 0).status()));
  CHECK(absl::IsInvalidArgument(table.ToKrwMinor(kKrw, -5).status()));
  CHECK(absl::IsInvalidArgument(table.ToKrwMinor(Currency{"JPY", 2}, 1).status()));

  const RateTable huge = MustParse("USD 1000000000000", 0);
  absl::StatusOr<int64_t> too_large = huge.ToKrwMinor(kUsd, limits::kAmountMinorMax);
  CHECK(absl::IsInvalidArgument(too_large.status()));
  CHECK_THAT(std::string(too_large.status().message()), Catch::Contains("per-request maximum"));
}

TEST_CASE("rates format as trimmed decimals", "[unit]") {
  CHECK(FormatRate(1'370'250'000) == "1370.25");
  CHECK(FormatRate(1'370'000'000) == "1370");
  CHECK(FormatRate(9'123'400) == "9.1234");
  CHECK(FormatRate(500'000) == "0.5");
  CHECK(FormatRate(1) == "0.000001");
  CHECK(FormatRate(0) == "0");
  CHECK(FormatRate(-1'500'000) == "-1.5");
  CHECK(FormatRate(kRateMicrosMax) == "1000000000000");
  CHECK(FormatRate(INT64_MIN) == "-9223372036854.775808");
}

// A log-uniform value in [low, high], so small and large magnitudes are both well covered.
int64_t LogUniform(std::mt19937_64& random, int64_t low, int64_t high) {
  std::uniform_int_distribution<int> digits_dist(0, 17);
  for (;;) {
    int64_t scale = 1;
    for (int digits = digits_dist(random); digits > 0; --digits) scale *= 10;
    std::uniform_int_distribution<int64_t> value_dist(scale, scale * 10 - 1);
    const int64_t value = value_dist(random);
    if (value >= low && value <= high) return value;
  }
}

TEST_CASE("over many random quotes, rounding is exact and always in the bank's favour", "[unit]") {
  std::mt19937_64 random(20240611);
  const std::vector<Currency> foreign = {kUsd, kJpy, Currency{"KWD", 3}};
  std::uniform_int_distribution<int> spread_dist(0, kSpreadBpsMax);
  std::uniform_int_distribution<size_t> currency_dist(0, foreign.size() - 1);
  int priced = 0;
  int too_small = 0;
  int too_large = 0;

  for (int i = 0; i < 20'000; ++i) {
    const Currency& fx = foreign[currency_dist(random)];
    const int spread_bps = spread_dist(random);
    const int64_t mid = LogUniform(random, 2, kRateMicrosMax);
    // The rate goes through the file format, so FormatRate and Parse must round-trip it exactly.
    const RateTable table = MustParse(absl::StrCat(fx.code, " ", FormatRate(mid)), spread_bps);
    REQUIRE(table.Find(fx.code)->mid_micros == mid);
    const int64_t amount = LogUniform(random, 1, limits::kAmountMinorMax);
    INFO(fx.code << " mid " << mid << " spread " << spread_bps << " amount " << amount);

    // One foreign minor unit is worth rate / (kRateScale × 10^decimals) KRW (KRW has 0 decimals),
    // so a KRW amount k and a foreign amount f compare as k × krw_weight against f × rate.
    Int128 pow10 = 1;
    for (int d = 0; d < fx.decimals; ++d) pow10 *= 10;
    const Int128 krw_weight = Int128{kRateScale} * pow10;
    const int64_t ask = AskMicros(mid, spread_bps);
    const int64_t bid = BidMicros(mid, spread_bps);
    const Int128 max = limits::kAmountMinorMax;

    // Customer sells KRW, fixes the KRW: receives the most foreign currency that K pays for.
    absl::StatusOr<QuoteAmounts> q = table.Price({kKrw, fx, Side::kSell, amount});
    const Int128 k_value = Int128{amount} * krw_weight;
    if (q.ok()) {
      ++priced;
      CHECK(q->rate_micros == ask);
      CHECK(Int128{q->buy_minor} * ask <= k_value);     // never more than K is worth
      CHECK(Int128{q->buy_minor + 1} * ask > k_value);  // one more unit would cost more than K
    } else if (absl::StrContains(q.status().message(), "too small")) {
      ++too_small;
      CHECK(Int128{ask} > k_value);
    } else {
      ++too_large;
      CHECK((max + 1) * ask <= k_value);
    }

    // Customer sells KRW, fixes the foreign amount: charged the least KRW that pays for it.
    q = table.Price({kKrw, fx, Side::kBuy, amount});
    const Int128 f_cost = Int128{amount} * ask;
    if (q.ok()) {
      ++priced;
      CHECK(Int128{q->sell_minor} * krw_weight >= f_cost);
      CHECK(Int128{q->sell_minor - 1} * krw_weight < f_cost);
    } else {
      ++too_large;
      CHECK_THAT(std::string(q.status().message()), Catch::Contains("too large"));
      CHECK(max * krw_weight < f_cost);
    }

    // Customer sells foreign currency, fixes it: receives the most KRW it is worth at the bid.
    q = table.Price({fx, kKrw, Side::kSell, amount});
    const Int128 f_value = Int128{amount} * bid;
    if (q.ok()) {
      ++priced;
      CHECK(q->rate_micros == bid);
      CHECK(Int128{q->buy_minor} * krw_weight <= f_value);
      CHECK(Int128{q->buy_minor + 1} * krw_weight > f_value);
    } else if (absl::StrContains(q.status().message(), "too small")) {
      ++too_small;
      CHECK(krw_weight > f_value);
    } else {
      ++too_large;
      CHECK((max + 1) * krw_weight <= f_value);
    }

    // Customer sells foreign currency, fixes the KRW: charged the least foreign currency for it.
    q = table.Price({fx, kKrw, Side::kBuy, amount});
    if (q.ok()) {
      ++priced;
      CHECK(Int128{q->sell_minor} * bid >= k_value);
      CHECK(Int128{q->sell_minor - 1} * bid < k_value);
    } else {
      ++too_large;
      CHECK_THAT(std::string(q.status().message()), Catch::Contains("too large"));
      CHECK(max * bid < k_value);
    }
  }
  // The sweep must actually reach every outcome, or it proves less than it claims.
  CHECK(priced > 40'000);
  CHECK(too_small > 1'000);
  CHECK(too_large > 1'000);
}

}  // namespace
}  // namespace fxmesh::coordinator
