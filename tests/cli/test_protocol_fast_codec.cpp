/// The protocol codec's fast paths (cli/check): numbers written exactly as std::to_chars writes
/// them, numbers read exactly as std::from_chars reads them (the shared reader's branch-free
/// path and its general one), and responses read directly only when the general decoder would
/// read the same values.
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cli_test_support.h"
#include "xentcheck/check/json_numbers.h"
#include "xentcheck/check/protocol.h"
#include "xentcheck/common/json_number_reader.h"

namespace xentcheck::check {
namespace {

std::string to_chars_text(double x) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

TEST(ProtocolFastCodec, NumbersAreWrittenExactlyAsToChars) {
    std::mt19937_64 rng(424242);
    std::vector<double> values = {0.0,
                                  -0.0,
                                  1.0,
                                  100000.0,
                                  1e16,
                                  1e22,
                                  1e23,
                                  123456789012345678.0,
                                  0.0001,
                                  1e-5,
                                  1.5e-7,
                                  std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::min(),
                                  std::numeric_limits<double>::max(),
                                  0.1 + 0.2,
                                  static_cast<double>(0.1f)};
    for (int k = 0; k < 200000; ++k) {
        const std::uint64_t bits = rng();
        double x;
        std::memcpy(&x, &bits, sizeof x);
        if (std::isfinite(x)) values.push_back(x);
        values.push_back(static_cast<double>(rng() % 1000000) *
                         std::pow(10.0, static_cast<int>(rng() % 50) - 25));
        values.push_back(static_cast<double>(static_cast<float>(
            std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 90)))));
    }
    for (const double x : values) {
        std::string got;
        append_json_number(got, x);
        ASSERT_EQ(got, to_chars_text(x));
    }
}

/// The length of the JSON number literal at the start of `t` as the reader delimits it, found
/// independently of the reader: '-'?, then '0' or a digit run, then ('.' digits)?, then
/// ([eE] [+-]? digits)?; 0 when there is none, including a '.' or an exponent marker without
/// digits after it ("1." and "1e+" are errors, not "1").
std::size_t json_literal_length(std::string_view t) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9')
            ++i;
        return i - start;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i == t.size() || t[i] < '0' || t[i] > '9') return 0;
    if (t[i] == '0') {
        ++i;
    } else {
        digits();
    }
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (digits() == 0) return 0;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (digits() == 0) return 0;
    }
    return i;
}

/// printf into a string (a fixed-point huge double has over 300 characters).
template <typename... Args>
std::string printed(const char* format, Args... args) {
    char buf[512];
    const int n = std::snprintf(buf, sizeof buf, format, args...);
    return std::string(buf, static_cast<std::size_t>(n));
}

/// A double from one of the ranges a check run's numbers come from, or anywhere.
double random_value(std::mt19937_64& rng) {
    std::uniform_real_distribution<double> unit(-1, 1);
    switch (rng() % 7) {
        case 0:  // a probability
            return std::exp(-std::ldexp(static_cast<double>(rng() >> 11), -48));
        case 1:  // a gradient
            return unit(rng) * 1e-5;
        case 2:  // a logit
            return unit(rng) * 30;
        case 3:  // any scale
            return unit(rng) * std::pow(10.0, static_cast<int>(rng() % 631) - 320);
        case 4:  // any bit pattern (possibly not finite)
            return std::bit_cast<double>(static_cast<std::uint64_t>(rng()));
        case 5:  // a short dyadic value
            return std::ldexp(std::round(unit(rng) * 4096), -static_cast<int>(rng() % 20));
        default:
            return unit(rng);
    }
}

/// A string of digits in the JSON number shape, many of them zeros, with anything from no
/// fraction digit to 30 (and runs of leading zeros after "0."), a missing or long exponent, a
/// leading zero before more digits: the counts and forms that decide the reader's paths.
std::string random_digit_literal(std::mt19937_64& rng) {
    const auto digit = [&](int zero_odds) {
        return static_cast<char>(rng() % zero_odds == 0 ? '0' : '0' + rng() % 10);
    };
    std::string t = rng() % 2 ? "-" : "";
    const int integer = rng() % 3 == 0 ? 2 + static_cast<int>(rng() % 24) : 1;
    for (int j = 0; j < integer; ++j)
        t += digit(3);
    if (rng() % 5 != 0) {
        t += '.';
        const int zeros = rng() % 3 == 0 ? static_cast<int>(rng() % 12) : 0;
        t.append(static_cast<std::size_t>(zeros), '0');
        const int more = static_cast<int>(rng() % 31);
        for (int j = 0; j < more; ++j)
            t += digit(2);
    }
    if (rng() % 3 == 0) {
        t += rng() % 2 ? 'e' : 'E';
        const char* const signs[] = {"", "-", "+"};
        t += signs[rng() % 3];
        // Sometimes up to 60 digits, all but the last few zeros (in range, so a read beyond the
        // text's end changes the result): a literal that alone fills the 48 bytes.
        const int count =
            rng() % 4 == 0 ? static_cast<int>(rng() % 61) : static_cast<int>(rng() % 6);
        for (int j = 0; j < count; ++j)
            t += count - j > 3 ? '0' : digit(5);
    }
    return t;
}

TEST(ProtocolFastCodec, NumbersAreReadExactlyAsFromChars) {
    std::mt19937_64 rng(8128);
    // What follows a literal: a response's separators, the starts of a dangling exponent or
    // a second fraction, whitespace, and nothing.
    const std::vector<std::string> tails = {",", "]", "}", "e", "E-", ".5", " ,", ""};
    std::size_t cases = 0;
    std::size_t fast_path = 0;
    std::size_t failures = 0;  // counted, not stopped at, to tell how far a fault reaches
    const auto check = [&](const std::string& literal) {
        for (const std::string& tail : tails) {
            for (const bool padded : {false, true}) {
                // The text ends right after the tail or after 60 bytes of padding (enough for
                // the branch-free path); digits lie beyond its end, so a read past it would
                // change the result.
                const std::string text = literal + tail + (padded ? std::string(60, ' ') : "");
                const std::string storage = text + std::string(32, '7');
                const char* const first = storage.data();
                const char* const end = first + text.size();
                const std::size_t length = json_literal_length(text);
                const char* expected_end = nullptr;
                double expected = 0;
                if (length != 0) {
                    const auto r = std::from_chars(first, first + length, expected);
                    ASSERT_EQ(r.ptr, first + length) << text;
                    if (r.ec == std::errc()) expected_end = r.ptr;
                }
                ++cases;
                fast_path += end - first >= 48;
                // The reader (branch-free when it can) and its general path alone.
                for (const auto read :
                     {common::read_json_number, common::read_json_number_general}) {
                    double got = 0.5;
                    const char* const got_end = read(first, end, got);
                    if (got_end != expected_end ||
                        (expected_end && std::bit_cast<std::uint64_t>(got) !=
                                             std::bit_cast<std::uint64_t>(expected))) {
                        if (++failures <= 10) {
                            ADD_FAILURE()
                                << "'" << text << "': read " << (got_end ? got_end - first : -1)
                                << " bytes, " << got << "; from_chars "
                                << (expected_end ? expected_end - first : -1) << " bytes, "
                                << expected;
                        }
                    }
                }
            }
        }
    };
    char buf[64];
    for (int k = 0; k < 6000; ++k) {
        const double v = random_value(rng);
        if (std::isfinite(v)) {
            const auto r = std::to_chars(buf, buf + sizeof buf, v);
            check(std::string(buf, r.ptr));
            check(printed("%.17g", v));
            check(printed("%.*f", static_cast<int>(rng() % 26), v));
            std::string scientific =
                printed(rng() % 2 ? "%.*e" : "%.*E", static_cast<int>(rng() % 22), v);
            if (rng() % 2) {  // no '+': "1e5" as well as "1e+05"
                const std::size_t plus = scientific.find('+');
                if (plus != std::string::npos) scientific.erase(plus, 1);
            }
            check(scientific);
        }
        check(random_digit_literal(rng));
        check(random_digit_literal(rng));
    }
    EXPECT_EQ(failures, 0u) << "of " << cases << " texts, each read twice";
    // The padded half at least has the 48 bytes the branch-free path needs.
    EXPECT_GE(fast_path, cases / 2);
}

/// The same line with an unknown member in front: the direct reader declines it, so the
/// general decoder reads it (unknown members are ignored there).
std::string through_general_decoder(const std::string& line) {
    const std::size_t brace = line.find('{');
    if (brace == std::string::npos) return line;
    return line.substr(0, brace + 1) + "\"unknown\":0," + line.substr(brace + 1);
}

bool same_values(const response_values& a, const response_values& b) {
    const auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
        return x.size() == y.size() &&
               (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0);
    };
    return same(a.probs, b.probs) && same(a.loss, b.loss) && same(a.grad, b.grad);
}

std::string mutate(std::string text, std::mt19937_64& rng) {
    static const std::vector<std::string> pieces = {
        "[",     "]",     "{",  "}",  ",",    ":",         "\"",          "0",
        "-0",    "1e5",   "1.", ".5", "NaN",  "Infinity",  "\"nan\"",     "\"-INF\"",
        "\"x\"", "1e999", " ",  "\\", "null", "\"id\":1,", "\"loss\":2,", "\"error\":\"e\","};
    return cli::testing::mutate_with(std::move(text), pieces, rng);
}

TEST(ProtocolFastCodec, ResponsesDecodeAsTheGeneralDecoderDecodesThem) {
    std::mt19937_64 rng(77);
    std::uniform_real_distribution<double> unit(-3, 3);
    std::size_t accepted_mutants = 0;
    for (int k = 0; k < 2000; ++k) {
        const response_shape shape{1 + rng() % 8, 1 + rng() % 16,
                                   static_cast<xentcheck::reduction>(rng() % 3)};
        response_values v;
        for (std::size_t j = 0; j < shape.rows * shape.classes; ++j) {
            v.probs.push_back(rng() % 50 == 0 ? std::nan("") : unit(rng));
            v.grad.push_back(rng() % 50 == 0 ? -INFINITY : unit(rng) * 1e-300);
        }
        v.loss.assign(shape.reduction == xentcheck::reduction::none ? shape.rows : 1, unit(rng));
        std::string line;
        encode_response(5, v, shape, line);
        line.pop_back();
        const outcome direct = decode_response(line, 5, shape);
        ASSERT_TRUE(direct.ok()) << line;
        ASSERT_TRUE(same_values(direct.values, v)) << line;  // exact round trip
        const outcome general = decode_response(through_general_decoder(line), 5, shape);
        ASSERT_TRUE(general.ok());
        EXPECT_TRUE(same_values(general.values, v));
        EXPECT_FALSE(decode_response(line, 6, shape).ok());  // another id: a fault
        for (int m = 0; m < 5; ++m) {
            const std::string mutant = mutate(line, rng);
            const outcome a = decode_response(mutant, 5, shape);
            const outcome b = decode_response(through_general_decoder(mutant), 5, shape);
            if (!a.ok()) continue;
            ++accepted_mutants;
            ASSERT_TRUE(b.ok()) << mutant;
            ASSERT_TRUE(same_values(a.values, b.values)) << mutant;
        }
    }
    EXPECT_GT(accepted_mutants, 100u);
}

}  // namespace
}  // namespace xentcheck::check
