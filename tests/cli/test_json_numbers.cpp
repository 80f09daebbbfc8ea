/// Unit tests of JSON numbers: non-finite spellings, shortest round-trip output, bare tokens,
/// and parse errors with line and column.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

#include "cli_test_support.h"
#include "xentcheck/cli/json_numbers.h"
#include "xentcheck/cli/json_out.h"
#include "xentcheck/cli/json_parse.h"

namespace xentcheck::cli {
namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

TEST(JsonNumbers, AcceptsEveryNonFiniteSpellingInAnyCase) {
    for (const char* s : {"inf", "INF", "+inf", "Infinity", "+INFINITY", "infinity"}) {
        ASSERT_TRUE(parse_non_finite(s)) << s;
        EXPECT_EQ(*parse_non_finite(s), inf) << s;
    }
    for (const char* s : {"-inf", "-Infinity", "-INF", "-iNfInItY"}) {
        ASSERT_TRUE(parse_non_finite(s)) << s;
        EXPECT_EQ(*parse_non_finite(s), -inf) << s;
    }
    for (const char* s : {"nan", "NaN", "NAN", "nAn"}) {
        ASSERT_TRUE(parse_non_finite(s)) << s;
        EXPECT_TRUE(std::isnan(*parse_non_finite(s))) << s;
    }
}

TEST(JsonNumbers, RejectsOtherText) {
    for (const char* s : {"", "-nan", "+nan", "infinit", "in f", " inf", "inf ", "1", "1e400",
                          "--inf", "nan0", "Infinityy"}) {
        EXPECT_FALSE(parse_non_finite(s)) << '"' << s << '"';
    }
}

TEST(JsonNumbers, JsonToDoubleTakesNumbersAndNonFiniteStringsOnly) {
    EXPECT_EQ(*json_to_double(nlohmann::json(3)), 3.0);
    EXPECT_EQ(*json_to_double(nlohmann::json(-7)), -7.0);
    EXPECT_EQ(*json_to_double(nlohmann::json(18446744073709551615ull)), 18446744073709551615.0);
    EXPECT_EQ(*json_to_double(nlohmann::json(0.25)), 0.25);
    EXPECT_EQ(*json_to_double(nlohmann::json("-Infinity")), -inf);
    EXPECT_FALSE(json_to_double(nlohmann::json("1.5")));
    EXPECT_FALSE(json_to_double(nlohmann::json(true)));
    EXPECT_FALSE(json_to_double(nlohmann::json(nullptr)));
    EXPECT_FALSE(json_to_double(nlohmann::json::array({1})));
}

TEST(JsonNumbers, WritesNonFiniteValuesAsStrings) {
    EXPECT_EQ(json_number(std::numeric_limits<double>::quiet_NaN()), "\"nan\"");
    EXPECT_EQ(json_number(inf), "\"inf\"");
    EXPECT_EQ(json_number(-inf), "\"-inf\"");
    EXPECT_EQ(json_number(-0.0), "-0.0");
    EXPECT_EQ(json_number(0.1), "0.1");
    EXPECT_EQ(json_number(1e300), "1e+300");
}

TEST(JsonNumbers, EveryDoubleRoundTripsThroughTheWrittenText) {
    std::mt19937_64 rng(20260528);
    std::vector<double> values = {std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::min(),
                                  std::numeric_limits<double>::max(),
                                  std::numeric_limits<double>::epsilon(),
                                  0.1 + 0.2,
                                  -1.2039728043259361,
                                  5e-324,
                                  123456789012345678.0};
    for (int k = 0; k < 20000; ++k) {
        const std::uint64_t bits = rng();
        double x;
        std::memcpy(&x, &bits, sizeof x);
        if (std::isfinite(x)) values.push_back(x);
    }
    for (const double x : values) {
        const std::string text = json_number(x);
        const double back = std::strtod(text.c_str(), nullptr);
        ASSERT_EQ(std::memcmp(&back, &x, sizeof x), 0) << text;
        // And through the JSON parser the reader uses.
        ASSERT_EQ(*json_to_double(parse_json_text(text)), x) << text;
    }
}

// write_json_number lays out Dragonbox's digits itself (fmt's "{}" was the slow part of the
// JSON report); the text must stay exactly what fmt writes, which the reports were built on.
TEST(JsonNumbers, TextIsExactlyFmtsShortestFormat) {
    std::mt19937_64 rng(20260601);
    std::vector<double> values = {std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::min(),
                                  std::numeric_limits<double>::max(),
                                  1.0,
                                  10.0,
                                  1e15,
                                  1e16,
                                  123456789012345678.0,
                                  9999999999999998.0,
                                  1e-4,
                                  1e-5,
                                  0.00012345,
                                  1.5e-5,
                                  1e100,
                                  1e-100,
                                  1e-310,
                                  0.5,
                                  -0.75,
                                  3.0,
                                  4.2483542552915889e-18};
    for (int k = 0; k < 200000; ++k) {
        const std::uint64_t bits = rng();
        double x;
        std::memcpy(&x, &bits, sizeof x);
        if (std::isfinite(x)) values.push_back(x);
        // Decimal exponents near the fixed/exponent switch and short significands.
        const double y =
            std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 120));
        values.push_back(y);
        values.push_back(-std::round(y * 1e3) / 1e3);
        values.push_back(static_cast<double>(rng() % 100000) *
                         std::pow(10.0, static_cast<int>(rng() % 44) - 22));
    }
    for (const double x : values) {
        const std::string expected = x == 0 && std::signbit(x) ? "-0.0" : fmt::format("{}", x);
        ASSERT_EQ(json_number(x), expected);
    }
}

TEST(JsonNumbers, RewritesBareTokensOutsideStringsOnly) {
    const std::string text =
        R"({"a": NaN, "b": [Infinity, -Infinity], "NaN": "NaN Infinity", "q": "\"NaN"})";
    bare_token_rewrite r;
    ASSERT_TRUE(rewrite_bare_non_finite(text, r));
    EXPECT_EQ(
        r.text,
        R"({"a": "NaN", "b": ["Infinity", "-Infinity"], "NaN": "NaN Infinity", "q": "\"NaN"})");
    EXPECT_EQ(r.insertions.size(), 6u);
    const auto doc = parse_json_text(text);
    EXPECT_TRUE(std::isnan(*json_to_double(doc["a"])));
    EXPECT_EQ(*json_to_double(doc["b"][0]), inf);
    EXPECT_EQ(*json_to_double(doc["b"][1]), -inf);
    EXPECT_EQ(doc["NaN"], "NaN Infinity");
    EXPECT_EQ(doc["q"], "\"NaN");
}

TEST(JsonNumbers, LeavesTextWithoutTokensAlone) {
    bare_token_rewrite r;
    EXPECT_FALSE(rewrite_bare_non_finite(R"({"name": "Nothing In here", "x": [1, 2]})", r));
    EXPECT_FALSE(rewrite_bare_non_finite(R"({"x": 1e5})", r));
    EXPECT_TRUE(r.text.empty());
}

TEST(JsonParse, SyntaxErrorsGiveLineAndColumn) {
    try {
        parse_json_text("{\"a\":\n [1,\n 2,,3]}");
        FAIL() << "no error";
    } catch (const json_syntax_error& e) {
        EXPECT_EQ(e.line(), 3u);
        EXPECT_EQ(e.column(), 4u);
        EXPECT_NE(std::string(e.what()).find("unexpected ','"), std::string::npos) << e.what();
    }
}

TEST(JsonParse, ErrorPositionsRefertoTheOriginalTextAfterARewrite) {
    // The rewrite inserts quotes around NaN; the column must still be that of the raw text.
    try {
        parse_json_text("[NaN, NaN, 1,, 2]");
        FAIL() << "no error";
    } catch (const json_syntax_error& e) {
        EXPECT_EQ(e.line(), 1u);
        EXPECT_EQ(e.column(), 14u);
    }
}

TEST(JsonParse, RejectsTrailingTextOverflowAndEmptyInput) {
    EXPECT_THROW(parse_json_text("{} {}"), json_syntax_error);
    EXPECT_THROW(parse_json_text(""), json_syntax_error);
    EXPECT_THROW(parse_json_text("[1e400]"), json_syntax_error);
    EXPECT_THROW(parse_json_text("[nan]"), json_syntax_error);  // only NaN is Python's token
}

TEST(JsonParse, RepeatedKeysAreKeptApart) {
    const auto doc = parse_json_text(R"({"target": 1, "target": 2})");
    EXPECT_EQ(doc["target"], 1);
    EXPECT_EQ(doc[std::string(duplicate_key_prefix) + "target"], 2);
}

TEST(JsonParse, DeepNestingIsAnErrorNotACrash) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_THROW(parse_json_text(deep), json_syntax_error);
    const std::string ok = std::string(max_json_depth, '[') + std::string(max_json_depth, ']');
    EXPECT_NO_THROW(parse_json_text(ok));
}

TEST(JsonOut, StringsAreEscapedAndAlwaysValidUtf8) {
    EXPECT_EQ(json_string("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
    EXPECT_EQ(json_string("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
    EXPECT_EQ(json_string("bad \xFF byte"), "\"bad \xEF\xBF\xBD byte\"");
    EXPECT_EQ(parse_json_text(json_string("x\xC3(y")).get<std::string>(), "x\xEF\xBF\xBD(y");
}

}  // namespace
}  // namespace xentcheck::cli
