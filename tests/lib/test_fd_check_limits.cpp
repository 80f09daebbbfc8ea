/// Tests of check_grad_finite_difference where no step resolves the gradient: logits near 1e300
/// (float64) and 1e38 (float32) must not fail a correct gradient.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck {
namespace {

/// A gradient check at `z` (index targets `t`, C = `c`) set up as eval does it: the loss
/// differenced is evaluated in T (long double: eval's reference loss; float: a loss that reads
/// and computes in float), its error bound is the model's loss bound at T's unit roundoff, the
/// third-derivative bound grad_scale / (6 sqrt 3), and the gradient tolerance that model's.
template <class T>
check_result fd_check_in(const std::vector<double>& z, std::size_t c,
                         const std::vector<std::int64_t>& t, const std::vector<double>& grad) {
    const target_view target = target_view::indices(t);
    const scalar_function loss = [&](std::span<const long double> x) -> long double {
        const std::vector<T> in(x.begin(), x.end());
        return cross_entropy_loss<T>(std::span<const T>(in), c, target, {});
    };
    const tolerance_model model(measure_problem(unit_roundoff<T>(), z, c, target, {}));
    const std::vector<long double> zl(z.begin(), z.end());
    const double loss_error = model.loss().bound(std::abs(static_cast<double>(loss(zl))));
    const double third = model.scale().grad_scale / (6 * std::sqrt(3.0));
    return check_grad_finite_difference(loss, z, c, grad, loss_error, third, model.grad(),
                                        model.scale().grad_scale);
}

/// The T reference gradient, as double.
template <class T>
std::vector<double> gradient_in(const std::vector<double>& z, std::size_t c,
                                const std::vector<std::int64_t>& t) {
    const std::vector<T> in(z.begin(), z.end());
    const auto g = cross_entropy<T>(std::span<const T>(in), c, target_view::indices(t)).grad;
    return {g.begin(), g.end()};
}

TEST(FdCheckLimits, Float64LogitsNear1e300DoNotFailACorrectGradient) {
    // The step grown with |x| (|x| 2^-20 times the planned step) overflows to inf here.
    const double half_max = std::numeric_limits<double>::max() / 2;
    const std::vector<double> z{1e300, -1e300, 5e299, half_max, -half_max, 0.75 * half_max};
    const std::vector<std::int64_t> t{0, 2};
    const auto r = fd_check_in<long double>(z, 3, t, gradient_in<long double>(z, 3, t));
    EXPECT_TRUE(r.passed);
    EXPECT_EQ(r.violations, 0u);
    // Nothing was compared, and the check says so and why instead of passing silently.
    EXPECT_EQ(r.checked, 0u);
    EXPECT_EQ(r.inconclusive, 6u);
    EXPECT_EQ(r.inconclusive_reason.rfind("row 0, class 0: x = 1e+300 leaves no finite step", 0),
              0u)
        << r.inconclusive_reason;
}

TEST(FdCheckLimits, AStepThatResolvesNothingIsInconclusiveNotAPass) {
    // |x| = 1e200: the grown step (about 1e193 here) is finite, and so are x +- h, but the
    // truncation error at it is astronomically larger than any gradient entry.
    const std::vector<double> z{1e200, -1e200, 5e199};
    const std::vector<std::int64_t> t{0};
    auto g = gradient_in<long double>(z, 3, t);
    g[0] = 1e6;  // absurd, and still not a violation: the check cannot tell
    const auto r = fd_check_in<long double>(z, 3, t, g);
    EXPECT_TRUE(r.passed);
    EXPECT_EQ(r.checked, 0u);
    EXPECT_EQ(r.inconclusive, 3u);
    EXPECT_NE(r.inconclusive_reason.find("no step resolves the gradient at x = 1e+200"),
              std::string::npos)
        << r.inconclusive_reason;
}

TEST(FdCheckLimits, Float32LogitsNear1e38DoNotFailACorrectGradient) {
    // A loss that reads float: x +- h is far beyond FLT_MAX, so it would see +-inf.
    const std::vector<double> z{1e38, -1e38, 5e37, 3e38, -2e38, 2.5e38};
    const std::vector<std::int64_t> t{1, 0};
    const auto r = fd_check_in<float>(z, 3, t, gradient_in<float>(z, 3, t));
    EXPECT_TRUE(r.passed);
    EXPECT_EQ(r.violations, 0u);
    EXPECT_EQ(r.checked, 0u);
    EXPECT_EQ(r.inconclusive, 6u);
    EXPECT_NE(r.inconclusive_reason.find("no step resolves the gradient"), std::string::npos)
        << r.inconclusive_reason;
}

TEST(FdCheckLimits, AFloatLossThatOverflowsAtTheStepIsInconclusive) {
    // A third-derivative bound of 1e-300 makes the planned step enormous (about 1e11 here) while
    // the truncation term stays negligible: the comparison would be meaningful, but a float
    // loss sees x + h = +inf, so there is no difference to take.
    const std::vector<double> z{3e38, -3e38, 0};
    const std::vector<std::int64_t> t{2};
    const target_view target = target_view::indices(t);
    const scalar_function loss = [&](std::span<const long double> x) -> long double {
        const std::vector<float> in(x.begin(), x.end());
        return cross_entropy_loss<float>(std::span<const float>(in), 3, target, {});
    };
    const auto g = gradient_in<float>(z, 3, t);
    const auto r =
        check_grad_finite_difference(loss, z, 3, g, 1e-6, 1e-300, tolerance{0, 1e-6}, 1.0);
    EXPECT_TRUE(r.passed);
    EXPECT_EQ(r.violations, 0u);
    EXPECT_GE(r.inconclusive, 1u);
    EXPECT_NE(r.inconclusive_reason.find("the loss is not finite at x +- h"), std::string::npos)
        << r.inconclusive_reason;
}

/// Sweeps |logit| = 10^e over the dtype's range with a correct gradient (which must never fail)
/// and one whose largest entry is off by its whole magnitude (which must fail wherever that
/// coordinate is compared: compared means 2E + a < magnitude). Returns the largest 10^e at
/// which any coordinate was compared.
template <class T>
double sweep_logit_magnitudes(int largest_exponent) {
    double largest_compared = 0;
    for (int e = 0; e <= largest_exponent; ++e) {
        const double m = std::pow(10.0, e);
        // Two rows: classes within O(1) of each other (a soft row), and spread over +-m.
        const std::vector<double> z{m, m - 1, m - 2.5, -m, m / 2, -m / 3, m, 0.25 * m};
        const std::vector<std::int64_t> t{1, 3};
        const auto g = gradient_in<T>(z, 4, t);
        const auto ok = fd_check_in<T>(z, 4, t, g);
        EXPECT_EQ(ok.violations, 0u) << "|z| = " << m;
        EXPECT_EQ(ok.checked + ok.inconclusive, z.size()) << "|z| = " << m;
        if (ok.checked > 0) largest_compared = m;
        const tolerance_model model(
            measure_problem(unit_roundoff<T>(), z, 4, target_view::indices(t), {}));
        for (std::size_t k = 0; k < g.size(); ++k) {
            // The other coordinates are judged alike in every run; a NaN entry is left out, so
            // the difference in `checked` tells whether coordinate k was compared.
            auto others = g;
            others[k] = std::numeric_limits<double>::quiet_NaN();
            const std::size_t base = fd_check_in<T>(z, 4, t, others).checked;
            auto bad = g;
            bad[k] += std::max(std::abs(g[k]), model.scale().grad_scale);
            const auto r = fd_check_in<T>(z, 4, t, bad);
            const bool compared = r.checked == base + 1;
            EXPECT_EQ(r.violations, compared ? 1u : 0u) << "|z| = " << m << ", k = " << k;
            if (compared && !r.findings.empty()) {
                EXPECT_EQ(r.findings[0].where.row * 4 + r.findings[0].where.column.value_or(9), k);
            }
        }
    }
    return largest_compared;
}

TEST(FdCheckLimits, ComparedCoordinatesResolveAnErrorOfTheGradientsSize) {
    const double f64 = sweep_logit_magnitudes<long double>(308);
    const double f32 = sweep_logit_magnitudes<float>(38);
    std::printf(
        "[fd-measure] largest |logit| 10^e with compared coordinates: long double loss "
        "%g, float loss %g\n",
        f64, f32);
    EXPECT_GE(f64, 1e8);  // the range eval relies on (LargeLogitsDoNotCauseFalseFailures)
    EXPECT_GE(f32, 10.0);
}

}  // namespace
}  // namespace xentcheck
