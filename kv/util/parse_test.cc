#include "kv/util/parse.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kv/util/base64.h"
#include "kv/util/escape.h"
#include "kv/util/format.h"
#include "kv/util/json.h"

// From parse_fuzzer.cc, linked into this test.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace shmkv::util {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// Expects an InvalidArgument error whose message contains every fragment.
template <typename T>
void ExpectBad(const absl::StatusOr<T>& result, const std::vector<std::string>& fragments) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& f : fragments) {
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(f));
  }
}

TEST(ParseSize, BareBytes) {
  EXPECT_EQ(ParseSize("0").value(), 0u);
  EXPECT_EQ(ParseSize("4096").value(), 4096u);
  EXPECT_EQ(ParseSize("007").value(), 7u);
  EXPECT_EQ(ParseSize("18446744073709551615").value(), UINT64_MAX);
}

TEST(ParseSize, BinarySuffixesAnyCase) {
  EXPECT_EQ(ParseSize("64KiB").value(), 64u << 10);
  EXPECT_EQ(ParseSize("64k").value(), 64u << 10);
  EXPECT_EQ(ParseSize("64K").value(), 64u << 10);
  EXPECT_EQ(ParseSize("64kib").value(), 64u << 10);
  EXPECT_EQ(ParseSize("64MiB").value(), uint64_t{64} << 20);
  EXPECT_EQ(ParseSize("64m").value(), uint64_t{64} << 20);
  EXPECT_EQ(ParseSize("64MIB").value(), uint64_t{64} << 20);
  EXPECT_EQ(ParseSize("1GiB").value(), uint64_t{1} << 30);
  EXPECT_EQ(ParseSize("1g").value(), uint64_t{1} << 30);
  EXPECT_EQ(ParseSize("2TiB").value(), uint64_t{2} << 40);
  EXPECT_EQ(ParseSize("2t").value(), uint64_t{2} << 40);
  EXPECT_EQ(ParseSize("16777215TiB").value(), uint64_t{16777215} << 40);
  EXPECT_EQ(ParseSize("0GiB").value(), 0u);
}

TEST(ParseSize, MessageShowsTextAndExample) {
  absl::StatusOr<uint64_t> r = ParseSize("12XB");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "bad size \"12XB\": unknown suffix \"XB\"; use bytes or a suffix "
            "K/KiB, M/MiB, G/GiB, T/TiB (e.g. 64MiB)");
}

TEST(ParseSize, Rejects) {
  ExpectBad(ParseSize(""), {"bad size \"\"", "empty", "e.g. 64MiB"});
  ExpectBad(ParseSize("-5"), {"\"-5\"", "negative"});
  ExpectBad(ParseSize("-5MiB"), {"negative"});
  ExpectBad(ParseSize("+5"), {"\"+5\"", "e.g. 64MiB"});
  ExpectBad(ParseSize("1.5GiB"), {"\"1.5GiB\"", "fractions"});
  ExpectBad(ParseSize("1,5GiB"), {"fractions"});
  ExpectBad(ParseSize("64KB"), {"\"64KB\"", "ambiguous"});
  ExpectBad(ParseSize("64mb"), {"ambiguous"});
  ExpectBad(ParseSize("64B"), {"unknown suffix \"B\""});
  ExpectBad(ParseSize("64 MiB"), {"unknown suffix \" MiB\""});
  ExpectBad(ParseSize(" 64"), {"e.g. 64MiB"});
  ExpectBad(ParseSize("64 "), {"unknown suffix"});
  ExpectBad(ParseSize("MiB"), {"\"MiB\""});
  ExpectBad(ParseSize("0x10"), {"unknown suffix \"x10\""});
  ExpectBad(ParseSize("1e6"), {"unknown suffix"});
  ExpectBad(ParseSize("64MiBs"), {"unknown suffix"});
  ExpectBad(ParseSize("18446744073709551616"), {"too large"});
  ExpectBad(ParseSize("99999999999999999999999"), {"too large"});
  ExpectBad(ParseSize("16777216TiB"), {"too large"});
  ExpectBad(ParseSize("17179869184GiB"), {"too large"});
  ExpectBad(ParseSize(absl::string_view("1\0", 2)), {"\"1\\x00\""});
}

TEST(ParseSize, LongJunkIsCutInTheMessage) {
  const std::string junk(1000, 'z');
  absl::StatusOr<uint64_t> r = ParseSize(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(std::string(64, 'z') + "...\""));
  EXPECT_LT(r.status().message().size(), 300u);
}

TEST(ParseDuration, Forms) {
  EXPECT_EQ(ParseDuration("500ms").value(), absl::Milliseconds(500));
  EXPECT_EQ(ParseDuration("30s").value(), absl::Seconds(30));
  EXPECT_EQ(ParseDuration("30").value(), absl::Seconds(30));
  EXPECT_EQ(ParseDuration("5m").value(), absl::Minutes(5));
  EXPECT_EQ(ParseDuration("2h").value(), absl::Hours(2));
  EXPECT_EQ(ParseDuration("1d").value(), absl::Hours(24));
  EXPECT_EQ(ParseDuration("0").value(), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("0ms").value(), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("1.5s").value(), absl::Milliseconds(1500));
  EXPECT_EQ(ParseDuration("1.5").value(), absl::Milliseconds(1500));
  EXPECT_EQ(ParseDuration("0.25ms").value(), absl::Microseconds(250));
  EXPECT_EQ(ParseDuration("1.5h").value(), absl::Minutes(90));
  EXPECT_EQ(ParseDuration("0.000000001s").value(), absl::Nanoseconds(1));
  EXPECT_EQ(ParseDuration("1.250000000000s").value(), absl::Milliseconds(1250));
  EXPECT_EQ(ParseDuration("500MS").value(), absl::Milliseconds(500));
  EXPECT_EQ(ParseDuration("2H").value(), absl::Hours(2));
  EXPECT_EQ(ParseDuration("9223372036.854775807s").value(), absl::Nanoseconds(INT64_MAX));
  EXPECT_EQ(ParseDuration("106751d").value(), absl::Hours(24 * 106751));
}

TEST(ParseDuration, Rejects) {
  ExpectBad(ParseDuration(""), {"bad duration \"\"", "empty", "e.g. 500ms"});
  ExpectBad(ParseDuration("-5s"), {"\"-5s\"", "negative"});
  ExpectBad(ParseDuration("5x"), {"unknown unit \"x\"", "e.g. 500ms"});
  ExpectBad(ParseDuration("5sec"), {"unknown unit"});
  ExpectBad(ParseDuration("1h30m"), {"unknown unit \"h30m\""});
  ExpectBad(ParseDuration("5 s"), {"unknown unit"});
  ExpectBad(ParseDuration("s"), {"\"s\""});
  ExpectBad(ParseDuration(".5s"), {"\".5s\""});
  ExpectBad(ParseDuration("1.s"), {"digit must follow"});
  ExpectBad(ParseDuration("1.0000000001s"), {"9 decimal places"});
  ExpectBad(ParseDuration("0.0000001ms"), {"whole number of nanoseconds"});
  ExpectBad(ParseDuration("106752d"), {"too large"});
  ExpectBad(ParseDuration("9223372036.854775808s"), {"too large"});
  ExpectBad(ParseDuration("99999999999999999999"), {"too large"});
  ExpectBad(ParseDuration("inf"), {"\"inf\""});
}

TEST(ParseIpcKey, HexAndDecimal) {
  EXPECT_EQ(ParseIpcKey("0x5f3e0001").value(), 0x5f3e0001);
  EXPECT_EQ(ParseIpcKey("0X5F3E0001").value(), 0x5f3e0001);
  EXPECT_EQ(ParseIpcKey("1597898753").value(), 0x5f3e0001);
  EXPECT_EQ(ParseIpcKey("1").value(), 1);
  EXPECT_EQ(ParseIpcKey("0x00000001").value(), 1);
  // The whole 32-bit range, kept as key_t's bit pattern.
  EXPECT_EQ(ParseIpcKey("0xffffffff").value(), static_cast<key_t>(-1));
  EXPECT_EQ(ParseIpcKey("4294967295").value(), static_cast<key_t>(-1));
  EXPECT_EQ(ParseIpcKey("0x80000000").value(), static_cast<key_t>(0x80000000u));
}

TEST(ParseIpcKey, Rejects) {
  ExpectBad(ParseIpcKey("0"), {"\"0\"", "IPC_PRIVATE", "e.g. 0x5f3e0001"});
  ExpectBad(ParseIpcKey("0x0"), {"IPC_PRIVATE"});
  ExpectBad(ParseIpcKey(""), {"empty"});
  ExpectBad(ParseIpcKey("-1"), {"negative"});
  ExpectBad(ParseIpcKey("0x"), {"no digits"});
  ExpectBad(ParseIpcKey("0x5g"), {"not a hex digit at byte 3"});
  ExpectBad(ParseIpcKey("0x100000000"), {"too large"});
  ExpectBad(ParseIpcKey("0x1000000000000000000000"), {"too large"});
  ExpectBad(ParseIpcKey("4294967296"), {"too large"});
  ExpectBad(ParseIpcKey("12ab"), {"\"12ab\"", "e.g. 0x5f3e0001"});
  ExpectBad(ParseIpcKey("5f3e0001"), {"e.g. 0x5f3e0001"});
  ExpectBad(ParseIpcKey(" 1"), {"e.g. 0x5f3e0001"});
}

TEST(ParseCount, DecimalUnitsAndFractions) {
  EXPECT_EQ(ParseCount("1000000").value(), 1000000u);
  EXPECT_EQ(ParseCount("1M").value(), 1000000u);
  EXPECT_EQ(ParseCount("250k").value(), 250000u);
  EXPECT_EQ(ParseCount("1.5M").value(), 1500000u);
  EXPECT_EQ(ParseCount("2g").value(), 2000000000u);
  EXPECT_EQ(ParseCount("1.250k").value(), 1250u);
  EXPECT_EQ(ParseCount("18446744073709551615").value(), UINT64_MAX);
}

TEST(ParseCount, Rejects) {
  ExpectBad(ParseCount(""), {"empty"});
  ExpectBad(ParseCount("abc"), {"\"abc\"", "e.g. 1000000, 1M, 250k"});
  ExpectBad(ParseCount("3X"), {"unknown suffix \"X\""});
  ExpectBad(ParseCount("1.5"), {"not a whole number"});
  ExpectBad(ParseCount("1.0001k"), {"not a whole number"});
  ExpectBad(ParseCount("1."), {"digit must follow"});
  ExpectBad(ParseCount(" 1"), {"e.g. 1000000"});
  ExpectBad(ParseCount("+1"), {"e.g. 1000000"});
  ExpectBad(ParseCount("-1"), {"negative"});
  ExpectBad(ParseCount("1 "), {"unknown suffix"});
  ExpectBad(ParseCount("18446744073709551616"), {"too large"});
  ExpectBad(ParseCount("18446744073709552k"), {"too large"});
}

TEST(ParseUnsigned, StrictDecimalAndHex) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseUnsigned("42", 100, false, &v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(ParseUnsigned("0x2A", 100, true, &v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(ParseUnsigned("18446744073709551615", UINT64_MAX, false, &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseUnsigned("0x2A", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("101", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("0x", 100, true, &v));
  EXPECT_FALSE(ParseUnsigned(" 1", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("+1", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("1 ", 100, false, &v));
  EXPECT_FALSE(ParseUnsigned("18446744073709551616", UINT64_MAX, false, &v));
}

TEST(ParseSigned, Int64Range) {
  int64_t v = 0;
  EXPECT_TRUE(ParseSigned("-5", &v));
  EXPECT_EQ(v, -5);
  EXPECT_TRUE(ParseSigned("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(ParseSigned("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_FALSE(ParseSigned("9223372036854775808", &v));
  EXPECT_FALSE(ParseSigned("-9223372036854775809", &v));
  EXPECT_FALSE(ParseSigned("+5", &v));
  EXPECT_FALSE(ParseSigned("-", &v));
  EXPECT_FALSE(ParseSigned(" 5", &v));
}

TEST(EscapeKey, Forms) {
  EXPECT_EQ(EscapeKey("user:42 name"), "user:42 name");
  EXPECT_EQ(EscapeKey("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapeKey(absl::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(EscapeKey("\n\x7f\xff\xe9"), "\\x0a\\x7f\\xff\\xe9");
  EXPECT_EQ(EscapeKey(""), "");
}

TEST(UnescapeKey, Forms) {
  EXPECT_EQ(UnescapeKey("user:42").value(), "user:42");
  EXPECT_EQ(UnescapeKey("a\\\\b").value(), "a\\b");
  EXPECT_EQ(UnescapeKey("a\\x00b").value(), std::string("a\0b", 3));
  EXPECT_EQ(UnescapeKey("\\xFF\\xfF").value(), "\xff\xff");
  EXPECT_EQ(UnescapeKey("").value(), "");
}

TEST(UnescapeKey, Rejects) {
  ExpectBad(UnescapeKey("abc\\"), {"lone backslash", "byte 3", "\\xHH"});
  ExpectBad(UnescapeKey("\\n"), {"unknown escape \"\\\\n\" at byte 0"});
  ExpectBad(UnescapeKey("a\\x4"), {"needs two hex digits"});
  ExpectBad(UnescapeKey("a\\xg0"), {"needs two hex digits"});
  ExpectBad(UnescapeKey("a\\X41"), {"unknown escape"});
}

TEST(EscapeKey, RoundTripsEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  all += all;
  EXPECT_EQ(UnescapeKey(EscapeKey(all)).value(), all);
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_EQ(UnescapeKey(EscapeKey(one)).value(), one) << b;
  }
}

TEST(JsonString, Forms) {
  EXPECT_EQ(JsonString(""), "\"\"");
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(JsonString(absl::string_view("\0\n\x1f\x7f", 4)), "\"\\u0000\\u000a\\u001f\\u007f\"");
  // Well-formed UTF-8 (2, 3 and 4 bytes, and the highest code point) is kept.
  EXPECT_EQ(JsonString("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
}

TEST(JsonString, InvalidUtf8BytesBecomeLatin1Escapes) {
  EXPECT_EQ(JsonString("\xe9"), "\"\\u00e9\"");             // lone lead byte
  EXPECT_EQ(JsonString("\x80"), "\"\\u0080\"");             // lone continuation
  EXPECT_EQ(JsonString("\xc0\xaf"), "\"\\u00c0\\u00af\"");  // overlong '/'
  EXPECT_EQ(JsonString("\xed\xa0\x80"),
            "\"\\u00ed\\u00a0\\u0080\"");  // surrogate
  EXPECT_EQ(JsonString("\xf4\x90\x80\x80"),
            "\"\\u00f4\\u0090\\u0080\\u0080\"");            // above U+10FFFF
  EXPECT_EQ(JsonString("\xe2\x82"), "\"\\u00e2\\u0082\"");  // truncated
  EXPECT_EQ(JsonString("\xff"
                       "a\xc3\xa9"),
            "\"\\u00ffa\xc3\xa9\"");
}

TEST(JsonObject, FieldsInOrderWithTheirForms) {
  EXPECT_EQ(JsonObject().Build(), "{}");
  EXPECT_EQ(JsonObject()
                .Str("s", "a\"b")
                .U64("u", 18446744073709551615u)
                .I64("i", -3)
                .Bool("t", true)
                .Null("n")
                .Double("d", 2.0 / 3)
                .Double("d0", 1234.4, 0)
                .Double("nan", std::nan(""))
                .StrArray("sa", {"x", ""})
                .Array("a", {"1", "{\"k\":2}"})
                .Array("e", {})
                .Raw("r", "[true]")
                .Build(),
            "{\"s\":\"a\\\"b\",\"u\":18446744073709551615,\"i\":-3,\"t\":true,\"n\":null,"
            "\"d\":0.6667,\"d0\":1234,\"nan\":null,\"sa\":[\"x\",\"\"],\"a\":[1,{\"k\":2}],"
            "\"e\":[],\"r\":[true]}");
}

TEST(Base64, MatchesRfc4648) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64(absl::string_view("\0\xff", 2)), "AP8=");
}

TEST(FormatBytes, Forms) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1024), "1.0 KiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{64} << 20), "64.0 MiB");
  EXPECT_EQ(FormatBytes((uint64_t{1} << 20) - 1), "1.0 MiB");
  EXPECT_EQ(FormatBytes((uint64_t{1} << 20) - 60), "1023.9 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{3} << 30), "3.0 GiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 40), "5.0 TiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 50), "5.0 PiB");
  EXPECT_EQ(FormatBytes(UINT64_MAX), "16.0 EiB");
}

TEST(FormatDuration, Forms) {
  EXPECT_EQ(util::FormatDuration(absl::Hours(2)), "2h");
  EXPECT_EQ(util::FormatDuration(absl::Seconds(30)), "30s");
  EXPECT_EQ(util::FormatDuration(absl::Milliseconds(1500)), "1.5s");
  EXPECT_EQ(util::FormatDuration(absl::Milliseconds(500)), "500ms");
  EXPECT_EQ(util::FormatDuration(absl::Microseconds(250)), "0.25ms");
  EXPECT_EQ(util::FormatDuration(absl::Nanoseconds(1)), "0.000001ms");
  EXPECT_EQ(util::FormatDuration(absl::Minutes(90)), "90m");
  EXPECT_EQ(util::FormatDuration(absl::Seconds(90)), "90s");
  EXPECT_EQ(util::FormatDuration(absl::Hours(48)), "2d");
  EXPECT_EQ(util::FormatDuration(absl::Hours(36)), "36h");
  EXPECT_EQ(util::FormatDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(util::FormatDuration(absl::Seconds(-30)), "-30s");
  EXPECT_EQ(util::FormatDuration(absl::Milliseconds(-1500)), "-1.5s");
  EXPECT_EQ(util::FormatDuration(absl::Milliseconds(-5)), "-5ms");
  EXPECT_EQ(util::FormatDuration(absl::InfiniteDuration()), "inf");
  EXPECT_EQ(util::FormatDuration(-absl::InfiniteDuration()), "-inf");
}

TEST(FormatDuration, ParseReadsItBack) {
  for (absl::Duration d :
       {absl::ZeroDuration(), absl::Nanoseconds(1), absl::Nanoseconds(999999),
        absl::Microseconds(1), absl::Milliseconds(999), absl::Seconds(1),
        absl::Seconds(1) + absl::Nanoseconds(1), absl::Seconds(59), absl::Minutes(59),
        absl::Hours(23), absl::Hours(25), absl::Hours(24 * 365) + absl::Milliseconds(3),
        absl::Nanoseconds(INT64_MAX)}) {
    EXPECT_EQ(ParseDuration(util::FormatDuration(d)).value(), d) << util::FormatDuration(d);
  }
}

// Runs the fuzzer's invariants over hand-picked inputs, so they are checked
// by every `bazel test` and not only by tools/run_fuzzers.sh.
TEST(ParseFuzzer, SeedInputs) {
  const std::vector<std::string> seeds = {
      "",
      "0",
      "4096",
      "64KiB",
      "64mib",
      "1.5GiB",
      "12XB",
      "-1",
      "500ms",
      "1.5s",
      "0.25ms",
      "1d",
      "106751d",
      "0x5f3e0001",
      "4294967295",
      "0x0",
      "a\\\\b",
      "\\x00\\xff",
      "\\q",
      "caf\xc3\xa9",
      "\xed\xa0\x80",
      "\xff\xfe",
      std::string("\0\x01\x7f\x80", 4),
      "9223372036.854775807s",
      std::string(20, '\xff'),
  };
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()), seed.size());
  }
}

}  // namespace
}  // namespace shmkv::util
