/// The reference (double and long double) against the oracle on random cases of every regime,
/// within the documented bounds; and planted bugs that the bound check must flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/oracle/error.h"
#include "xentcheck/oracle/oracle.h"
#include "xentcheck/oracle/sampler.h"

namespace {

using namespace xentcheck;

/// Small shapes keep the oracle fast; the property test and the accuracy tool cover the rest.
oracle::shape_options small_shapes() {
    oracle::shape_options s;
    s.max_classes = 257;
    s.large_fraction = 0;
    return s;
}

std::string describe(const oracle::sampled_case& c, std::uint64_t id) {
    return "case #" + std::to_string(id) + " (" + std::string(oracle::to_string(c.kind)) + ", " +
           std::to_string(c.rows) + " x " + std::to_string(c.classes) + ")";
}

class ReferenceAgainstOracle : public testing::TestWithParam<oracle::regime> {};

TEST_P(ReferenceAgainstOracle, DoubleWithinDocumentedBounds) {
    constexpr std::uint64_t seed = 20240611, cases = 60;
    std::size_t skipped = 0;
    for (std::uint64_t id = 0; id < cases; ++id) {
        const auto c = oracle::draw_case(seed, id, GetParam(), small_shapes());
        const auto target = c.target();
        const auto options = c.options();
        if (!oracle::known_reference_differences(c.logits, c.classes, target, options).empty()) {
            ++skipped;
            continue;
        }
        const auto truth = oracle::evaluate(c.logits, c.classes, target, options);
        const auto ref = cross_entropy<double>(c.logits, c.classes, target, options);
        const auto bounds = oracle::bounds_for(c.logits, c.classes, target, options, truth);
        const auto v = oracle::check_against_bounds(ref.probs, ref.loss, ref.grad, truth, bounds);
        ASSERT_TRUE(v.empty()) << describe(c, id) << ": " << v.front().to_string();
    }
    EXPECT_LE(skipped, cases / 5) << "known-difference skips hide too much of the sample";
}

// cross_entropy<long double> against the long double roundings, under the same bounds in long
// double ulps. The large_1e4, large_1e8 and large_1e300 regimes are left to the double test:
// their e^-1e4-sized results need ~16000-bit enclosures to be rounded to long double.
class LongDoubleReferenceAgainstOracle : public testing::TestWithParam<oracle::regime> {};

TEST_P(LongDoubleReferenceAgainstOracle, WithinDocumentedBounds) {
    const auto r = GetParam();
    constexpr std::uint64_t seed = 7, cases = 30;
    oracle::oracle_options settings;
    settings.long_double = true;
    for (std::uint64_t id = 0; id < cases; ++id) {
        const auto c = oracle::draw_case(seed, id, r, small_shapes());
        const auto target = c.target();
        auto options = c.options();
        if (!oracle::known_reference_differences(c.logits, c.classes, target, options).empty()) {
            continue;
        }
        const auto truth = oracle::evaluate(c.logits, c.classes, target, options, settings);
        const std::vector<long double> z(c.logits.begin(), c.logits.end());
        const auto ref = cross_entropy<long double>(z, c.classes, target, options);
        const auto b = oracle::bounds_for(c.logits, c.classes, target, options, truth);
        for (std::size_t k = 0; k < ref.probs.size(); ++k) {
            ASSERT_LE(oracle::ulp_error(ref.probs[k], truth.probs[k]), b.probs[k])
                << describe(c, id) << " probs[" << k << "]";
            ASSERT_LE(oracle::magnitude_error(ref.grad[k], truth.grad[k], b.grad_magnitude[k]),
                      b.grad[k])
                << describe(c, id) << " grad[" << k << "]";
            if (std::isfinite(b.grad_single[k])) {
                ASSERT_LE(oracle::ulp_error(ref.grad[k], truth.grad[k]), b.grad_single[k])
                    << describe(c, id) << " grad[" << k << "]";
            }
        }
        for (std::size_t k = 0; k < ref.loss.size(); ++k) {
            ASSERT_LE(oracle::magnitude_error(ref.loss[k], truth.loss[k], b.loss_magnitude[k]),
                      b.loss[k])
                << describe(c, id) << " loss[" << k << "]";
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Regimes, LongDoubleReferenceAgainstOracle,
                         testing::Values(oracle::regime::ordinary, oracle::regime::large_709,
                                         oracle::regime::near_ties, oracle::regime::exact_ties,
                                         oracle::regime::dominant, oracle::regime::masked,
                                         oracle::regime::float32_exact),
                         [](const auto& info) {
                             return std::string(oracle::to_string(info.param));
                         });

INSTANTIATE_TEST_SUITE_P(Regimes, ReferenceAgainstOracle,
                         testing::ValuesIn(oracle::all_regimes().begin(),
                                           oracle::all_regimes().end()),
                         [](const auto& info) {
                             return std::string(oracle::to_string(info.param));
                         });

// ---- Planted bugs: each must be flagged by check_against_bounds. ----

struct planted_case {
    std::vector<double> logits;
    std::vector<std::int64_t> targets;
    std::size_t classes;
    cross_entropy_options options;
};

std::vector<oracle::bound_violation> check(const planted_case& p,
                                           const cross_entropy_result<double>& values) {
    const auto target = target_view::indices(p.targets);
    const auto truth = oracle::evaluate(p.logits, p.classes, target, p.options);
    const auto bounds = oracle::bounds_for(p.logits, p.classes, target, p.options, truth);
    return oracle::check_against_bounds(values.probs, values.loss, values.grad, truth, bounds);
}

planted_case ordinary_case() {
    planted_case p{{0.3, -1.2, 2.5, 0.7, -0.4, 1.1, 0.0, -2.0}, {2, 0}, 4, {}};
    p.options.reduction = reduction::mean;
    return p;
}

TEST(PlantedBugs, TheUnmodifiedReferencePasses) {
    const auto p = ordinary_case();
    const auto ref =
        cross_entropy<double>(p.logits, p.classes, target_view::indices(p.targets), p.options);
    EXPECT_TRUE(check(p, ref).empty());
}

TEST(PlantedBugs, PerturbedValuesAreFlagged) {
    const auto p = ordinary_case();
    const auto clean =
        cross_entropy<double>(p.logits, p.classes, target_view::indices(p.targets), p.options);
    // 64 ulps is well beyond every bound of this case (8 + ln 4 for probs, 12 + ln 4 for grad).
    auto shift = [](double x, int ulps) {
        for (int k = 0; k < ulps; ++k)
            x = std::nextafter(x, 2 * std::abs(x) + 1);
        return x;
    };
    auto probs = clean;
    probs.probs[5] = shift(probs.probs[5], 64);
    auto v = check(p, probs);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].which, oracle::output::probs);
    EXPECT_EQ(v[0].index, 5u);

    auto loss = clean;
    loss.loss[0] = shift(loss.loss[0], 64);
    v = check(p, loss);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].which, oracle::output::loss);

    auto grad = clean;
    grad.grad[2] = shift(grad.grad[2], 64);
    EXPECT_FALSE(check(p, grad).empty());
}

// The classic cancellation: g_t = p_t - 1 computed from a rounded p_t. At a gap of 40 the true
// g_t is -e^-40 = -4.2e-18 and p_t rounds to 1, so g_t = 0: tiny against the magnitude ~2, but
// the single-term ulp bound catches it.
TEST(PlantedBugs, CancellingTargetGradientIsFlagged) {
    planted_case p{{40.0, 0.0, -1.0}, {0}, 3, {}};
    p.options.reduction = reduction::sum;
    auto values =
        cross_entropy<double>(p.logits, p.classes, target_view::indices(p.targets), p.options);
    ASSERT_TRUE(check(p, values).empty());
    values.grad[0] = values.probs[0] - 1.0;
    const auto v = check(p, values);
    ASSERT_FALSE(v.empty());
    EXPECT_EQ(v[0].which, oracle::output::grad);
    EXPECT_EQ(v[0].measure, "ulp (single-term grad)");
}

// A softmax without the max shift overflows at 710: exp(710) = inf, inf / inf = NaN.
TEST(PlantedBugs, UnshiftedSoftmaxIsFlagged) {
    planted_case p{{710.0, 709.0, 0.0}, {1}, 3, {}};
    auto values =
        cross_entropy<double>(p.logits, p.classes, target_view::indices(p.targets), p.options);
    double sum = 0;
    for (const double z : p.logits)
        sum += std::exp(z);
    for (std::size_t j = 0; j < 3; ++j)
        values.probs[j] = std::exp(p.logits[j]) / sum;
    const auto v = check(p, values);
    ASSERT_FALSE(v.empty());
    EXPECT_EQ(v[0].which, oracle::output::probs);
    EXPECT_TRUE(std::isinf(v[0].error));
}

// A weighted mean divided by N instead of the sum of the target weights.
TEST(PlantedBugs, WrongMeanDivisorIsFlagged) {
    auto p = ordinary_case();
    const std::vector<double> w{1.0, 2.0, 0.5, 3.0};
    p.options.weight = w;
    auto values =
        cross_entropy<double>(p.logits, p.classes, target_view::indices(p.targets), p.options);
    ASSERT_TRUE(check(p, values).empty());
    values.loss[0] *= (w[2] + w[0]) / 2;  // now sum / N
    EXPECT_FALSE(check(p, values).empty());
}

}  // namespace
