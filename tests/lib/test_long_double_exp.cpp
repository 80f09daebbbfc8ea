/// test_long_double_exp.cpp: the reference's long double exp of non-positive arguments against
/// glibc's expl (an independent implementation, within 1.12 ulp of exact).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "long_double_exp.h"

namespace {

using ld = long double;
using xentcheck::detail::exp_nonpositive;

/// |a - b| in ulps of b (b normal).
double ulps(ld a, ld b) {
    const ld ulp = std::nextafter(b, std::numeric_limits<ld>::infinity()) - b;
    return static_cast<double>(std::abs(a - b) / ulp);
}

TEST(LongDoubleExp, AgreesWithExplWithinTwoUlps) {
    // Ours is within 0.52 ulp of exact, expl within 1.12: they differ by less than 1.7 ulps.
    // Without the second part of ln 2 / 64 they differ by millions. (The 0.52 itself is held
    // against MPFR in tests/oracle.)
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> near(-40, 0), wide(-11355, 0), tiny(-1e-3, 0);
    double worst = 0;
    for (int i = 0; i < 300000; ++i) {
        const ld x = (i % 3 == 0   ? wide(rng)
                      : i % 3 == 1 ? near(rng)
                                   : tiny(rng)) +
                     static_cast<ld>(tiny(rng)) * 1e-15L;  // bits beyond double's 53
        const ld want = std::exp(x);
        if (!std::isnormal(want)) continue;
        worst = std::max(worst, ulps(exp_nonpositive(x), want));
    }
    EXPECT_LE(worst, 2.0);
}

TEST(LongDoubleExp, SpecialArgumentsAndTheRangeEdges) {
    EXPECT_EQ(exp_nonpositive(0.0L), 1.0L);
    EXPECT_EQ(exp_nonpositive(-0.0L), 1.0L);
    EXPECT_EQ(exp_nonpositive(-std::numeric_limits<ld>::infinity()), 0.0L);
    EXPECT_TRUE(std::isnan(exp_nonpositive(std::numeric_limits<ld>::quiet_NaN())));
    EXPECT_EQ(exp_nonpositive(1.0L), std::exp(1.0L));  // d > 0: std::exp
    // Where results turn subnormal (below about -11355.1) std::exp takes over.
    for (const ld x : {-11354.9L, -11355.0L, -11355.2L, -11400.0L, -11450.0L, -20000.0L}) {
        const ld want = std::exp(x);
        const ld got = exp_nonpositive(x);
        if (std::isnormal(want)) {
            EXPECT_LE(ulps(got, want), 2.0) << static_cast<double>(x);
        } else {
            EXPECT_EQ(got, want) << static_cast<double>(x);
        }
    }
    // float and double are std::exp's.
    EXPECT_EQ(exp_nonpositive(-3.5), std::exp(-3.5));
    EXPECT_EQ(exp_nonpositive(-3.5f), std::exp(-3.5f));
}

}  // namespace
