/// test_long_double_exp_mpfr.cpp: the reference's long double exp of non-positive arguments
/// against MPFR: within 0.6 ulp of the exact value (0.514 measured).
#include <gtest/gtest.h>
#include <mpfr.h>

#include <cmath>
#include <limits>
#include <random>

#include "long_double_exp.h"

namespace {

using ld = long double;

TEST(LongDoubleExp, WithinSixTenthsOfAnUlpOfTheExactValue) {
    // Without the table's tails it reaches 1.16 ulps, glibc's expl 1.11.
    mpfr_t x, y, v;
    mpfr_inits2(256, x, y, v, static_cast<mpfr_ptr>(nullptr));
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> near(-40, 0), wide(-11355, 0), tiny(-1e-3, 0);
    double worst = 0;
    for (int i = 0; i < 200000; ++i) {
        const ld d = (i % 3 == 0   ? wide(rng)
                      : i % 3 == 1 ? near(rng)
                                   : tiny(rng)) +
                     static_cast<ld>(tiny(rng)) * 1e-15L;  // bits beyond double's 53
        mpfr_set_ld(x, d, MPFR_RNDN);
        mpfr_exp(y, x, MPFR_RNDN);
        const ld nearest = mpfr_get_ld(y, MPFR_RNDN);
        if (!std::isnormal(nearest)) continue;
        const ld ulp = std::nextafter(nearest, std::numeric_limits<ld>::infinity()) - nearest;
        mpfr_set_ld(v, xentcheck::detail::exp_nonpositive(d), MPFR_RNDN);
        mpfr_sub(v, v, y, MPFR_RNDN);
        worst = std::max(worst, static_cast<double>(std::abs(mpfr_get_ld(v, MPFR_RNDN)) / ulp));
    }
    mpfr_clears(x, y, v, static_cast<mpfr_ptr>(nullptr));
    EXPECT_LE(worst, 0.6);
}

TEST(LongDoubleExp, TableHoldsTwoToTheJOver64AsTwoCorrectlyRoundedDoubles) {
    // high: the double nearest 2^(j/64); low: the double nearest what high leaves out. A table
    // entry off in its last bit of low moves results by 2^-106 and would pass the test above.
    mpfr_t exact, rest;
    mpfr_inits2(256, exact, rest, static_cast<mpfr_ptr>(nullptr));
    for (int j = 0; j < 64; ++j) {
        mpfr_set_si(exact, j, MPFR_RNDN);
        mpfr_div_si(exact, exact, 64, MPFR_RNDN);  // exact: a dyadic fraction
        mpfr_exp2(exact, exact, MPFR_RNDN);
        const auto& entry = xentcheck::detail::exp2_64ths[j];
        EXPECT_EQ(entry.high, mpfr_get_d(exact, MPFR_RNDN)) << j;
        mpfr_sub_d(rest, exact, entry.high, MPFR_RNDN);
        EXPECT_EQ(entry.low, mpfr_get_d(rest, MPFR_RNDN)) << j;
    }
    mpfr_clears(exact, rest, static_cast<mpfr_ptr>(nullptr));
}

}  // namespace
