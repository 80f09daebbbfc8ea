/// Tests of xentcheck/checks.h: each check passes correct values and catches a planted violation.
#include "xentcheck/checks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/softmax.h"

namespace xentcheck {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

/// The float64 model of a 2 x 3 batch with |logits| <= 2 and index targets, mean reduction.
tolerance_model small_model() {
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0};
    const std::vector<std::int64_t> t{2, 0};
    return tolerance_model(measure_problem(0x1p-53, z, 3, target_view::indices(t), {}));
}

void expect_location(const finding& f, std::size_t row, std::optional<std::size_t> column) {
    EXPECT_EQ(f.where.row, row);
    EXPECT_EQ(f.where.column, column);
}

TEST(CompareValues, ReportsTheViolationWithItsLocationAndErrors) {
    const std::vector<double> ref{1, 2, nan, inf, -inf, 4};
    std::vector<double> act = ref;
    act[1] = 2 + 1e-9;   // row 0, class 1 of a 3 x 2 batch
    act[5] = 4 + 1e-13;  // within 1e-12 relative: accepted
    const auto r = compare_values("expect.grad", ref, act, 2, tolerance{0, 1e-12});
    EXPECT_EQ(r.name, "expect.grad");
    EXPECT_FALSE(r.passed);
    EXPECT_EQ(r.checked, 6u);
    EXPECT_EQ(r.violations, 1u);
    ASSERT_EQ(r.findings.size(), 1u);
    const finding& f = r.findings[0];
    expect_location(f, 0, 1);
    EXPECT_EQ(f.expected, 2.0);
    EXPECT_EQ(f.actual, 2 + 1e-9);
    EXPECT_DOUBLE_EQ(f.abs_error, (2 + 1e-9) - 2);
    EXPECT_DOUBLE_EQ(f.rel_error, ((2 + 1e-9) - 2) / 2);
    EXPECT_DOUBLE_EQ(f.allowed, 2e-12);
    ASSERT_TRUE(r.worst.has_value());
    EXPECT_EQ(r.worst->to_string(), "row 0, class 1");
    EXPECT_EQ(r.used.rtol, 1e-12);
    EXPECT_DOUBLE_EQ(r.worst_ratio, f.abs_error / f.allowed);  // ~500: far outside
}

TEST(CompareValues, NonFiniteReferencesMustMatchExactly) {
    const std::vector<double> ref{nan, inf, -inf, 1};
    const std::vector<double> act{0, 1e308, inf, nan};
    const auto r = compare_values("loss", ref, act, 1, tolerance{1, 1});
    EXPECT_EQ(r.violations, 4u);
    ASSERT_EQ(r.findings.size(), 4u);
    for (std::size_t k = 0; k < 4; ++k) {
        expect_location(r.findings[k], k, std::nullopt);
        EXPECT_EQ(r.findings[k].abs_error, inf);
    }
    EXPECT_EQ(r.max_abs_error, inf);
    EXPECT_TRUE(compare_values("loss", ref, ref, 1, tolerance{}).passed);
}

TEST(CompareValues, MagnitudeSizeMismatchAndFindingCap) {
    // An explicit magnitude replaces |reference| as the scale of the relative part.
    const std::vector<double> ref{0.0}, act{1e-10}, mag{1.0};
    EXPECT_FALSE(compare_values("g", ref, act, 1, tolerance{0, 1e-9}).passed);
    EXPECT_TRUE(compare_values("g", ref, act, 1, tolerance{0, 1e-9}, mag).passed);
    const std::vector<double> two{1, 2};
    const auto sized = compare_values("g", two, ref, 1, tolerance{});
    EXPECT_FALSE(sized.passed);
    EXPECT_EQ(sized.worst_ratio, inf);
    const std::vector<double> many(20, 1.0), off(20, 2.0);
    const auto capped = compare_values("g", many, off, 4, tolerance{});
    EXPECT_EQ(capped.violations, 20u);
    EXPECT_EQ(capped.findings.size(), check_result::max_findings);
    expect_location(capped.findings[5], 1, 1);
}

TEST(CheckProbs, InUnitIntervalCatchesValuesOutsideAndNaN) {
    const auto model = small_model();
    std::vector<double> p{-0.2, 0.6, 0.6, 0.1, 0.4, 1.5};
    const auto r = check_probs_in_unit_interval(p, 3, model);
    EXPECT_EQ(r.name, "probs_in_unit_interval");
    ASSERT_EQ(r.violations, 2u);
    expect_location(r.findings[0], 0, 0);
    EXPECT_EQ(r.findings[0].expected, 0.0);
    EXPECT_EQ(r.findings[0].actual, -0.2);
    expect_location(r.findings[1], 1, 2);
    EXPECT_EQ(r.findings[1].expected, 1.0);
    EXPECT_EQ(r.findings[1].actual, 1.5);
    p = {0.2, nan, 0.8};
    EXPECT_FALSE(check_probs_in_unit_interval(p, 3, model).passed);
    // Rounding-sized excursions are allowed: 1 + u and -u^2.
    p = {1 + 0x1p-52, -0x1p-106, 0};
    EXPECT_TRUE(check_probs_in_unit_interval(p, 3, model).passed);
}

TEST(CheckProbs, RowsSumToOne) {
    const auto model = small_model();
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0};
    std::vector<double> p = softmax<double>(z, 3);
    EXPECT_TRUE(check_probs_sum_to_one(p, 3, model).passed);
    p[4] += 1e-9;  // row 1 off by 1e-9: far above float64 rounding of three terms
    const auto r = check_probs_sum_to_one(p, 3, model);
    ASSERT_EQ(r.violations, 1u);
    expect_location(r.findings[0], 1, std::nullopt);
    EXPECT_EQ(r.findings[0].expected, 1.0);
    EXPECT_NEAR(r.findings[0].actual, 1 + 1e-9, 1e-15);
}

TEST(CheckGrad, RowsSumToZero) {
    const auto model = small_model();
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0};
    const std::vector<std::int64_t> t{2, 0};
    auto g = cross_entropy<double>(z, 3, target_view::indices(t)).grad;
    EXPECT_TRUE(check_grad_rows_sum_to_zero(g, 3, model).passed);
    g[1] *= 1 + 1e-6;
    const auto r = check_grad_rows_sum_to_zero(g, 3, model);
    ASSERT_EQ(r.violations, 1u);
    expect_location(r.findings[0], 0, std::nullopt);
    // A NaN row (undefined input) is skipped; an infinite entry is a violation.
    std::vector<double> h{nan, nan, nan, 0, inf, 0};
    const auto s = check_grad_rows_sum_to_zero(h, 3, model);
    EXPECT_EQ(s.violations, 1u);
    EXPECT_EQ(s.checked, 1u);
}

TEST(CheckLoss, NonnegativeWithinRounding) {
    const auto model = small_model();
    const std::vector<double> loss{0.1, 0, -1e-20, -0.1, nan};
    const auto r = check_loss_nonnegative(loss, model);
    EXPECT_EQ(r.checked, 4u);
    ASSERT_EQ(r.violations, 1u);
    expect_location(r.findings[0], 3, std::nullopt);
    EXPECT_EQ(r.findings[0].actual, -0.1);
    EXPECT_EQ(model.loss_floor(), -model.loss().atol);
}

/// A gradient check of the reference loss (long double) at `z` with index targets `t`, set up
/// the way docs/tolerances.md prescribes: loss evaluation error from the model at long double,
/// third-derivative bound grad_scale / (6 sqrt 3), the float64 gradient tolerance.
check_result fd_check(const std::vector<double>& z, std::size_t c,
                      const std::vector<std::int64_t>& t, const std::vector<double>& grad,
                      const cross_entropy_options& o = {}) {
    const target_view target = target_view::indices(t);
    const scalar_function loss = [&](std::span<const long double> x) {
        return cross_entropy_loss<long double>(x, c, target, o);
    };
    const tolerance_model ld_model(measure_problem(unit_roundoff<long double>(), z, c, target, o));
    const tolerance_model model(measure_problem(0x1p-53, z, c, target, o));
    const std::vector<long double> zl(z.begin(), z.end());
    const double loss_error = ld_model.loss().bound(std::abs(static_cast<double>(loss(zl))));
    const double third = model.scale().grad_scale / (6 * std::sqrt(3.0));
    return check_grad_finite_difference(loss, z, c, grad, loss_error, third, model.grad(),
                                        model.scale().grad_scale);
}

TEST(CheckGradFiniteDifference, AcceptsTheCorrectGradientAndFindsAWrongOne) {
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0, -0.25, 3, 0.75};
    const std::vector<std::int64_t> t{2, 0, 1};
    const auto r = cross_entropy<double>(z, 3, target_view::indices(t));
    const auto ok = fd_check(z, 3, t, r.grad);
    EXPECT_TRUE(ok.passed) << ok.max_abs_error;
    EXPECT_EQ(ok.checked, 9u);
    // One entry off by 1e-7 (row 1, class 2) is found, and only it.
    auto g = r.grad;
    g[5] += 1e-7;
    const auto one = fd_check(z, 3, t, g);
    ASSERT_EQ(one.violations, 1u);
    expect_location(one.findings[0], 1, 2);
    EXPECT_NEAR(one.findings[0].actual - one.findings[0].expected, 1e-7, 1e-9);
}

TEST(CheckGradFiniteDifference, CatchesDerivativeWithRespectToProbabilities) {
    // A classic hand-derivation slip: returning dE/dp (= -s / p_t at the target, 0 elsewhere)
    // instead of dE/dz = s (p - e_t).
    const std::vector<double> z{0.5, -1, 2, 1, 1, 0};
    const std::vector<std::int64_t> t{2, 0};
    const auto r = cross_entropy<double>(z, 3, target_view::indices(t));
    std::vector<double> de_dp(6, 0.0);
    de_dp[2] = -0.5 / r.probs[2];
    de_dp[3] = -0.5 / r.probs[3];
    const auto bad = fd_check(z, 3, t, de_dp);
    EXPECT_FALSE(bad.passed);
    EXPECT_EQ(bad.violations, 6u);  // every entry differs from s (p - e_t)
    expect_location(bad.findings[0], 0, 0);
    EXPECT_NEAR(bad.findings[0].expected, r.grad[0], 1e-9);
    EXPECT_EQ(bad.findings[0].actual, 0.0);
}

TEST(CheckGradFiniteDifference, LargeLogitsDoNotCauseFalseFailures) {
    // |z| ~ 1e8 with O(1) differences: probabilities are not one-hot, so the third derivative
    // is as large as it gets while the step is scaled up with |z|.
    const std::vector<double> z{1e8, 1e8 + 1, 1e8 - 1, -1e8, -1e8 + 2, -1e8 + 0.5};
    const std::vector<std::int64_t> t{0, 2};
    const auto r = cross_entropy<double>(z, 3, target_view::indices(t));
    const auto ok = fd_check(z, 3, t, r.grad);
    EXPECT_TRUE(ok.passed) << (ok.findings.empty() ? "" : ok.findings[0].where.to_string());
}

TEST(CheckGradFiniteDifference, SamplesAtMostTheRequestedCoordinatesIncludingEachRowsLargest) {
    std::vector<double> z(2 * 500);
    for (std::size_t k = 0; k < z.size(); ++k)
        z[k] = std::sin(static_cast<double>(k));
    const std::vector<std::int64_t> t{7, 400};
    auto g = cross_entropy<double>(z, 500, target_view::indices(t)).grad;
    g[400 + 500] *= 1 + 1e-4;  // the largest |g| of row 1 is always sampled
    const target_view target = target_view::indices(t);
    const scalar_function loss = [&](std::span<const long double> x) {
        return cross_entropy_loss<long double>(x, 500, target, {});
    };
    const tolerance_model model(measure_problem(0x1p-53, z, 500, target, {}));
    const auto r = check_grad_finite_difference(loss, z, 500, g, 1e-18, 0.05, model.grad(),
                                                model.scale().grad_scale, 50);
    EXPECT_LE(r.checked, 50u + 2);
    ASSERT_EQ(r.violations, 1u);
    expect_location(r.findings[0], 1, 400);
}

TEST(CheckGradFiniteDifference, SafeAndTightOverRandomProblems) {
    // Correct float64 gradients must pass with room to spare; a gradient whose largest entry is
    // off by 1e-6 of the gradient scale must fail. Prints the worst ratios (error / allowed).
    std::mt19937_64 rng(11);
    std::normal_distribution<double> normal(0, 1);
    double worst_correct = 0, weakest_planted = inf;
    for (int trial = 0; trial < 100; ++trial) {
        const std::size_t c = 1 + rng() % 48, n = 1 + rng() % 4;
        const double sigma = std::pow(10.0, -1.0 + 3.0 * static_cast<double>(rng() % 1000) / 1000);
        std::vector<double> z(n * c), w;
        for (auto& v : z)
            v = sigma * normal(rng);
        std::vector<std::int64_t> t(n);
        for (auto& v : t)
            v = static_cast<std::int64_t>(rng() % c);
        if (rng() % 2) {
            for (std::size_t j = 0; j < c; ++j)
                w.push_back(0.5 + std::abs(normal(rng)));
        }
        const cross_entropy_options o{w, -100, rng() % 3 == 0 ? 0.1 : 0.0,
                                      static_cast<reduction>(rng() % 3)};
        auto g = cross_entropy<double>(z, c, target_view::indices(t), o).grad;
        const auto ok = fd_check(z, c, t, g, o);
        EXPECT_TRUE(ok.passed) << "trial " << trial;
        worst_correct = std::max(worst_correct, ok.worst_ratio);
        const tolerance_model model(measure_problem(0x1p-53, z, c, target_view::indices(t), o));
        std::size_t k = 0;
        for (std::size_t j = 0; j < g.size(); ++j)
            k = std::abs(g[j]) > std::abs(g[k]) ? j : k;
        g[k] += 1e-6 * model.scale().grad_scale;
        const auto bad = fd_check(z, c, t, g, o);
        EXPECT_FALSE(bad.passed) << "trial " << trial;
        weakest_planted = std::min(weakest_planted, bad.worst_ratio);
    }
    std::printf(
        "finite differences: correct gradients worst ratio %.3g; gradients off by 1e-6 "
        "grad_scale: smallest ratio %.3g\n",
        worst_correct, weakest_planted);
}

}  // namespace
}  // namespace xentcheck
