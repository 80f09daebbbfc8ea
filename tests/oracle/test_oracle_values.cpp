/// The MPFR oracle against hand-derived values, closed forms and PyTorch's non-finite semantics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "xentcheck/oracle/error.h"
#include "xentcheck/oracle/oracle.h"
#include "xentcheck/oracle/sampler.h"

namespace {

using namespace xentcheck;
using oracle::evaluate;

constexpr double inf = std::numeric_limits<double>::infinity();

cross_entropy_options with(reduction r, double eps = 0, std::span<const double> w = {}) {
    cross_entropy_options o;
    o.reduction = r;
    o.label_smoothing = eps;
    o.weight = w;
    return o;
}

/// |value - expected| in ulps of expected (the expected value being a closed form evaluated in
/// double, itself within about an ulp of the truth).
double ulps_from(double value, double expected) {
    return std::abs(value - expected) / oracle::ulp(expected);
}

// The worked example of fixtures/worked_example.json: probabilities .3 .6 .1, target 0. The
// logits ln .3, ln .6, ln .1 are rounded to double, so the true values sit within ~2 ulps of
// the decimal ones.
TEST(OracleValues, WorkedExample) {
    const std::vector<double> z{std::log(0.3), std::log(0.6), std::log(0.1)};
    const std::vector<std::int64_t> t{0};
    const auto r = evaluate(z, 3, target_view::indices(t), with(reduction::mean));
    ASSERT_EQ(r.loss.size(), 1u);
    EXPECT_LE(ulps_from(r.loss[0].nearest, -std::log(0.3)), 2);
    const double probs[] = {0.3, 0.6, 0.1}, grad[] = {-0.7, 0.6, 0.1};
    for (int j = 0; j < 3; ++j) {
        EXPECT_LE(ulps_from(r.probs[j].nearest, probs[j]), 3) << j;
        EXPECT_LE(ulps_from(r.grad[j].nearest, grad[j]), 3) << j;
        EXPECT_TRUE(r.grad[j].proven);
    }
    EXPECT_EQ(r.unproven, 0u);
}

// C equal logits: p = 1/C and grad = 1/C - 1 exactly (IEEE division is correctly rounded, so
// 1.0 / 3 is the double nearest 1/3); loss = ln C.
TEST(OracleValues, ExactTiesAreCorrectlyRounded) {
    const std::vector<double> z(3, 7.25);
    const std::vector<std::int64_t> t{1};
    oracle::oracle_options all_formats;
    all_formats.long_double = true;
    all_formats.single = true;
    const auto r = evaluate(z, 3, target_view::indices(t), with(reduction::sum), all_formats);
    for (int j = 0; j < 3; ++j) {
        EXPECT_EQ(r.probs[j].nearest, 1.0 / 3);
        EXPECT_EQ(r.probs[j].nearest_ld, 1.0L / 3);
        EXPECT_EQ(r.probs[j].nearest_f, 1.0f / 3);
    }
    EXPECT_EQ(r.grad[0].nearest, 1.0 / 3);
    EXPECT_EQ(r.grad[1].nearest, -2.0 / 3);
    EXPECT_EQ(r.grad[1].nearest_ld, -2.0L / 3);
    EXPECT_EQ(r.grad[1].nearest_f, -2.0f / 3);
    EXPECT_LE(ulps_from(r.loss[0].nearest, std::log(3.0)), 1);
    // The residual is the rounding error of 1/3: 1/3 - fl(1/3) = 1/3 * 2^-54 for this binade.
    EXPECT_DOUBLE_EQ(r.probs[0].residual, std::ldexp(1.0 / 3, -54));
}

// Power-of-two ties are exact: every output is a dyadic rational.
TEST(OracleValues, PowerOfTwoTiesAreExact) {
    const std::vector<double> z(8, -3.0);
    const std::vector<std::int64_t> t{5};
    const auto r = evaluate(z, 8, target_view::indices(t), with(reduction::mean));
    EXPECT_EQ(r.probs[0].nearest, 0.125);
    EXPECT_EQ(r.probs[0].residual, 0.0);
    EXPECT_EQ(r.grad[5].nearest, -0.875);
    EXPECT_EQ(r.grad[0].nearest, 0.125);
}

// Uniform smoothing on ties: loss = (1 - eps) ln C + eps/C * C ln C = ln C, and with eps = 1
// the target equals the softmax, so the gradient is exactly 0.
TEST(OracleValues, FullSmoothingOnTiesHasZeroGradient) {
    const std::vector<double> z(4, 1.5);
    const std::vector<std::int64_t> t{2};
    const auto r = evaluate(z, 4, target_view::indices(t), with(reduction::mean, 1.0));
    EXPECT_LE(ulps_from(r.loss[0].nearest, std::log(4.0)), 1);
    for (const auto& g : r.grad)
        EXPECT_EQ(g.nearest, 0.0);
}

// Two classes [x, 0], target 0: p0 = 1/(1 + e^-x), loss = log1p(e^-x), grad0 = -e^-x p0. The
// closed forms in double are within ~2 ulps; at x = 700 the gradient needs ~1000 bits of
// cancellation-free precision in the textbook A p - a, which the escalation must supply.
TEST(OracleValues, SigmoidClosedFormsUpToTheUnderflow) {
    for (const double x : {0.5, 3.0, 40.0, 300.0, 700.0}) {
        const std::vector<double> z{x, 0.0};
        const std::vector<std::int64_t> t{0};
        const auto r = evaluate(z, 2, target_view::indices(t), with(reduction::sum));
        const double q = std::exp(-x);
        EXPECT_LE(ulps_from(r.loss[0].nearest, std::log1p(q)), 2) << x;
        EXPECT_LE(ulps_from(r.grad[0].nearest, -q / (1 + q)), 2) << x;
        EXPECT_LE(ulps_from(r.grad[1].nearest, q / (1 + q)), 2) << x;
        EXPECT_LE(ulps_from(r.probs[1].nearest, q / (1 + q)), 2) << x;
        EXPECT_EQ(r.unproven, 0u) << x;
        if (x >= 300) {  // 1 - p0 = e^-300 = 2^-433 is below 256-bit resolution of p0
            EXPECT_GT(r.max_precision_used, 256) << x;
        }
    }
    // e^-800 is below the smallest subnormal: everything tiny rounds to 0.
    const std::vector<double> z{800.0, 0.0};
    const std::vector<std::int64_t> t{0};
    const auto r = evaluate(z, 2, target_view::indices(t), with(reduction::sum));
    EXPECT_EQ(r.grad[0].nearest, 0.0);
    EXPECT_EQ(r.loss[0].nearest, 0.0);
    EXPECT_EQ(r.unproven, 0u);
}

// A weighted mean is sum_i w_ti L_i / sum_i w_ti; a probability target's mean divides by N.
TEST(OracleValues, ReductionsCombineRowLosses) {
    const std::vector<double> z{1.0, -2.0, 0.5, 3.0, 0.0, -1.0};
    const std::vector<std::int64_t> t{2, 0};
    const std::vector<double> w{2.0, 0.5, 4.0};
    const auto rows = evaluate(z, 3, target_view::indices(t), with(reduction::none, 0, w));
    const auto mean = evaluate(z, 3, target_view::indices(t), with(reduction::mean, 0, w));
    const auto sum = evaluate(z, 3, target_view::indices(t), with(reduction::sum, 0, w));
    const long double l0 = static_cast<long double>(rows.loss[0].nearest) + rows.loss[0].residual;
    const long double l1 = static_cast<long double>(rows.loss[1].nearest) + rows.loss[1].residual;
    EXPECT_LE(ulps_from(sum.loss[0].nearest, static_cast<double>(l0 + l1)), 0.5001);
    EXPECT_LE(ulps_from(mean.loss[0].nearest, static_cast<double>((l0 + l1) / 6.0L)), 0.5001);
    for (std::size_t k = 0; k < z.size(); ++k) {
        EXPECT_EQ(rows.grad[k].nearest, sum.grad[k].nearest) << k;
        EXPECT_LE(ulps_from(mean.grad[k].nearest, sum.grad[k].nearest / 6), 1) << k;
    }
}

// Non-finite inputs, as PyTorch 1.13 evaluates them (checked there): a -inf logit under the
// target gives +inf loss with a finite gradient; zero target mass on a -inf logit gives NaN
// loss (0 * -inf) and the gradient A p - a; eps = 1 with the target at -inf is 0 * inf = NaN.
TEST(OracleValues, MaskedLogits) {
    const std::vector<double> z{-inf, 0.0};
    const std::vector<std::int64_t> t{0};
    auto r = evaluate(z, 2, target_view::indices(t), with(reduction::sum));
    EXPECT_EQ(r.loss[0].nearest, inf);
    EXPECT_EQ(r.probs[0].nearest, 0.0);
    EXPECT_EQ(r.probs[1].nearest, 1.0);
    EXPECT_EQ(r.grad[0].nearest, -1.0);
    EXPECT_EQ(r.grad[1].nearest, 1.0);

    const std::vector<double> y{0.0, 1.0};
    r = evaluate(z, 2, target_view::probabilities(y), with(reduction::sum));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
    EXPECT_EQ(r.grad[0].nearest, 0.0);
    EXPECT_EQ(r.grad[1].nearest, 0.0);

    r = evaluate(z, 2, target_view::indices(t), with(reduction::sum, 1.0));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));

    // Smoothing puts eps/C * w_j on every class: a zero weight on the -inf class is 0 * inf.
    const std::vector<double> w{0.0, 1.0};
    const std::vector<std::int64_t> t1{1};
    r = evaluate(z, 2, target_view::indices(t1), with(reduction::sum, 0.1, w));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
}

// Undefined rows (NaN, +inf, all -inf) are NaN throughout; an ignored one has loss 0 but, as
// PyTorch's log_softmax backward computes 0 - exp(NaN) * 0, a NaN gradient.
TEST(OracleValues, UndefinedRows) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const auto& row : {std::vector<double>{nan, 1.0}, std::vector<double>{inf, 1.0},
                            std::vector<double>{-inf, -inf}}) {
        const std::vector<std::int64_t> kept{0}, ignored{-100};
        auto r = evaluate(row, 2, target_view::indices(kept), with(reduction::none));
        EXPECT_TRUE(std::isnan(r.loss[0].nearest));
        EXPECT_TRUE(std::isnan(r.probs[0].nearest) && std::isnan(r.grad[1].nearest));
        r = evaluate(row, 2, target_view::indices(ignored), with(reduction::sum));
        EXPECT_EQ(r.loss[0].nearest, 0.0);
        EXPECT_TRUE(std::isnan(r.grad[0].nearest) && std::isnan(r.grad[1].nearest));
    }
}

// A mean over nothing (every row ignored, or every kept target weighted 0) is PyTorch's 0/0.
TEST(OracleValues, ZeroMeanDivisorIsNaN) {
    const std::vector<double> z{1.0, 2.0, 3.0, 4.0};
    const std::vector<std::int64_t> none_kept{-100, -100};
    auto r = evaluate(z, 2, target_view::indices(none_kept), with(reduction::mean));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
    EXPECT_EQ(r.grad[0].nearest, 0.0);  // ignored, defined rows
    const std::vector<std::int64_t> t{0, 0};
    const std::vector<double> w{0.0, 1.0};
    r = evaluate(z, 2, target_view::indices(t), with(reduction::mean, 0.2, w));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
    EXPECT_TRUE(std::isnan(r.grad[1].nearest));
}

// Non-finite weights or targets must not send the escalation looking for a rounding forever.
TEST(OracleValues, NonFiniteWeightsAndTargetsGiveNaN) {
    const std::vector<double> z{1.0, 2.0, 0.5};
    const std::vector<std::int64_t> t{0};
    const std::vector<double> w{inf, 1.0, 1.0};
    auto r = evaluate(z, 3, target_view::indices(t), with(reduction::mean, 0.1, w));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
    EXPECT_TRUE(std::isnan(r.grad[1].nearest));
    EXPECT_LE(ulps_from(r.probs[0].nearest, std::exp(-1.0) / (std::exp(-1.0) + 1 + std::exp(-1.5))),
              3);
    const std::vector<double> y{0.5, std::numeric_limits<double>::quiet_NaN(), 0.5};
    r = evaluate(z, 3, target_view::probabilities(y), with(reduction::sum));
    EXPECT_TRUE(std::isnan(r.loss[0].nearest));
    EXPECT_EQ(r.unproven, 0u);
}

TEST(OracleValues, ValidatesLikeTheReference) {
    const std::vector<double> z{1.0, 2.0};
    const std::vector<std::int64_t> bad{2};
    try {
        evaluate(z, 2, target_view::indices(bad), with(reduction::mean));
        FAIL() << "no input_error";
    } catch (const input_error& e) {
        EXPECT_EQ(e.field(), "target");
    }
    EXPECT_THROW(evaluate(z, 3, target_view::indices(bad), with(reduction::mean)), input_error);
}

// The working precision is a starting point only: the rounded results do not depend on it.
TEST(OracleValues, ResultsDoNotDependOnTheStartingPrecision) {
    const std::vector<double> z{12.5, -3.25, 0.0, 1e-3, 1e4, 1e4 - 0.5};
    const std::vector<std::int64_t> t{0, 2};
    oracle::oracle_options low, high;
    low.precision = 64;
    high.precision = 1024;
    const auto a = evaluate(z, 3, target_view::indices(t), with(reduction::mean, 0.1), low);
    const auto b = evaluate(z, 3, target_view::indices(t), with(reduction::mean, 0.1), high);
    for (std::size_t k = 0; k < z.size(); ++k) {
        EXPECT_EQ(a.probs[k].nearest, b.probs[k].nearest) << k;
        EXPECT_EQ(a.grad[k].nearest, b.grad[k].nearest) << k;
    }
    EXPECT_EQ(a.loss[0].nearest, b.loss[0].nearest);
}

// The error measures: ulp spacing, residual-exact differences and non-finite agreement.
TEST(OracleErrorMeasures, UlpsAndResiduals) {
    EXPECT_EQ(oracle::ulp(1.0), std::ldexp(1.0, -52));
    EXPECT_EQ(oracle::ulp(1.5), std::ldexp(1.0, -52));
    EXPECT_EQ(oracle::ulp(0.0), std::ldexp(1.0, -1074));
    EXPECT_EQ(oracle::ulp(-3e-320), std::ldexp(1.0, -1074));
    oracle::value v;
    v.nearest = 1.0;
    v.residual = std::ldexp(1.0, -54);  // true value 1 + u/2
    EXPECT_DOUBLE_EQ(oracle::ulp_error(1.0, v), 0.25);
    EXPECT_DOUBLE_EQ(oracle::ulp_error(std::nextafter(1.0, 2.0), v), 0.75);
    EXPECT_DOUBLE_EQ(oracle::magnitude_error(std::nextafter(1.0, 2.0), v, 4.0), 0.75 / 4);
    v.nearest = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(oracle::ulp_error(std::nan(""), v), 0.0);
    EXPECT_EQ(oracle::ulp_error(1.0, v), inf);
    v.nearest = inf;
    EXPECT_EQ(oracle::ulp_error(inf, v), 0.0);
    EXPECT_EQ(oracle::ulp_error(-inf, v), inf);
}

// The detector of the reference's known semantic differences: each kind, and a clean case.
TEST(OracleKnownDifferences, DetectsEachKindAndNothingElse) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<double> z{nan, 1.0, 2.0, 3.0};
    const std::vector<std::int64_t> ignored{-100, 0}, kept{1, 0};
    EXPECT_EQ(oracle::known_reference_differences(z, 2, target_view::indices(ignored),
                                                  with(reduction::sum))
                  .size(),
              1u);
    EXPECT_TRUE(
        oracle::known_reference_differences(z, 2, target_view::indices(kept), with(reduction::sum))
            .empty());
    const std::vector<double> finite{0.0, 1.0, 2.0, 3.0}, w{0.0, 1.0};
    const std::vector<std::int64_t> zero_weight{0, 0};
    EXPECT_EQ(oracle::known_reference_differences(finite, 2, target_view::indices(zero_weight),
                                                  with(reduction::mean, 0, w))
                  .size(),
              1u);
    EXPECT_TRUE(oracle::known_reference_differences(finite, 2, target_view::indices(kept),
                                                    with(reduction::mean, 0, w))
                    .empty());
}

// Any case of a run can be redrawn alone: the sampler depends on (seed, id, regime) only.
TEST(OracleSampler, DeterministicAndCoversItsRegime) {
    for (const auto r : oracle::all_regimes()) {
        const auto a = oracle::draw_case(3, 17, r);
        const auto b = oracle::draw_case(3, 17, r);
        EXPECT_EQ(a.logits.size(), a.rows * a.classes);
        EXPECT_EQ(a.classes, b.classes);
        EXPECT_EQ(a.rows, b.rows);
        for (std::size_t k = 0; k < a.logits.size(); ++k) {
            EXPECT_TRUE(a.logits[k] == b.logits[k] ||
                        (std::isnan(a.logits[k]) && std::isnan(b.logits[k])));
        }
        EXPECT_EQ(oracle::parse_regime(oracle::to_string(r)), r);
    }
    EXPECT_FALSE(oracle::parse_regime("nonsense").has_value());
    // The dominant regime puts one logit at least 10 above the rest of its row.
    const auto d = oracle::draw_case(3, 5, oracle::regime::dominant);
    for (std::size_t i = 0; i < d.rows; ++i) {
        std::vector<double> row(d.logits.begin() + i * d.classes,
                                d.logits.begin() + (i + 1) * d.classes);
        std::sort(row.begin(), row.end());
        if (row.size() > 1) {
            EXPECT_GE(row.back() - row[row.size() - 2], 10.0);
        }
    }
}

}  // namespace
