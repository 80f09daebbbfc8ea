/// Unit tests of xentcheck/softmax.h: logsumexp, softmax and log-softmax semantics and accuracy.
#include "xentcheck/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "test_support.h"

namespace xentcheck {
namespace {

using test::eps_distance;
using test::ld;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// The header promises "a few ulps" for finite rows; 4 epsilons relative is what the tests hold
// it to (one rounding each for exp, the sum, the reciprocal and the product, all <= 1 ulp).
constexpr ld few_ulps = 4;

TEST(Softmax, EqualLogitsGiveExactUniformProbabilities) {
    const std::vector<double> z{3.5, 3.5, 3.5, 3.5};
    const auto p = softmax<double>(z, 4);
    for (const double v : p)
        EXPECT_EQ(v, 0.25);  // exp(0) = 1, S = 4, 1/4 exact
}

TEST(Softmax, MatchesClosedFormOfLogRatios) {
    // z = (0, ln 2, ln 5) in long double: p = (1, 2, 5) / 8 up to the rounding of ln 2, ln 5.
    const std::vector<ld> z{0.0L, std::log(2.0L), std::log(5.0L)};
    const auto p = softmax<ld>(z, 3);
    EXPECT_LE(eps_distance<ld>(p[0], 1.0L / 8), few_ulps + 5);  // + |z| rounding (<= 2 ulps * 2)
    EXPECT_LE(eps_distance<ld>(p[1], 2.0L / 8), few_ulps + 5);
    EXPECT_LE(eps_distance<ld>(p[2], 5.0L / 8), few_ulps + 5);
}

// Max-subtraction: softmax(z + c) = softmax(z), with no overflow however large c is.
class SoftmaxShift : public ::testing::TestWithParam<double> {};

TEST_P(SoftmaxShift, LargeLogitsGiveFiniteShiftInvariantResults) {
    const double c = GetParam();
    // Offsets 0, -1, -2 from c, as double rounds them (for |c| = 1e300 they vanish: all equal).
    // The expected values use the offsets the row really has, d_j = z_j - c (exact in long double).
    const std::vector<double> z{c, c - 1, c - 2};
    std::vector<ld> d(3);
    for (std::size_t j = 0; j < 3; ++j)
        d[j] = static_cast<ld>(z[j]) - static_cast<ld>(c);
    const auto expected = test::pairwise_softmax(d);
    const ld log_sum = std::log(std::exp(d[0]) + std::exp(d[1]) + std::exp(d[2]));
    const auto p = softmax<double>(z, 3);
    const auto logp = log_softmax<double>(z, 3);
    double lse[1];
    logsumexp<double>(z, 3, lse);
    ASSERT_TRUE(std::isfinite(lse[0]));
    for (std::size_t j = 0; j < 3; ++j) {
        ASSERT_TRUE(std::isfinite(p[j]) && std::isfinite(logp[j])) << j;
        EXPECT_LE(eps_distance<double>(p[j], expected[j]), few_ulps) << j;
        EXPECT_LE(eps_distance<double>(logp[j], d[j] - log_sum), few_ulps) << j;
    }
    // lse = c + log(sum exp(d_j)), one rounding at the magnitude of c.
    EXPECT_LE(eps_distance<double>(lse[0], static_cast<ld>(c) + log_sum), 1);
}

INSTANTIATE_TEST_SUITE_P(Shifts, SoftmaxShift, ::testing::Values(1e4, 1e8, 1e300, -1e300));

TEST(Softmax, OppositeHugeLogitsGiveOneHot) {
    // z - m = -2e300 is finite and exp of it is 0: no overflow, no NaN.
    const std::vector<double> z{1e300, -1e300, -1e300, 1e300};
    const auto p = softmax<double>(z, 2);
    EXPECT_EQ(p, (std::vector<double>{1, 0, 0, 1}));
    const auto lp = log_softmax<double>(z, 2);
    EXPECT_EQ(lp, (std::vector<double>{0, -2e300, -2e300, 0}));
}

TEST(Softmax, NegativeInfinityGivesExactlyZero) {
    const std::vector<double> z{0.0, -inf, std::log(3.0), -inf};
    const auto p = softmax<double>(z, 4);
    const auto lp = log_softmax<double>(z, 4);
    EXPECT_EQ(p[1], 0.0);
    EXPECT_EQ(p[3], 0.0);
    EXPECT_EQ(lp[1], -inf);
    EXPECT_EQ(lp[3], -inf);
    // The other entries are those of the row without the -inf entries: (1, 3) / 4.
    EXPECT_LE(eps_distance<double>(p[0], 0.25), few_ulps + 2);
    EXPECT_LE(eps_distance<double>(p[2], 0.75), few_ulps + 2);
    EXPECT_LE(std::abs(lp[0] - std::log(0.25)), 4 * 0x1p-52);
}

TEST(Softmax, UndefinedRowsGiveNaNAndLeaveOtherRowsAlone) {
    // Rows: fine, all -inf, +inf, NaN, fine (PyTorch gives NaN rows for the middle three).
    const std::vector<double> z{0, 0, -inf, -inf, 1, inf, 1, nan, 0, 0};
    const auto p = softmax<double>(z, 2);
    const auto lp = log_softmax<double>(z, 2);
    std::vector<double> lse(5);
    logsumexp<double>(z, 2, lse);
    for (std::size_t i = 0; i < 5; ++i) {
        const bool bad = i >= 1 && i <= 3;
        EXPECT_EQ(std::isnan(lse[i]), bad) << "row " << i;
        for (std::size_t j = 0; j < 2; ++j) {
            EXPECT_EQ(std::isnan(p[i * 2 + j]), bad) << "row " << i;
            EXPECT_EQ(std::isnan(lp[i * 2 + j]), bad) << "row " << i;
        }
    }
    EXPECT_EQ(p[0], 0.5);
    EXPECT_EQ(p[9], 0.5);
}

TEST(Softmax, LogSoftmaxStaysFiniteWhereSoftmaxUnderflows) {
    const std::vector<double> z{0.0, -1000.0};
    const auto p = softmax<double>(z, 2);
    const auto lp = log_softmax<double>(z, 2);
    EXPECT_EQ(p[0], 1.0);
    EXPECT_EQ(p[1], 0.0);  // e^-1000 is below the smallest subnormal
    // log p = (0, -1000) - log1p(e^-1000), and log1p(e^-1000) is far below ulp(1000).
    EXPECT_EQ(lp[0], 0.0);
    EXPECT_EQ(lp[1], -1000.0);
}

TEST(Softmax, GradualUnderflowKeepsSubnormalProbabilities) {
    // p_1 = e^-700 / (1 + e^-700) ~ 9.86e-305: normal in double, checked to a few ulps.
    const std::vector<double> z{0.0, -700.0};
    const auto p = softmax<double>(z, 2);
    EXPECT_LE(eps_distance<double>(p[1], std::exp(-700.0L)), few_ulps);
    // e^-740 ~ 4.2e-322 is subnormal: accurate to an absolute error of a few denorm_min.
    const std::vector<double> y{0.0, -740.0};
    const auto q = softmax<double>(y, 2);
    EXPECT_GT(q[1], 0.0);
    EXPECT_LE(std::abs(static_cast<ld>(q[1]) - std::exp(-740.0L)),
              4 * static_cast<ld>(std::numeric_limits<double>::denorm_min()));
}

TEST(Logsumexp, KnownValues) {
    const std::vector<double> z{0.0, 0.0};
    EXPECT_LE(eps_distance<double>(logsumexp<double>(std::span<const double>(z)), std::log(2.0L)),
              2);
    const std::vector<double> one{-7.25};
    EXPECT_EQ(logsumexp<double>(std::span<const double>(one)), -7.25);  // log(1) = 0 exactly
    EXPECT_EQ(logsumexp<double>(std::span<const double>{}), -inf);      // empty sum
    const std::vector<double> big{1e300, 1e300};
    EXPECT_EQ(logsumexp<double>(std::span<const double>(big)), 1e300);  // ln 2 << ulp(1e300)
}

TEST(Softmax, EveryScalarTypeAgreesWithTheLongDoubleFormula) {
    const std::vector<ld> z{-1.5L, 0.25L, 2.0L, 0.0L, -3.0L};
    const auto expected = test::pairwise_softmax(z);
    const auto pf = softmax<float>(test::convert<float>(z), 5);
    const auto pd = softmax<double>(test::convert<double>(z), 5);
    const auto pl = softmax<ld>(z, 5);
    for (std::size_t j = 0; j < 5; ++j) {
        EXPECT_LE(eps_distance<float>(pf[j], expected[j]), few_ulps + 1) << j;
        EXPECT_LE(eps_distance<double>(pd[j], expected[j]), few_ulps + 1) << j;
        EXPECT_LE(eps_distance<ld>(pl[j], expected[j]), few_ulps + 2) << j;
    }
}

TEST(Softmax, ComplexStepGivesTheSoftmaxJacobian) {
    // Im(softmax(z + i h e_k)) / h = dp/dz_k = p (e_k - p_k) with no cancellation (h = 1e-30).
    const std::vector<double> z{0.5, -1.0, 2.0};
    const auto p = test::pairwise_softmax(test::convert<ld>(z));
    const double h = 1e-30;
    for (std::size_t k = 0; k < 3; ++k) {
        std::vector<std::complex<double>> zc(z.begin(), z.end());
        zc[k] += std::complex<double>(0, h);
        const auto pc = softmax<std::complex<double>>(zc, 3);
        for (std::size_t j = 0; j < 3; ++j) {
            const ld want = p[j] * ((j == k ? 1 : 0) - p[k]);
            EXPECT_LE(eps_distance<double>(pc[j].imag() / h, want), 8) << j << "," << k;
            EXPECT_LE(eps_distance<double>(pc[j].real(), p[j]), few_ulps) << j;
        }
    }
}

TEST(Softmax, BadShapesNameTheField) {
    const std::vector<double> z(6, 0.0);
    std::vector<double> out(6), short_out(5), lse(2);
    const auto field_of = [](auto&& call) {
        try {
            call();
        } catch (const input_error& e) {
            return e.field();
        }
        return std::string("no error");
    };
    EXPECT_EQ(field_of([&] { softmax<double>(z, 0, out); }), "logits");
    EXPECT_EQ(field_of([&] { softmax<double>(z, 4, out); }), "logits");
    EXPECT_EQ(field_of([&] { softmax<double>(z, 3, short_out); }), "probs");
    EXPECT_EQ(field_of([&] { log_softmax<double>(z, 3, short_out); }), "out");
    EXPECT_EQ(field_of([&] { logsumexp<double>(z, 3, out); }), "out");
    EXPECT_EQ(field_of([&] { logsumexp<double>(z, 3, lse); }), "no error");
    EXPECT_EQ(field_of([&] { make_shape(7, 2); }), "logits");
}

}  // namespace
}  // namespace xentcheck
