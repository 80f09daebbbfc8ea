/// test_number_text.cpp: the numbers of protocol lines, held to independent expectations: every
/// number a request carries reads back bit for bit with std::from_chars, fixed request lines are
/// byte-identical, and responses decode to exactly std::from_chars's doubles (faults unchanged).
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "xentcheck/check/json_numbers.h"
#include "xentcheck/check/protocol.h"

namespace {

using namespace xentcheck::check;
using xentcheck::reduction;

constexpr double inf = std::numeric_limits<double>::infinity();

/// Random doubles of every kind: any bit pattern, short decimals at every scale, integers
/// beyond 2^53, neighbours of powers of ten, subnormals and the edges of the range.
double random_double(std::mt19937_64& rng) {
    static const double edges[] = {0.0,
                                   -0.0,
                                   5e-324,
                                   2.2250738585072014e-308,
                                   1e308,
                                   -1e308,
                                   1.7976931348623157e308,
                                   1e15,
                                   1e16,
                                   1e21,
                                   1e22,
                                   1e23,
                                   1e-5,
                                   1e-4,
                                   9007199254740993.0};
    char text[64];
    switch (rng() % 7) {
        case 0:
            return std::bit_cast<double>(rng());
        case 1:
            return edges[rng() % std::size(edges)];
        case 2: {
            std::snprintf(text, sizeof text, "%llue%d",
                          static_cast<unsigned long long>(rng() % 1000000000 >> rng() % 30),
                          static_cast<int>(rng() % 80) - 40);
            double v = 0;
            std::from_chars(text, text + std::char_traits<char>::length(text), v);
            return v;
        }
        case 3:
            return std::ldexp(static_cast<double>(rng() >> 11), static_cast<int>(rng() % 90));
        case 4:
            return std::nextafter(std::pow(10.0, static_cast<int>(rng() % 600) - 300),
                                  rng() % 2 ? inf : 0.0);
        case 5:
            return std::uniform_real_distribution<double>(-1, 1)(rng) * 1e-300;
        default:
            return std::uniform_real_distribution<double>(-10, 10)(rng);
    }
}

bool same_bits(double a, double b) {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

/// The numbers of a JSON array of numbers or arrays of numbers, split on brackets and commas
/// (independent of the codec's reader); non-finite tokens as their quoted text.
std::vector<std::string> array_tokens(const std::string& line, const std::string& member) {
    const std::size_t start = line.find("\"" + member + "\":");
    EXPECT_NE(start, std::string::npos) << member;
    std::vector<std::string> tokens;
    std::string token;
    int depth = 0;
    for (std::size_t i = start + member.size() + 3; i < line.size(); ++i) {
        const char c = line[i];
        if (c == '[' || c == ']' || c == ',') {
            if (!token.empty()) tokens.push_back(token);
            token.clear();
            depth += c == '[' ? 1 : c == ']' ? -1 : 0;
            if (depth == 0) break;
        } else {
            token += c;
        }
    }
    return tokens;
}

/// Whether `token` is the text of `value`: from_chars reads it back bit for bit (finite), or
/// it is the token of the non-finite value.
bool reads_back(const std::string& token, double value) {
    if (std::isnan(value)) return token == "\"nan\"";
    if (std::isinf(value)) return token == (value > 0 ? "\"inf\"" : "\"-inf\"");
    double parsed = 0;
    const auto r = std::from_chars(token.data(), token.data() + token.size(), parsed);
    return r.ec == std::errc() && r.ptr == token.data() + token.size() && same_bits(parsed, value);
}

TEST(NumberText, EveryNumberOfARequestReadsBackBitForBit) {
    std::mt19937_64 rng(2026);
    for (int k = 0; k < 3000; ++k) {
        request r;
        r.rows = 1 + rng() % 6;
        r.classes = 1 + rng() % 20;
        r.dtype = rng() % 3 == 0 ? dtype::float32 : dtype::float64;
        const auto value = [&] {
            const double v = random_double(rng);
            return r.dtype == dtype::float32 ? static_cast<double>(static_cast<float>(v)) : v;
        };
        for (std::size_t j = 0; j < r.rows * r.classes; ++j)
            r.logits.push_back(rng() % 20 == 0 ? (rng() % 2 ? -inf : std::nan("")) : value());
        if (rng() % 2) {
            r.target_form = xentcheck::target_view::kind::probability;
            for (std::size_t j = 0; j < r.rows * r.classes; ++j)
                r.target_probs.push_back(value());
        } else {
            for (std::size_t i = 0; i < r.rows; ++i)
                r.target_indices.push_back(static_cast<std::int64_t>(rng()) >> (rng() % 64));
        }
        if (rng() % 2)
            for (std::size_t j = 0; j < r.classes; ++j)
                r.weight.push_back(value());
        if (rng() % 2) r.label_smoothing = random_double(rng);
        if (rng() % 2) r.ignore_index = static_cast<std::int64_t>(rng());
        const auto id = static_cast<std::int64_t>(rng());
        std::string line = "kept|";
        encode_request(r, id, line);
        ASSERT_EQ(line.substr(0, 5), "kept|") << "appends";
        ASSERT_EQ(line.back(), '\n');
        ASSERT_EQ(line.find('\n'), line.size() - 1);
        EXPECT_EQ(line.find("{\"id\":" + std::to_string(id) + ",\"dtype\":\"" +
                            std::string(to_string(r.dtype)) + "\",\"logits\":"),
                  5u);
        const auto check = [&](const std::string& member, const std::vector<double>& values) {
            const std::vector<std::string> tokens = array_tokens(line, member);
            ASSERT_EQ(tokens.size(), values.size()) << member << " in " << line;
            for (std::size_t j = 0; j < values.size(); ++j)
                ASSERT_TRUE(reads_back(tokens[j], values[j])) << member << " " << tokens[j];
        };
        check("logits", r.logits);
        if (!r.target_probs.empty()) check("target", r.target_probs);
        if (!r.weight.empty()) check("weight", r.weight);
        if (!r.target_indices.empty()) {
            const std::vector<std::string> tokens = array_tokens(line, "target");
            ASSERT_EQ(tokens.size(), r.rows);
            for (std::size_t i = 0; i < r.rows; ++i)
                EXPECT_EQ(tokens[i], std::to_string(r.target_indices[i]));
        }
        if (r.label_smoothing) {
            const std::size_t at = line.find("\"label_smoothing\":") + 18;
            EXPECT_TRUE(reads_back(line.substr(at, line.find('}', at) - at), *r.label_smoothing));
        }
    }
}

TEST(NumberText, NumbersAreShortestAndSigned) {
    const auto text = [](double v) {
        std::string s;
        append_json_number(s, v);
        return s;
    };
    EXPECT_EQ(text(-0.0), "-0");
    EXPECT_EQ(text(0.0), "0");
    EXPECT_EQ(text(-std::nan("")), "\"nan\"");
    EXPECT_EQ(text(-inf), "\"-inf\"");
    EXPECT_EQ(text(0.3), "0.3");
    EXPECT_EQ(text(-2.2250738585072014e-308), "-2.2250738585072014e-308");
    EXPECT_EQ(text(1e-5), "1e-05");
    EXPECT_EQ(text(123456.0), "123456");
    EXPECT_EQ(text(0.000123), "0.000123");
}

TEST(NumberText, DyadicNumbersAreToCharsText) {
    // Multiples of 2^-16 whose exact decimal has at most 15 digits are written from that
    // decimal without Dragonbox, the shortest of them from one register (json_numbers.cpp): the
    // generators' logits (k/16, 709 + k/16, k/16 * 1000, m 2^-16) and random ones, both signs, at
    // and beyond the 15-digit edge.
    std::mt19937_64 rng(77);
    long failures = 0;
    const auto expect_to_chars = [&](double v) {
        std::string got;
        append_json_number(got, v);
        char buf[64];
        const std::string want(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        if (got != want && ++failures <= 5) ADD_FAILURE() << got << " against " << want;
    };
    for (int k = 0; k < 200000; ++k) {
        const double grid = static_cast<double>(static_cast<int>(rng() % 321) - 160) / 16;
        expect_to_chars(grid);
        expect_to_chars(709 + grid);
        expect_to_chars(grid * 1000);
        expect_to_chars(std::ldexp(static_cast<double>(rng() % (1 << 19)), -16));
        const auto n = static_cast<std::int64_t>(rng() >> (rng() % 64));
        expect_to_chars(
            std::ldexp(static_cast<double>(k % 2 ? n : -n), -static_cast<int>(rng() % 20)));
    }
    // Every short form the one-register writer takes and its edges: k 2^-b for b up to 12 and
    // k below 2^15 ("0.5", "0.0625", "0.0009765625", "12.375"), and below 2^20 with 1 to 4
    // fraction bits ("1048575.5", "999999.5"), both signs.
    for (int b = 1; b <= 12; ++b) {
        for (std::int64_t k = 1; k < (1 << 15); ++k) {
            expect_to_chars(std::ldexp(static_cast<double>(k), -b));
            expect_to_chars(-std::ldexp(static_cast<double>(k), -b));
        }
    }
    for (int b = 1; b <= 4; ++b) {
        for (std::int64_t k = (std::int64_t{1} << (20 + b)) - 3000;
             k < (std::int64_t{1} << (20 + b)) + 3000; ++k)
            expect_to_chars(std::ldexp(static_cast<double>(k), -b));
        for (std::int64_t k = (999999ll << b) - 3000; k < (999999ll << b) + 3000; ++k)
            expect_to_chars(std::ldexp(static_cast<double>(k), -b));
    }
    // Dyadic fractions whose odd 5^b wraps around 2^64 to a short significand (37393, 58091,
    // 32707): a writer that multiplied before bounding b or odd could print them short.
    for (const double v : {0x1.5798ee2308c40p+38, 0x1.9c511dc3a41e0p+38, 0x1.fc862d3e17360p+37})
        expect_to_chars(v);
    EXPECT_EQ(failures, 0);
}

/// Request lines written by the codec before its number writer and line buffer were replaced
/// (the protocol does not change, so neither may these bytes).
TEST(NumberText, FixedRequestLinesAreUnchanged) {
    std::string out;
    {
        request r;
        r.rows = 2;
        r.classes = 3;
        r.logits = {0.1, -0.0, 1e308, 5e-324, -inf, std::nan("")};
        r.target_indices = {2, -100};
        r.weight = {1e-5, 123456789012345678.0, 0.3};
        r.ignore_index = -100;
        r.label_smoothing = 0.05;
        r.reduction = reduction::none;
        encode_request(r, 9223372036854775807LL, out);
    }
    {
        request r;
        r.dtype = dtype::float32;
        r.rows = 1;
        r.classes = 4;
        r.logits = {double(0.1f), double(-3.4028234663852886e38f), double(1e-45f), 0x1p70};
        r.target_form = xentcheck::target_view::kind::probability;
        r.target_probs = {0.25, 0.0, double(1.0f / 3.0f), double(1e-7f)};
        r.reduction = reduction::sum;
        encode_request(r, -1, out);
    }
    {
        request r;
        r.rows = 1;
        r.classes = 5;
        r.logits = {1e15, 1e16, 1e21, 1.5e-7, 0.001234};
        r.target_indices = {4};
        encode_request(r, 0, out);
    }
    EXPECT_EQ(out,
              "{\"id\":9223372036854775807,\"dtype\":\"float64\",\"logits\":[[0.1,-0,1e+308],"
              "[5e-324,\"-inf\",\"nan\"]],\"target\":[2,-100],\"reduction\":\"none\",\"weight\":"
              "[1e-05,123456789012345680,0.3],\"ignore_index\":-100,\"label_smoothing\":0.05}\n"
              "{\"id\":-1,\"dtype\":\"float32\",\"logits\":[[0.10000000149011612,"
              "-3.4028234663852886e+38,1.401298464324817e-45,1180591620717411303424]],"
              "\"target\":[[0.25,0,0.3333333432674408,1.0000000116860974e-07]],"
              "\"reduction\":\"sum\"}\n"
              "{\"id\":0,\"dtype\":\"float64\",\"logits\":[[1e+15,1e+16,1e+21,1.5e-07,0.001234]],"
              "\"target\":[4],\"reduction\":\"mean\"}\n");
}

/// A JSON number literal of random shape: sign, integer digits, fraction, exponent.
std::string random_literal(std::mt19937_64& rng) {
    const auto digits = [&](std::size_t n, bool nonzero_first) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i)
            s += static_cast<char>('0' + (i == 0 && nonzero_first ? 1 + rng() % 9 : rng() % 10));
        return s;
    };
    char text[96];
    const double v = random_double(rng);
    switch (rng() % 6) {
        case 0: {
            if (!std::isfinite(v)) return "0";
            return std::string(text, std::to_chars(text, text + sizeof text, v).ptr);
        }
        case 1:
            std::snprintf(text, sizeof text, "%.*e", static_cast<int>(rng() % 25), v);
            return std::isfinite(v) ? text : "1";
        case 2: {  // near a halfway point between two doubles
            const long double mid =
                (static_cast<long double>(v) + std::nextafter(v, inf)) / 2;  // exact
            std::snprintf(text, sizeof text, "%.*Le", static_cast<int>(15 + rng() % 25), mid);
            return std::isfinite(mid) ? text : "2";
        }
        default: {
            std::string s = rng() % 2 ? "-" : "";
            s += rng() % 4 == 0 ? "0" : digits(1 + rng() % (rng() % 4 == 0 ? 30 : 19), true);
            if (rng() % 2) {
                s += '.';
                s += digits(1 + rng() % (rng() % 4 == 0 ? 40 : 19), false);
            }
            if (rng() % 2) {
                s += rng() % 2 ? "e" : "E";
                s += rng() % 3 == 0 ? "" : rng() % 2 ? "+" : "-";
                s += digits(1 + rng() % 3, false);
            }
            return s;
        }
    }
}

outcome decode_one(const std::string& number) {
    return decode_response("{\"id\":1,\"probs\":[[" + number + "]],\"loss\":0,\"grad\":[[0]]}", 1,
                           {1, 1, reduction::mean});
}

TEST(NumberText, ResponseNumbersAreFromCharsDoubles) {
    std::mt19937_64 rng(11);
    for (int k = 0; k < 200000; ++k) {
        const std::string t = random_literal(rng);
        double expected = 0;
        const auto r = std::from_chars(t.data(), t.data() + t.size(), expected);
        ASSERT_EQ(r.ptr, t.data() + t.size()) << t;
        const outcome o = decode_one(t);
        ASSERT_TRUE(o.ok()) << t << ": " << o.fault.to_string();
        if (r.ec == std::errc::result_out_of_range) {  // saturates as strtod does
            EXPECT_TRUE(std::isinf(o.values.probs[0]) || o.values.probs[0] == 0) << t;
            continue;
        }
        ASSERT_TRUE(same_bits(o.values.probs[0], expected)) << t;
    }
}

TEST(NumberText, MalformedNumbersKeepTheirFaults) {
    struct bad {
        const char* text;
        fault_kind kind;
    };
    for (const bad& b : {bad{"01", fault_kind::garbage}, bad{"1.", fault_kind::garbage},
                         bad{".5", fault_kind::garbage}, bad{"1e", fault_kind::garbage},
                         bad{"1e+", fault_kind::garbage}, bad{"+1", fault_kind::garbage},
                         bad{"-", fault_kind::garbage}, bad{"0x10", fault_kind::garbage},
                         bad{"1.5.2", fault_kind::garbage}, bad{"- 1", fault_kind::garbage},
                         bad{"inf", fault_kind::garbage}, bad{"\"1\"", fault_kind::bad_value},
                         bad{"null", fault_kind::bad_value}, bad{"[1]", fault_kind::wrong_shape}}) {
        const outcome o = decode_one(b.text);
        EXPECT_EQ(to_string(o.fault.kind), to_string(b.kind)) << b.text;
    }
    EXPECT_TRUE(same_bits(decode_one("-0.000e-999").values.probs[0], -0.0));
    EXPECT_EQ(decode_one("1e400").values.probs[0], inf);
    EXPECT_EQ(decode_one("-1e0000000000000000000400").values.probs[0], -inf);
    EXPECT_TRUE(same_bits(decode_one("2.4703282292062328e-324").values.probs[0], 5e-324));
    EXPECT_EQ(decode_one("9007199254740993").values.probs[0], 9007199254740992.0);  // tie: even
    EXPECT_EQ(decode_one("9007199254740995").values.probs[0], 9007199254740996.0);
}

}  // namespace
