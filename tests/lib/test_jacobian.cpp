/// Unit tests of xentcheck/jacobian.h: softmax Jacobian, Jacobian-vector product, loss Hessian.
#include "xentcheck/jacobian.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>
#include <vector>

#include "test_support.h"
#include "xentcheck/softmax.h"

namespace xentcheck {
namespace {

using test::ld;

TEST(SoftmaxJacobian, DyadicProbabilitiesGiveExactEntries) {
    // p = (1/8, 1/4, 5/8): every p_r p_k has at most 6 significant bits, so J is exact.
    const std::vector<double> p{0.125, 0.25, 0.625};
    const auto j = softmax_jacobian<double>(p);
    const std::vector<double> want{0.125 - 1.0 / 64, -1.0 / 32,       -5.0 / 64,  //
                                   -1.0 / 32,        0.25 - 1.0 / 16, -5.0 / 32,  //
                                   -5.0 / 64,        -5.0 / 32,       0.625 - 25.0 / 64};
    EXPECT_EQ(j, want);
}

TEST(SoftmaxJacobian, SymmetricRowsSumToZeroAndSpectrumInHalfUnitInterval) {
    std::mt19937_64 rng(3);
    std::normal_distribution<double> logit(0, 3);
    for (int trial = 0; trial < 20; ++trial) {
        const std::size_t c = 1 + rng() % 12;
        std::vector<double> z(c);
        for (auto& v : z)
            v = logit(rng);
        const auto p = softmax<double>(z, c);
        const auto j = softmax_jacobian<double>(p);
        for (std::size_t r = 0; r < c; ++r) {
            double row = 0;
            for (std::size_t k = 0; k < c; ++k) {
                EXPECT_EQ(j[r * c + k], j[k * c + r]);
                row += j[r * c + k];
            }
            EXPECT_LE(std::abs(row), 4 * c * 0x1p-53);  // C products and sums, each <= 1 ulp
        }
        // Rayleigh quotients v^T J v / v^T v lie in [0, 1/2] (up to rounding).
        for (int probe = 0; probe < 10; ++probe) {
            std::vector<double> v(c);
            for (auto& x : v)
                x = logit(rng);
            ld vjv = 0, vv = 0;
            for (std::size_t r = 0; r < c; ++r) {
                vv += static_cast<ld>(v[r]) * v[r];
                for (std::size_t k = 0; k < c; ++k)
                    vjv += static_cast<ld>(v[r]) * j[r * c + k] * v[k];
            }
            EXPECT_GE(vjv / vv, -1e-15);
            EXPECT_LE(vjv / vv, 0.5 + 1e-15);
        }
    }
}

TEST(SoftmaxJacobian, SizeMismatchNamesTheField) {
    const std::vector<double> p{0.5, 0.5};
    std::vector<double> out(3);
    try {
        softmax_jacobian<double>(p, out);
        ADD_FAILURE() << "no error";
    } catch (const input_error& e) {
        EXPECT_EQ(e.field(), "jacobian");
    }
}

TEST(SoftmaxJvp, EqualsTheExplicitJacobianProduct) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> normal(0, 2);
    const std::size_t n = 3, c = 7;
    std::vector<double> z(n * c), v(n * c), out(n * c);
    for (auto& x : z)
        x = normal(rng);
    for (auto& x : v)
        x = normal(rng);
    const auto p = softmax<double>(z, c);
    softmax_jvp<double>(p, c, v, out);
    for (std::size_t i = 0; i < n; ++i) {
        // (J v)_r = sum_k (p_r [r == k] - p_r p_k) v_k, summed in long double.
        for (std::size_t r = 0; r < c; ++r) {
            ld want = 0, scale = 0;
            for (std::size_t k = 0; k < c; ++k) {
                const ld jrk = static_cast<ld>(p[i * c + r]) * ((r == k ? 1 : 0) - p[i * c + k]);
                want += jrk * v[i * c + k];
                scale += std::abs(jrk * v[i * c + k]);
            }
            // C + 2 roundings of terms bounded by `scale`.
            EXPECT_LE(std::abs(out[i * c + r] - want), (c + 2) * 0x1p-53 * scale) << i << r;
        }
    }
    std::vector<double> short_v(4);
    EXPECT_THROW(softmax_jvp<double>(p, c, short_v, out), input_error);
}

TEST(CrossEntropyHessian, BlocksAreScaledSoftmaxJacobians) {
    // Two rows, weights, mean: block i = s A_i (diag p_i - p_i p_i^T), s = 1 / (w[t_0] + w[t_1]).
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0};
    const std::vector<std::int64_t> t{2, 0};
    const std::vector<double> w{2, 1, 0.5};
    const cross_entropy_options o{w, -100, 0, reduction::mean};
    std::vector<double> h(2 * 9);
    cross_entropy_hessian<double>(z, 3, target_view::indices(t), o, h);
    const ld s = 1 / (0.5L + 2);
    const ld mass[2] = {0.5L, 2};
    for (std::size_t i = 0; i < 2; ++i) {
        const std::vector<ld> zi{z[i * 3], z[i * 3 + 1], z[i * 3 + 2]};
        const auto p = test::pairwise_softmax(zi);
        for (std::size_t r = 0; r < 3; ++r) {
            for (std::size_t k = 0; k < 3; ++k) {
                const ld want = s * mass[i] * ((r == k ? p[r] : 0) - p[r] * p[k]);
                EXPECT_LE(std::abs(h[i * 9 + r * 3 + k] - want), 8 * 0x1p-53 * s * mass[i])
                    << i << r << k;
            }
        }
    }
}

TEST(CrossEntropyHessian, MatchesTheComplexStepOfTheGradientAndIgnoresRows) {
    // Column k of the Hessian is Im(grad(z + i h e_k)) / h: an independent path through the
    // gradient code. Probability targets with smoothing; a second case with an ignored row.
    const std::vector<double> z{0.3, -0.7, 1.1, 0.0, 2.0, -2.0};
    const std::vector<double> y{0.2, 0.3, 0.5, 1.0, 0.0, 0.0};
    const cross_entropy_options o{{}, -100, 0.1, reduction::sum};
    std::vector<double> h(18);
    cross_entropy_hessian<double>(z, 3, target_view::probabilities(y), o, h);
    const double step = 1e-20;
    for (std::size_t k = 0; k < 6; ++k) {
        std::vector<std::complex<double>> zc(z.begin(), z.end());
        zc[k] += std::complex<double>(0, step);
        std::vector<std::complex<double>> loss(1), grad(6);
        cross_entropy<std::complex<double>>(zc, 3, target_view::probabilities(y), o, loss, grad);
        const std::size_t row = k / 3;
        for (std::size_t j = 0; j < 6; ++j) {
            const double want = grad[j].imag() / step;
            const double got = j / 3 == row ? h[row * 9 + (j % 3) * 3 + k % 3] : 0.0;
            EXPECT_NEAR(got, want, 1e-15) << j << "," << k;  // |H| <= 1/2; a few ulps of that
        }
    }
    const std::vector<std::int64_t> t{1, -100};
    cross_entropy_hessian<double>(z, 3, target_view::indices(t), {}, h);
    for (std::size_t k = 9; k < 18; ++k)
        EXPECT_EQ(h[k], 0.0);
    std::vector<double> wrong(17);
    EXPECT_THROW(cross_entropy_hessian<double>(z, 3, target_view::indices(t), {}, wrong),
                 input_error);
}

}  // namespace
}  // namespace xentcheck
