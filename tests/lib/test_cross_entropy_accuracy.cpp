/// Unit tests of xentcheck/cross_entropy.h: accuracy where naive code cancels, every scalar type.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <vector>

#include "test_support.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/jacobian.h"
#include "xentcheck/softmax.h"
#include "xentcheck/tolerance.h"

namespace xentcheck {
namespace {

using test::eps_distance;
using test::ld;

TEST(CrossEntropyAccuracy, ConfidentOneHotGradientKeepsFullRelativeAccuracy) {
    // logits (40, 0, 0), target 0: grad_0 = p_0 - 1 = -2e^-40 / (1 + 2e^-40) ~ -8.5e-18.
    const ld q = 2 * std::exp(-40.0L) / (1 + 2 * std::exp(-40.0L));
    const std::vector<double> z{40, 0, 0};
    const std::vector<std::int64_t> t{0};
    const auto r = cross_entropy<double>(z, 3, target_view::indices(t));
    EXPECT_LE(eps_distance<double>(r.grad[0], -q), 4);
    // Naive p_t - 1 loses everything here: p_0 rounds to 1 and the difference is 0.
    EXPECT_EQ(r.probs[0] - 1.0, 0.0);
    // The same one-hot target as a probability row takes the same care.
    const std::vector<double> y{1, 0, 0};
    const auto rp = cross_entropy<double>(z, 3, target_view::probabilities(y));
    EXPECT_LE(eps_distance<double>(rp.grad[0], -q), 4);
    // float: logits (20, 0, 0): 2e^-20 ~ 4e-9 is below float's epsilon.
    const ld qf = 2 * std::exp(-20.0L) / (1 + 2 * std::exp(-20.0L));
    const std::vector<float> zf{20, 0, 0};
    const auto rf = cross_entropy<float>(zf, 3, target_view::indices(t));
    EXPECT_LE(eps_distance<float>(rf.grad[0], -qf), 4);
    EXPECT_EQ(rf.probs[0] - 1.0f, 0.0f);
}

TEST(CrossEntropyAccuracy, LossStaysFiniteWhenTheTargetProbabilityUnderflows) {
    // p_0 = e^-1000 underflows; L = 1000 + log1p(e^-1000) = 1000 to double precision.
    const std::vector<double> z{0, 1000};
    const std::vector<std::int64_t> t{0};
    const auto r = cross_entropy<double>(z, 2, target_view::indices(t));
    EXPECT_EQ(r.loss[0], 1000.0);
    EXPECT_EQ(r.grad, (std::vector<double>{-1.0, 1.0}));
    const std::vector<float> zf{0, 200};  // e^-200 underflows float entirely
    EXPECT_EQ(cross_entropy<float>(zf, 2, target_view::indices(t)).loss[0], 200.0f);
    const std::vector<ld> zl{0, 20000};  // e^-20000 underflows long double
    EXPECT_EQ(cross_entropy<ld>(zl, 2, target_view::indices(t)).loss[0], 20000.0L);
}

TEST(CrossEntropyAccuracy, HugeLogitsGiveFiniteLossAndGradient) {
    for (const double c : {1e4, 1e8, 1e300}) {
        const std::vector<double> z{c, c * 0.5, -c, c};
        const std::vector<std::int64_t> t{1, 0};
        const auto r = cross_entropy<double>(z, 2, target_view::indices(t));
        ASSERT_TRUE(std::isfinite(r.loss[0])) << c;
        // Row 0: L = c/2 (+ e^{-c/2}, invisible); row 1: L = 2c; mean = 1.25 c.
        EXPECT_LE(eps_distance<double>(r.loss[0], 1.25L * c), 2) << c;
        // p is one-hot to double precision: grad_i = (p_i - e_t) / 2.
        EXPECT_EQ(r.grad, (std::vector<double>{0.5, -0.5, -0.5, 0.5})) << c;
    }
}

/// Every scalar type agrees with the long double oracle to a few of its own epsilons.
template <class T>
void expect_type_matches_oracle(ld rel_bound_eps) {
    test::oracle_problem q;
    q.logits = {1.5L, -0.5L, 2.25L, 0, -3, 0.75L, 0.5L, 0.25L};
    q.classes = 4;
    q.index = {2, 0};
    q.weight = {1, 0.5L, 2, 1.5L};
    q.label_smoothing = 0.125L;  // exact in every type
    q.red = reduction::mean;
    const auto want = test::oracle(q);
    const auto z = test::convert<T>(q.logits);
    const std::vector<double> w(q.weight.begin(), q.weight.end());
    const cross_entropy_options o{w, -100, 0.125, reduction::mean};
    const auto r = cross_entropy<T>(z, 4, target_view::indices(q.index), o);
    EXPECT_LE(eps_distance<T>(static_cast<ld>(r.loss[0]), want.loss[0]), rel_bound_eps);
    // Gradient entries against their natural magnitude s (A p + |a|) <= 2 max|g|-ish: use the
    // largest |g| of the row as the scale, so the few entries that cancel are judged fairly.
    ld scale = 0;
    for (const ld g : want.grad)
        scale = std::max(scale, std::abs(g));
    const ld eps = std::numeric_limits<T>::epsilon();
    for (std::size_t k = 0; k < want.grad.size(); ++k) {
        EXPECT_LE(std::abs(static_cast<ld>(r.grad[k]) - want.grad[k]), rel_bound_eps * eps * scale)
            << k;
    }
}

TEST(CrossEntropyAccuracy, LongDoubleKeepsLongDoubleAccuracyWithGeneralOptions) {
    // Weights and smoothing that are not dyadic: masses and the mean divisor must be formed in
    // long double too, or the long double reference is only as good as double (~1e-16).
    test::oracle_problem q;
    q.logits = {0.3L, -1.1L, 2.7L, 0.05L, 1.9L, -0.4L};
    q.classes = 3;
    q.index = {1, 2};
    const std::vector<double> w{0.3, 1.7, 0.9};
    const double eps = 0.1;
    q.weight = test::convert<ld>(w);  // the double values, exactly
    q.label_smoothing = eps;
    for (const auto red : {reduction::mean, reduction::sum}) {
        q.red = red;
        const auto want = test::oracle(q);
        const cross_entropy_options o{w, -100, eps, red};
        const auto r = cross_entropy<ld>(q.logits, 3, target_view::indices(q.index), o);
        EXPECT_LE(eps_distance<ld>(r.loss[0], want.loss[0]), 16) << to_string(red);
        for (std::size_t k = 0; k < 6; ++k)
            EXPECT_LE(eps_distance<ld>(r.grad[k], want.grad[k]), 64) << to_string(red) << k;
        std::vector<ld> h(18);
        cross_entropy_hessian<ld>(q.logits, 3, target_view::indices(q.index), o, h);
        // Hessian block 0, entry (0, 0): s A_0 p_0 (1 - p_0), A_0 = (1 - eps) w_1 + eps/3 sum w.
        const std::vector<ld> z0(q.logits.begin(), q.logits.begin() + 3);
        const auto p = test::pairwise_softmax(z0);
        const ld mass = (1 - ld(eps)) * ld(w[1]) + ld(eps) / 3 * (ld(w[0]) + ld(w[1]) + ld(w[2]));
        const ld divisor = red == reduction::mean ? ld(w[1]) + ld(w[2]) : 1;
        EXPECT_LE(eps_distance<ld>(h[0], mass / divisor * p[0] * (1 - p[0])), 16) << to_string(red);
    }
}

TEST(CrossEntropyAccuracy, FloatDoubleAndLongDoubleInstantiations) {
    expect_type_matches_oracle<float>(16);
    expect_type_matches_oracle<double>(16);
    expect_type_matches_oracle<ld>(16);
}

/// Complex step: Im(L(z + i h e_j)) / h = dL/dz_j with no subtractive cancellation, so it
/// checks the gradient code path against the loss code path to double precision.
void expect_complex_step_matches_gradient(const std::vector<double>& z, std::size_t classes,
                                          const target_view& t, const cross_entropy_options& o) {
    const auto r = cross_entropy<double>(z, classes, t, o);
    const auto magnitude = grad_magnitudes(r.probs, classes, t, o);
    const double h = 1e-20;
    cross_entropy_options summed = o;
    if (summed.reduction == reduction::none) summed.reduction = reduction::sum;
    for (std::size_t j = 0; j < z.size(); ++j) {
        std::vector<std::complex<double>> zc(z.begin(), z.end());
        zc[j] += std::complex<double>(0, h);
        const std::complex<double> loss = cross_entropy_loss<std::complex<double>>(
            std::span<const std::complex<double>>(zc), classes, t, summed);
        const double derivative = loss.imag() / h;
        // Both sides carry a few roundings of the terms A p_j and a_j: 8 eps of the magnitude.
        EXPECT_LE(std::abs(derivative - r.grad[j]), 8 * 0x1p-52 * magnitude[j])
            << "coordinate " << j << ": " << derivative << " vs " << r.grad[j];
        if (std::abs(r.grad[j]) > 0.5 * magnitude[j]) {  // no cancellation: plain relative
            EXPECT_LE(eps_distance<double>(derivative, r.grad[j]), 8) << j;
        }
    }
}

TEST(CrossEntropyAccuracy, ComplexStepDerivativeOfTheLossEqualsTheGradient) {
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<double> logit(-8, 8), unit(0, 1);
    for (int trial = 0; trial < 24; ++trial) {
        const std::size_t c = 1 + rng() % 6, n = 1 + rng() % 3;
        std::vector<double> z(n * c), y(n * c), w;
        for (auto& v : z)
            v = logit(rng);
        for (auto& v : y)
            v = unit(rng);
        if (trial % 3 == 0) {
            for (std::size_t j = 0; j < c; ++j)
                w.push_back(0.5 + unit(rng));
        }
        std::vector<std::int64_t> idx(n);
        for (auto& t : idx)
            t = static_cast<std::int64_t>(rng() % c);
        if (n > 1) idx[n - 1] = -100;
        const cross_entropy_options o{w, -100, trial % 2 ? 0.2 : 0.0,
                                      static_cast<reduction>(trial % 3)};
        SCOPED_TRACE(testing::Message() << "trial " << trial);
        expect_complex_step_matches_gradient(z, c, target_view::indices(idx), o);
        expect_complex_step_matches_gradient(z, c, target_view::probabilities(y), o);
    }
    // The confident case: the complex step sees -2e^-40/(1 + 2e^-40) as well.
    const std::vector<double> z{40, 0, 0};
    const std::vector<std::int64_t> t{0};
    expect_complex_step_matches_gradient(z, 3, target_view::indices(t), {});
}

}  // namespace
}  // namespace xentcheck
