/// test_long_double_round.cpp: rounded_to_double (lib/src/long_double_round.h) against the x87
/// conversion itself, bit for bit, where its integer path replaces it.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>

#include "long_double_round.h"

namespace {

using ld = long double;
using xentcheck::detail::rounded_to_double;

/// The long double with these 64 significand bits and 16 sign-and-exponent bits.
ld from_bits(std::uint64_t significand, std::uint16_t sign_exponent) {
    unsigned char bytes[sizeof(ld)] = {};
    std::memcpy(bytes, &significand, 8);
    std::memcpy(bytes + 8, &sign_exponent, 2);
    ld v;
    std::memcpy(&v, bytes, sizeof v);
    return v;
}

/// Whether rounded_to_double(v) is static_cast<double>(v), bit for bit (any NaN for a NaN).
bool same_as_cast(ld v) {
    const double want = static_cast<double>(v);
    const double got = rounded_to_double(v);
    if (std::isnan(want)) return std::isnan(got);
    return std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(want);
}

TEST(LongDoubleRound, IsTheConversionAcrossDoublesSubnormalRange) {
    if constexpr (std::numeric_limits<ld>::digits != 64) GTEST_SKIP() << "not x87 long double";
    // Exponents from below 2^-1075 (rounds to 0) through the subnormals into the normals, with
    // random significands, significands with long runs of zeros (exact ties and near ties at
    // every shift), both signs, and x87 subnormals.
    std::mt19937_64 rng(11);
    long failures = 0;
    for (int i = 0; i < 400000; ++i) {
        std::uint64_t significand = rng() | (std::uint64_t{1} << 63);
        if (i % 3 == 0) significand &= ~((std::uint64_t{1} << (rng() % 64)) - 1);
        if (i % 5 == 0) significand = (std::uint64_t{1} << 63) | (rng() % 4) << (rng() % 62);
        int exponent = 16383 - 1100 + static_cast<int>(rng() % 140);
        if (i % 97 == 0) {
            exponent = 0;  // x87 subnormal: integer bit clear
            significand >>= 1;
        }
        const auto sign = static_cast<std::uint16_t>((rng() & 1) << 15);
        const ld v = from_bits(significand, static_cast<std::uint16_t>(exponent) | sign);
        if (!same_as_cast(v) && ++failures <= 5) {
            ADD_FAILURE() << "significand " << std::hex << significand << std::dec << " exponent "
                          << exponent << ": " << rounded_to_double(v) << " against "
                          << static_cast<double>(v);
        }
    }
    EXPECT_EQ(failures, 0);
    // Halfway points and their neighbours at every scale of the subnormals.
    for (int k = 1020; k <= 1080; ++k) {
        for (const ld f : {1.0L, 1.5L, 1.25L, 1.75L, 3.0L / 2 + 0x1p-62L, 1.5L - 0x1p-62L}) {
            EXPECT_TRUE(same_as_cast(std::ldexp(f, -k))) << k << " " << static_cast<double>(f);
            EXPECT_TRUE(same_as_cast(-std::ldexp(f, -k))) << k << " " << static_cast<double>(f);
        }
    }
}

TEST(LongDoubleRound, IsTheConversionForSpecialAndLargeValues) {
    constexpr ld inf = std::numeric_limits<ld>::infinity();
    for (const ld v : {0.0L, -0.0L, 1.0L, -2.5L, inf, -inf, std::numeric_limits<ld>::quiet_NaN(),
                       0x1p-1022L, 0x1p1023L, 0x1.fffffffffffff7ffp1023L, 0x1.fffffffffffff8p1023L,
                       0x1p1024L, -0x1p1100L, 1e4000L, std::numeric_limits<ld>::max(),
                       std::numeric_limits<ld>::min(), std::numeric_limits<ld>::denorm_min()}) {
        EXPECT_TRUE(same_as_cast(v)) << static_cast<double>(v);
    }
}

}  // namespace
