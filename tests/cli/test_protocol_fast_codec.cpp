/// The protocol codec's fast paths (cli/check): numbers written exactly as std::to_chars writes
/// them, and responses read directly only when the general decoder would read the same values.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "xentcheck/check/json_numbers.h"
#include "xentcheck/check/protocol.h"

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
