/// test_extended_exp_mpfr.cpp: the double-double lanes that give the long double reference its
/// shifted exponentials (rows of doubles, vector path) against MPFR: each value rounded to long
/// double within a half ulp and a little of the exact exp(z - m), the block's sum within
/// 2^-74 relative of the exact sum, and the entries left to the caller; and label smoothing's
/// two sums in the same lanes (extended_smoothing_sum) within (n + 2) 2^-106 of the exact ones.
#include <gtest/gtest.h>
#include <mpfr.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "vector_kernels.h"

namespace {

using ld = long double;
using xentcheck::detail::extended_block_size;
using xentcheck::detail::extended_exp_block;
using xentcheck::detail::extended_smoothing_sum;
using xentcheck::detail::vector_kernels_enabled;

/// Blocks of entries z = m + d with d spread over the lanes' whole range (the deep range below
/// extended_fast_min among them) and near 0, for shifts m of either sign (so that z - m is
/// rounded and its TwoSum error counts).
struct block_maker {
    std::mt19937_64 rng;
    std::uniform_real_distribution<double> deep{-10990, -650}, wide{-650, 0}, near{-40, 0},
        small{-0.02, 0}, tiny{-1e-3, 0}, shift{-1000, 1000};

    double fill(double* z, std::size_t n, std::size_t k) {
        const double m = k % 4 == 0 ? 0.0 : shift(rng);
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t r = (k + j) % 5;
            const double d = r == 0   ? wide(rng)
                             : r == 1 ? near(rng)
                             : r == 2 ? small(rng)
                             : r == 3 ? tiny(rng)
                                      : deep(rng);
            z[j] = std::min(m + d, m);
        }
        return m;
    }
};

/// Entry j of a block as the caller reads it: high + low rounded to long double, times
/// 2^(-1000 steps) for a deep entry.
ld entry_value(const xentcheck::detail::extended_block& block, const double* high,
               const double* low, const double* steps, std::size_t j) {
    const ld v = static_cast<ld>(high[j]) + static_cast<ld>(low[j]);
    return (block.deep >> j & 1) ? std::ldexp(v, -1000 * static_cast<int>(steps[j])) : v;
}

TEST(ExtendedExp, EachValueRoundsToWithinAHalfUlpAndAThousandthOfTheExactValue) {
    // The double-double is within about 2^-74 of exp(z - m), so rounded to long double's 64
    // bits it is the nearest value but for about 1 in 10^5 (0.50012 ulp at worst over
    // 8 x 10^6 arguments; the x87 exp: 0.5159), deep entries (scaled exactly) included.
    // Without the table's tails, the TwoSum error of z - m or the cubic term it is off by
    // thousands of ulps and more.
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    mpfr_t x, y, v;
    mpfr_inits2(320, x, y, v, static_cast<mpfr_ptr>(nullptr));
    block_maker make{std::mt19937_64(5)};
    alignas(32) double z[extended_block_size], high[extended_block_size], low[extended_block_size],
        steps[extended_block_size];
    double worst = 0;
    std::size_t deep = 0;
    for (std::size_t k = 0; k < 4000; ++k) {
        const double m = make.fill(z, extended_block_size, k);
        const auto block = extended_exp_block(z, m, high, low, steps, extended_block_size, 64);
        for (std::size_t j = 0; j < extended_block_size; ++j) {
            ASSERT_EQ(block.declined >> j & 1, 0u) << z[j] << " - " << m;
            mpfr_set_d(x, z[j], MPFR_RNDN);
            mpfr_sub_d(x, x, m, MPFR_RNDN);  // exact at 320 bits
            ASSERT_EQ(block.deep >> j & 1, mpfr_cmp_d(x, -650.0) < 0 ? 1u : 0u)
                << z[j] << " - " << m;
            deep += block.deep >> j & 1;
            mpfr_exp(y, x, MPFR_RNDN);
            const ld nearest = mpfr_get_ld(y, MPFR_RNDN);
            const ld ulp = std::nextafter(nearest, std::numeric_limits<ld>::infinity()) - nearest;
            mpfr_set_ld(v, entry_value(block, high, low, steps, j), MPFR_RNDN);
            mpfr_sub(v, v, y, MPFR_RNDN);
            worst = std::max(worst, static_cast<double>(std::abs(mpfr_get_ld(v, MPFR_RNDN)) / ulp));
        }
    }
    mpfr_clears(x, y, v, static_cast<mpfr_ptr>(nullptr));
    EXPECT_GT(deep, 4000u * extended_block_size / 6);
    EXPECT_LE(worst, 0.501);
}

TEST(ExtendedExp, TheBlockSumIsTheExactSumWithinTwoToTheMinus74) {
    // Every lane but the excluded one, the deep ones and the padding, summed in double-double
    // lanes: the values' own errors (about 2^-74) dominate, the summation adds about n 2^-106
    // (2^-76.7 measured at worst). Without the lanes' TwoSum errors it is off by about 2^-53.
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    mpfr_t x, y, sum, v;
    mpfr_inits2(320, x, y, sum, v, static_cast<mpfr_ptr>(nullptr));
    block_maker make{std::mt19937_64(6)};
    alignas(32) double z[extended_block_size], high[extended_block_size], low[extended_block_size],
        steps[extended_block_size];
    double worst = 0;
    for (std::size_t k = 0; k < 2000; ++k) {
        const std::size_t n = 1 + k % extended_block_size;
        const double m = make.fill(z, n, k);
        const std::size_t excluded = k % 3 == 0 ? n : (k * 7) % n;
        if (excluded < n) z[excluded] = m;
        for (std::size_t j = n; j % 4 != 0; ++j)
            z[j] = m;  // padding, as the caller pads: 1 each, never summed
        const auto block = extended_exp_block(z, m, high, low, steps, n, excluded);
        EXPECT_EQ(block.declined, 0u);
        mpfr_set_zero(sum, 1);
        for (std::size_t j = 0; j < n; ++j) {
            if (j == excluded || (block.deep >> j & 1)) continue;  // deep: the caller sums them
            mpfr_set_d(x, z[j], MPFR_RNDN);
            mpfr_sub_d(x, x, m, MPFR_RNDN);
            mpfr_exp(y, x, MPFR_RNDN);
            mpfr_add(sum, sum, y, MPFR_RNDN);
        }
        if (mpfr_zero_p(sum)) {
            EXPECT_EQ(block.sum_high, 0.0);
            continue;
        }
        mpfr_set_d(v, block.sum_high, MPFR_RNDN);
        mpfr_add_d(v, v, block.sum_low, MPFR_RNDN);
        mpfr_sub(v, v, sum, MPFR_RNDN);
        mpfr_div(v, v, sum, MPFR_RNDN);
        worst = std::max(worst, std::abs(mpfr_get_d(v, MPFR_RNDN)));
    }
    mpfr_clears(x, y, sum, v, static_cast<mpfr_ptr>(nullptr));
    EXPECT_LE(worst, 0x1p-74);  // the values' own bound; 2^-76.7 measured
}

TEST(ExtendedExp, EntriesOutsideItsRangeAreLeftToTheCaller) {
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    const double inf = std::numeric_limits<double>::infinity();
    alignas(32) double z[8] = {-1.0, -inf, 2.0, -649.0, -11353.0, -20000.0, 2.0, -700.0};
    alignas(32) double high[8], low[8], steps[8];
    // m = 2: shifts -3, -inf, 0, -651, -11355, -20002, 0, -702; entry 6 excluded. Entries 1,
    // 4 and 5 lie below long_double_exp_floor: exactly 0.
    const auto block = extended_exp_block(z, 2.0, high, low, steps, 8, 6);
    EXPECT_EQ(block.declined, 0u);
    EXPECT_EQ(block.deep, 0b1000'1000u);
    EXPECT_EQ(high[2], 1.0);
    EXPECT_EQ(low[2], 0.0);
    for (const std::size_t j : {1, 4, 5}) {
        EXPECT_EQ(high[j], 0.0) << j;
        EXPECT_EQ(low[j], 0.0) << j;
    }
    // Deep entries: exp(-651) = (high + low) 2^-1000, exp(-702) likewise.
    EXPECT_EQ(steps[3], 1.0);
    EXPECT_EQ(steps[7], 1.0);
    EXPECT_EQ(steps[0], 0.0);
    for (const auto& [j, shift] : {std::pair<std::size_t, ld>{3, -651}, {7, -702}}) {
        const ld got = entry_value(block, high, low, steps, j);
        EXPECT_LE(std::abs(got / std::exp(shift) - 1), 2 * std::numeric_limits<ld>::epsilon()) << j;
    }
    // The sum holds entries 0 and 2 only.
    const ld want = std::exp(-3.0L) + 1;
    const ld got = static_cast<ld>(block.sum_high) + static_cast<ld>(block.sum_low);
    EXPECT_LE(std::abs(got - want), 4 * std::numeric_limits<ld>::epsilon())
        << static_cast<double>(got);
    // The excluded entry is never deep: below extended_fast_min it is declined.
    const auto excluding_3 = extended_exp_block(z, 2.0, high, low, steps, 8, 3);
    EXPECT_EQ(excluding_3.declined, 0b0000'1000u);
    EXPECT_EQ(excluding_3.deep, 0b1000'0000u);
    // Entries past n are neither declined, deep nor summed.
    const auto first = extended_exp_block(z, 2.0, high, low, steps, 1, 1);
    EXPECT_EQ(first.declined, 0u);
    EXPECT_EQ(first.deep, 0u);
    EXPECT_EQ(static_cast<ld>(first.sum_high) + first.sum_low, static_cast<ld>(high[0]) + low[0]);
}

TEST(ExtendedExp, TheZeroBoundTestsTheExactShift) {
    // z - m rounds to long_double_exp_floor itself in both cases; its TwoSum error decides: below
    // the bound the entry is 0, above it is deep (as shifted_exp decides on the x87 path).
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    const double bound = xentcheck::detail::long_double_exp_floor;
    alignas(32) double z[4] = {bound, bound, 0.0, 0.0};
    alignas(32) double high[4], low[4], steps[4];
    for (const double m : {1e-20, -1e-20}) {
        z[2] = z[3] = m;  // the shift's own entries: exp(0)
        const auto block = extended_exp_block(z, m, high, low, steps, 4, 4);
        EXPECT_EQ(block.declined, 0u) << m;
        EXPECT_EQ(block.deep, m > 0 ? 0u : 0b0011u) << m;
        EXPECT_EQ(high[0] == 0.0, m > 0) << m;
    }
}

/// |high + low - exact| / scale for a double-double against an MPFR value.
double dd_error(double high, double low, const mpfr_t exact, double scale, mpfr_t scratch) {
    mpfr_set_d(scratch, high, MPFR_RNDN);
    mpfr_add_d(scratch, scratch, low, MPFR_RNDN);
    mpfr_sub(scratch, scratch, exact, MPFR_RNDN);
    return std::abs(mpfr_get_d(scratch, MPFR_RNDN)) / scale;
}

TEST(ExtendedSmoothingSum, BothSumsAreExactWithinTheirBound) {
    // sum_j w_j (m - z_j) and sum_j w_j, each within (n + 2) 2^-106 of sum_j |w_j (m - z_j)|
    // and sum_j |w_j|: m - z_j is taken exactly and the products' errors kept. Rounding
    // m - z_j to double first (no TwoSum error) is off by about 2^-53 of the terms; dropping
    // the products' errors, about 2^-53 of them too.
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    mpfr_t terms, weights, magnitude, x, scratch;
    mpfr_inits2(4000, terms, weights, magnitude, x, scratch, static_cast<mpfr_ptr>(nullptr));
    block_maker make{std::mt19937_64(7)};
    std::uniform_real_distribution<double> weight(-0.5, 2.0);
    alignas(32) double z[extended_block_size], w[extended_block_size];
    double worst_terms = 0, worst_weights = 0;
    for (std::size_t k = 0; k < 3000; ++k) {
        const std::size_t n = 1 + k % extended_block_size;
        const double m = make.fill(z, n, k);
        for (std::size_t j = 0; j < n; ++j)
            w[j] = k % 3 == 0 ? 1.0 : weight(make.rng);
        const auto sums = extended_smoothing_sum(z, k % 3 == 0 ? nullptr : w, m, n);
        ASSERT_TRUE(sums.finite) << k;
        mpfr_set_zero(terms, 1);
        mpfr_set_zero(weights, 1);
        mpfr_set_zero(magnitude, 1);
        double weight_magnitude = 0;
        for (std::size_t j = 0; j < n; ++j) {
            mpfr_set_d(x, m, MPFR_RNDN);
            mpfr_sub_d(x, x, z[j], MPFR_RNDN);  // exact at 4000 bits
            mpfr_mul_d(x, x, w[j], MPFR_RNDN);  // exact too
            mpfr_add(terms, terms, x, MPFR_RNDN);
            mpfr_abs(x, x, MPFR_RNDN);
            mpfr_add(magnitude, magnitude, x, MPFR_RNDN);
            mpfr_add_d(weights, weights, w[j], MPFR_RNDN);
            weight_magnitude += std::abs(w[j]);
        }
        const double scale = mpfr_get_d(magnitude, MPFR_RNDN);
        const double bound = static_cast<double>(n + 2) * 0x1p-106;
        if (scale > 0) {
            const double e = dd_error(sums.terms_high, sums.terms_low, terms, scale, scratch);
            worst_terms = std::max(worst_terms, e);
            EXPECT_LE(e, bound) << "terms, block " << k << ", n = " << n;
        }
        const double e =
            dd_error(sums.weights_high, sums.weights_low, weights, weight_magnitude, scratch);
        worst_weights = std::max(worst_weights, e);
        EXPECT_LE(e, bound) << "weights, block " << k;
    }
    mpfr_clears(terms, weights, magnitude, x, scratch, static_cast<mpfr_ptr>(nullptr));
    RecordProperty("worst_terms_log2", std::to_string(std::log2(worst_terms)));
    RecordProperty("worst_weights_log2", std::to_string(std::log2(worst_weights)));
}

TEST(ExtendedSmoothingSum, NonFiniteTermsAreLeftToTheCaller) {
    if (!vector_kernels_enabled()) GTEST_SKIP() << "no AVX2 + FMA";
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double z[5] = {1, -inf, 0.5, 2, 0};
    EXPECT_FALSE(extended_smoothing_sum(z, nullptr, 2, 5).finite);  // a -inf logit
    const double w[5] = {1, 0, 1, 1, 1};
    EXPECT_FALSE(extended_smoothing_sum(z, w, 2, 5).finite);  // 0 * inf
    const double finite_z[5] = {1, 1.5, 0.5, 2, 0};
    const double inf_w[5] = {1, 1, inf, 1, 1};
    EXPECT_FALSE(extended_smoothing_sum(finite_z, inf_w, 2, 5).finite);  // an infinite weight
    const auto ok = extended_smoothing_sum(finite_z, nullptr, 2, 5);
    ASSERT_TRUE(ok.finite);
    EXPECT_EQ(ok.terms_high + ok.terms_low, 1 + 0.5 + 1.5 + 0 + 2);
    EXPECT_EQ(ok.weights_high, 5.0);
}

}  // namespace
