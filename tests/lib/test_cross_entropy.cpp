/// Unit tests of xentcheck/cross_entropy.h: PyTorch semantics of targets, options and reductions.
#include "xentcheck/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"
#include "xentcheck/kernels.h"
#include "xentcheck/softmax.h"
#include "xentcheck/tolerance.h"

namespace xentcheck {
namespace {

using test::eps_distance;
using test::ld;
using test::oracle_problem;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
const ld ln2 = std::log(2.0L);
const ld ln3 = std::log(3.0L);

/// The library's double results for an oracle problem.
cross_entropy_result<double> run(const oracle_problem& q) {
    const auto logits = test::convert<double>(q.logits);
    const auto weight = test::convert<double>(q.weight);
    const auto probs = test::convert<double>(q.target_probs);
    cross_entropy_options o;
    o.weight = weight;
    o.ignore_index = q.ignore_index;
    o.label_smoothing = static_cast<double>(q.label_smoothing);
    o.reduction = q.red;
    const target_view t =
        q.index.empty() ? target_view::probabilities(probs) : target_view::indices(q.index);
    return cross_entropy<double>(logits, q.classes, t, o);
}

/// Hand-derived values are held to 8 epsilons relative: the library rounds each of exp, log,
/// the class sum, the weight products and the mean division at most a few times.
void expect_values(const std::vector<double>& actual, const std::vector<ld>& expected,
                   const char* what) {
    ASSERT_EQ(actual.size(), expected.size()) << what;
    for (std::size_t k = 0; k < actual.size(); ++k)
        EXPECT_LE(eps_distance<double>(actual[k], expected[k]), 8) << what << "[" << k << "]";
}

oracle_problem weighted_zero_logits(reduction red) {
    oracle_problem q;
    q.logits.assign(6, 0);  // p = 1/3 everywhere
    q.classes = 3;
    q.index = {0, 2};
    q.weight = {1, 2, 0.5L};
    q.red = red;
    return q;
}

TEST(CrossEntropy, UniformLogitsAreExact) {
    const std::vector<double> z(4, 0.0);
    const std::vector<std::int64_t> t{2};
    const auto r = cross_entropy<double>(z, 4, target_view::indices(t));
    EXPECT_EQ(r.grad, (std::vector<double>{0.25, 0.25, -0.75, 0.25}));  // dyadic, exact
    EXPECT_EQ(r.probs, (std::vector<double>(4, 0.25)));
    EXPECT_LE(eps_distance<double>(r.loss[0], 2 * ln2), 1);
}

TEST(CrossEntropy, WeightedMeanDividesBySumOfTargetWeights) {
    // L_0 = 1 * ln 3, L_1 = 0.5 * ln 3, divisor w[0] + w[2] = 1.5: mean = ln 3.
    // grad_i = w[t_i] (p - e_t) / 1.5 with p = 1/3.
    const auto r = run(weighted_zero_logits(reduction::mean));
    expect_values(r.loss, {ln3}, "loss");
    expect_values(r.grad, {-4 / 9.0L, 2 / 9.0L, 2 / 9.0L, 1 / 9.0L, 1 / 9.0L, -2 / 9.0L}, "grad");
}

TEST(CrossEntropy, SumAndNoneReductions) {
    const std::vector<ld> grad{-2 / 3.0L, 1 / 3.0L, 1 / 3.0L, 1 / 6.0L, 1 / 6.0L, -1 / 3.0L};
    const auto s = run(weighted_zero_logits(reduction::sum));
    expect_values(s.loss, {1.5L * ln3}, "sum loss");
    expect_values(s.grad, grad, "sum grad");
    // none: one loss per row, and the gradient of sum_i L_i (identical to the sum gradient).
    const auto n = run(weighted_zero_logits(reduction::none));
    expect_values(n.loss, {ln3, 0.5L * ln3}, "none loss");
    EXPECT_EQ(n.grad, s.grad);
}

TEST(CrossEntropy, DefaultIgnoreIndexDropsRowsFromLossGradientAndDivisor) {
    auto q = weighted_zero_logits(reduction::mean);
    q.index = {0, -100};
    const auto r = run(q);
    expect_values(r.loss, {ln3}, "loss");  // divisor is w[0] = 1 alone
    expect_values(r.grad, {-2 / 3.0L, 1 / 3.0L, 1 / 3.0L, 0, 0, 0}, "grad");
    EXPECT_EQ(r.grad[3], 0.0);
}

TEST(CrossEntropy, CustomIgnoreIndex) {
    auto q = weighted_zero_logits(reduction::sum);
    q.ignore_index = 2;  // a valid class index: rows targeting class 2 are skipped
    const auto r = run(q);
    expect_values(r.loss, {ln3}, "loss");
    expect_values(r.grad, {-2 / 3.0L, 1 / 3.0L, 1 / 3.0L, 0, 0, 0}, "grad");
    q.index = {0, -100};  // -100 is no longer special, so it is out of range
    try {
        run(q);
        ADD_FAILURE() << "no error for target -100 with ignore_index 2";
    } catch (const input_error& e) {
        EXPECT_EQ(e.field(), "target");
    }
}

TEST(CrossEntropy, AllRowsIgnoredUnderMeanGiveNaNLossAndZeroGradient) {
    auto q = weighted_zero_logits(reduction::mean);
    q.index = {-100, -100};
    const auto m = run(q);
    EXPECT_TRUE(std::isnan(m.loss[0]));  // 0 / 0, as PyTorch
    EXPECT_EQ(m.grad, std::vector<double>(6, 0.0));
    q.red = reduction::sum;
    EXPECT_EQ(run(q).loss, std::vector<double>{0.0});
    q.red = reduction::none;
    EXPECT_EQ(run(q).loss, (std::vector<double>{0.0, 0.0}));
}

TEST(CrossEntropy, LabelSmoothingWeightsTheSmoothingTermByEveryClassWeight) {
    // Zero logits (p = 1/3), w = (1, 2, 0.5), eps = 0.3, target 0:
    // L = (1 - eps) w_0 ln 3 + eps / 3 (w_0 + w_1 + w_2) ln 3 = (0.7 + 0.35) ln 3.
    // a = (0.7 + 0.1, 0.2, 0.05), A = 1.05, grad = A / 3 - a = (-0.45, 0.15, 0.30).
    oracle_problem q;
    q.logits.assign(3, 0);
    q.classes = 3;
    q.index = {0};
    q.weight = {1, 2, 0.5L};
    q.label_smoothing = 0.3L;
    const auto r = run(q);
    expect_values(r.loss, {1.05L * ln3}, "loss");
    expect_values(r.grad, {-0.45L, 0.15L, 0.30L}, "grad");
}

TEST(CrossEntropy, ProbabilityTargetsDivideTheMeanByRowCount) {
    // Zero logits (p = 1/2), w = (2, 1). Row 0: y = (1/4, 3/4), a = (1/2, 3/4), A = 5/4;
    // row 1: y = (1, 0), a = (2, 0), A = 2. L = (5/4 + 2) ln 2 / N (N = 2, not sum of weights).
    // grad_i = (A_i / 2 - a_i) / 2: exact dyadic values.
    oracle_problem q;
    q.logits.assign(4, 0);
    q.classes = 2;
    q.target_probs = {0.25L, 0.75L, 1, 0};
    q.weight = {2, 1};
    const auto r = run(q);
    expect_values(r.loss, {1.625L * ln2}, "loss");
    EXPECT_EQ(r.grad, (std::vector<double>{0.0625, -0.0625, -0.5, 0.5}));
    q.ignore_index = 0;  // PyTorch ignores ignore_index for probability targets
    EXPECT_EQ(run(q).grad, r.grad);
}

TEST(CrossEntropy, LabelSmoothingOfProbabilityTargets) {
    // y = (1, 0), eps = 0.5: y' = (0.75, 0.25); zero logits: L = ln 2, grad = (-0.25, 0.25).
    oracle_problem q;
    q.logits.assign(2, 0);
    q.classes = 2;
    q.target_probs = {1, 0};
    q.label_smoothing = 0.5L;
    const auto r = run(q);
    expect_values(r.loss, {ln2}, "loss");
    EXPECT_EQ(r.grad, (std::vector<double>{-0.25, 0.25}));
}

/// A random problem with every option drawn.
oracle_problem random_problem(std::mt19937_64& rng, bool index_targets) {
    std::uniform_real_distribution<double> logit(-6, 6), unit(0, 1);
    oracle_problem q;
    q.classes = 1 + rng() % 9;
    const std::size_t n = 1 + rng() % 5;
    for (std::size_t k = 0; k < n * q.classes; ++k)
        q.logits.push_back(logit(rng));
    if (index_targets) {
        for (std::size_t i = 0; i < n; ++i)
            q.index.push_back(rng() % 4 == 0 ? -100 : static_cast<std::int64_t>(rng() % q.classes));
        q.index[0] = 0;  // at least one kept row, so the mean is defined
    } else {
        for (std::size_t k = 0; k < n * q.classes; ++k)
            q.target_probs.push_back(unit(rng));
    }
    if (rng() % 2) {
        for (std::size_t j = 0; j < q.classes; ++j)
            q.weight.push_back(0.25 + 2 * unit(rng));
    }
    q.label_smoothing = rng() % 2 ? unit(rng) : 0;
    q.red = static_cast<reduction>(rng() % 3);
    return q;
}

TEST(CrossEntropy, MatchesTheOracleAndTheGradientIdentity) {
    std::mt19937_64 rng(20240601);
    for (int trial = 0; trial < 200; ++trial) {
        const oracle_problem q = random_problem(rng, trial % 2 == 0);
        const auto r = run(q);
        const auto want = test::oracle(q);
        // Tolerances from the model at double precision (the library is one correct double
        // implementation, so it must meet what the model accepts from any).
        const auto logits = test::convert<double>(q.logits);
        const auto weight = test::convert<double>(q.weight);
        const auto probs = test::convert<double>(q.target_probs);
        cross_entropy_options o{weight, q.ignore_index, static_cast<double>(q.label_smoothing),
                                q.red};
        const target_view t =
            q.index.empty() ? target_view::probabilities(probs) : target_view::indices(q.index);
        const tolerance_model model(measure_problem(0x1p-53, logits, q.classes, t, o));
        const auto magnitude = grad_magnitudes(r.probs, q.classes, t, o);
        ASSERT_EQ(r.loss.size(), want.loss.size());
        for (std::size_t k = 0; k < r.loss.size(); ++k) {
            EXPECT_TRUE(model.loss().accepts(static_cast<double>(want.loss[k]), r.loss[k]))
                << "trial " << trial << " loss " << k << ": " << r.loss[k] << " vs "
                << static_cast<double>(want.loss[k]);
        }
        for (std::size_t k = 0; k < r.grad.size(); ++k) {
            EXPECT_TRUE(
                model.grad().accepts(static_cast<double>(want.grad[k]), r.grad[k], magnitude[k]))
                << "trial " << trial << " grad " << k;
        }
    }
}

TEST(CrossEntropy, MeanIsSumOverDivisorAndLossOnlyHelperAgrees) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 50; ++trial) {
        oracle_problem q = random_problem(rng, true);
        q.red = reduction::sum;
        const auto s = run(q);
        q.red = reduction::mean;
        const auto m = run(q);
        ld divisor = 0;
        for (const auto t : q.index) {
            if (t != q.ignore_index)
                divisor += q.weight.empty() ? 1 : q.weight[static_cast<std::size_t>(t)];
        }
        EXPECT_LE(eps_distance<double>(m.loss[0], s.loss[0] / divisor), 4) << trial;
        for (std::size_t k = 0; k < s.grad.size(); ++k) {
            if (s.grad[k] != 0) {
                EXPECT_LE(eps_distance<double>(m.grad[k], s.grad[k] / divisor), 4) << trial;
            }
        }
        // cross_entropy_loss sums reduction none and returns the loss alone.
        q.red = reduction::none;
        const auto logits = test::convert<double>(q.logits);
        const auto weight = test::convert<double>(q.weight);
        const cross_entropy_options o{weight, q.ignore_index,
                                      static_cast<double>(q.label_smoothing), reduction::none};
        EXPECT_EQ(cross_entropy_loss<double>(logits, q.classes, target_view::indices(q.index), o),
                  s.loss[0]);
    }
}

TEST(CrossEntropy, NonFiniteLogitsFollowPyTorch) {
    // Rows: NaN, NaN but ignored, -inf at the target, all -inf, +inf.
    const std::vector<double> z{nan, 0, 0, nan, -inf, 0, -inf, -inf, inf, 0};
    const std::vector<std::int64_t> t{0, -100, 0, 1, 1};
    cross_entropy_options o;
    o.reduction = reduction::none;
    const auto r = cross_entropy<double>(z, 2, target_view::indices(t), o);
    EXPECT_TRUE(std::isnan(r.loss[0]));
    EXPECT_TRUE(std::isnan(r.grad[0]) && std::isnan(r.grad[1]));
    // An ignored row contributes 0 to the loss even with NaN logits. (Its gradient is left
    // unasserted: PyTorch 1.13 gives NaN there, the reference 0, a known discrepancy listed in
    // tests/golden/test_golden.cpp.)
    EXPECT_EQ(r.loss[1], 0.0);
    EXPECT_EQ(r.loss[2], inf);   // p_t = 0
    EXPECT_EQ(r.grad[4], -1.0);  // A p - a stays finite: p = (0, 1)
    EXPECT_EQ(r.grad[5], 1.0);
    EXPECT_TRUE(std::isnan(r.loss[3]));
    EXPECT_TRUE(std::isnan(r.loss[4]));
    EXPECT_TRUE(std::isnan(r.grad[8]) && std::isnan(r.grad[9]));
}

/// Whether any value is -0 (a probability or a non-target gradient entry may be 0, never -0).
template <class T>
bool has_negative_zero(const std::vector<T>& values) {
    for (const T v : values) {
        if (v == 0 && std::signbit(v)) return true;
    }
    return false;
}

TEST(CrossEntropy, ClassesWhoseProbabilityUnderflowsGetPositiveZeros) {
    // Logits near 1e300 apart: z - m is rounded, its TwoSum error is around 1e284, and exp(d)
    // is 0. Taking that error into account as 0 (1 + err) once made -0 probabilities (and -0
    // gradient entries) on every path, where PyTorch gives 0.
    const std::vector<double> z{-4.18e299, -3.63e299, 6.07e299, -6.9e298, -9.81e299, 1.28e299,
                                -8.3e298,  -4.81e299, 1.78e299, 0.0,      -1e300,    2.88e299};
    const std::size_t classes = 12;
    const std::vector<std::int64_t> t{2};
    for (const bool scalar : {false, true}) {
        force_scalar_kernels(scalar);
        const auto d = cross_entropy<double>(z, classes, target_view::indices(t), {});
        EXPECT_FALSE(has_negative_zero(d.probs)) << "double, scalar " << scalar;
        EXPECT_FALSE(has_negative_zero(d.grad)) << "double, scalar " << scalar;
        EXPECT_FALSE(has_negative_zero(softmax<double>(z, classes))) << "scalar " << scalar;
        const std::vector<float> zf{-4.18e37f, -3.63e37f, 6.07e37f, -6.9e36f, -9.81e37f, 1.28e37f,
                                    -8.3e36f,  -4.81e37f, 1.78e37f, 0.0f,     -1e38f,    2.88e37f};
        const auto f = cross_entropy<float>(zf, classes, target_view::indices(t), {});
        EXPECT_FALSE(has_negative_zero(f.probs)) << "float, scalar " << scalar;
        const auto w = cross_entropy_widened(z, classes, target_view::indices(t), {});
        EXPECT_FALSE(has_negative_zero(w.probs)) << "widened, scalar " << scalar;
        const auto r = cross_entropy_rounded(z, classes, target_view::indices(t), {});
        EXPECT_FALSE(has_negative_zero(r.probs)) << "rounded, scalar " << scalar;
        EXPECT_FALSE(has_negative_zero(r.grad)) << "rounded, scalar " << scalar;
        const std::vector<ld> zl(z.begin(), z.end());
        const auto l = cross_entropy<ld>(zl, classes, target_view::indices(t), {});
        EXPECT_FALSE(has_negative_zero(l.probs)) << "long double, scalar " << scalar;
    }
    force_scalar_kernels(false);
}

TEST(CrossEntropy, ZeroTargetMassTimesMinusInfinityIsNaNButTheGradientIsFinite) {
    const std::vector<double> z{0, -inf};
    const std::vector<double> y{1, 0};
    const auto r = cross_entropy<double>(z, 2, target_view::probabilities(y));
    EXPECT_TRUE(std::isnan(r.loss[0]));  // 0 * -inf, as PyTorch's -(y * log_softmax).sum()
    EXPECT_EQ(r.grad, (std::vector<double>{0.0, 0.0}));  // A p - a = (1, 0) - (1, 0)
    // Smoothing puts mass eps / C on the -inf class: the loss is +inf.
    cross_entropy_options o;
    o.label_smoothing = 0.1;
    const std::vector<std::int64_t> t{0};
    EXPECT_EQ(cross_entropy<double>(z, 2, target_view::indices(t), o).loss[0], inf);
}

/// The field an input_error names, or "no error".
template <class F>
std::string field_of(F&& call) {
    try {
        call();
    } catch (const input_error& e) {
        return e.field();
    }
    return "no error";
}

TEST(CrossEntropy, BadInputNamesTheField) {
    const std::vector<double> z(6, 0.0), y6(6, 0.5), y5(5, 0.5);
    const std::vector<std::int64_t> ok{0, 2}, one{0}, high{0, 3}, negative{-1, 0}, ignored{-100, 1};
    std::vector<double> loss(1), loss2(2), grad(6), grad5(5), probs5(5);
    const auto call = [&](std::size_t c, const target_view& t, const cross_entropy_options& o,
                          std::span<double> l, std::span<double> g, std::span<double> p) {
        return [=, &z] { cross_entropy<double>(z, c, t, o, l, g, p); };
    };
    const auto idx = target_view::indices(ok);
    EXPECT_EQ(field_of(call(3, idx, {}, loss, grad, {})), "no error");
    EXPECT_EQ(field_of(call(3, target_view::indices(ignored), {}, loss, grad, {})), "no error");
    EXPECT_EQ(field_of(call(0, idx, {}, loss, grad, {})), "logits");
    EXPECT_EQ(field_of(call(4, idx, {}, loss, grad, {})), "logits");
    EXPECT_EQ(field_of(call(3, target_view::indices(one), {}, loss, grad, {})), "target");
    EXPECT_EQ(field_of(call(3, target_view::indices(high), {}, loss, grad, {})), "target");
    EXPECT_EQ(field_of(call(3, target_view::indices(negative), {}, loss, grad, {})), "target");
    EXPECT_EQ(field_of(call(3, target_view::probabilities(y5), {}, loss, grad, {})), "target");
    EXPECT_EQ(field_of(call(3, target_view::probabilities(y6), {}, loss, grad, {})), "no error");
    const std::vector<double> w2{1, 2};
    EXPECT_EQ(field_of(call(3, idx, {w2}, loss, grad, {})), "weight");
    for (const double eps : {-0.1, 1.5, nan}) {
        cross_entropy_options o;
        o.label_smoothing = eps;
        EXPECT_EQ(field_of(call(3, idx, o, loss, grad, {})), "label_smoothing") << eps;
    }
    cross_entropy_options none;
    none.reduction = reduction::none;
    EXPECT_EQ(field_of(call(3, idx, none, loss, grad, {})), "loss");
    EXPECT_EQ(field_of(call(3, idx, none, loss2, grad, {})), "no error");
    EXPECT_EQ(field_of(call(3, idx, {}, loss2, grad, {})), "loss");
    EXPECT_EQ(field_of(call(3, idx, {}, loss, grad5, {})), "grad");
    EXPECT_EQ(field_of(call(3, idx, {}, loss, grad, probs5)), "probs");
    EXPECT_EQ(field_of([] { parse_reduction("avg"); }), "reduction");
    EXPECT_EQ(field_of([&] {
                  effective_target_mass({2, 3}, target_view::indices(high), {});
              }),
              "target");
}

TEST(CrossEntropy, ReductionNamesRoundTrip) {
    for (const auto r : {reduction::none, reduction::mean, reduction::sum})
        EXPECT_EQ(parse_reduction(to_string(r)), r);
    EXPECT_EQ(to_string(reduction::mean), "mean");
}

TEST(CrossEntropy, EffectiveTargetMassByHand) {
    // Index targets (0, ignored, 2), w = (1, 2, 0.5), eps = 0.3, C = 3:
    // A_0 = 0.7 * 1 + 0.1 * 3.5 = 1.05, A_1 = 0, A_2 = 0.7 * 0.5 + 0.35 = 0.7; divisor 1.5.
    const std::vector<double> w{1, 2, 0.5};
    const std::vector<std::int64_t> t{0, -100, 2};
    const cross_entropy_options o{w, -100, 0.3, reduction::mean};
    const auto m = effective_target_mass({3, 3}, target_view::indices(t), o);
    ASSERT_EQ(m.row_mass.size(), 3u);
    EXPECT_LE(eps_distance<double>(m.row_mass[0], 1.05L), 4);
    EXPECT_EQ(m.row_mass[1], 0.0);
    EXPECT_LE(eps_distance<double>(m.row_mass[2], 0.7L), 4);
    EXPECT_EQ(m.mean_divisor, 1.5);
    // Probability targets: A_i = sum_j w_j y'_j, divisor N whatever the weights.
    const std::vector<double> y{1, 0, 0, 0, 0.5, 0.5};
    const auto p = effective_target_mass({2, 3}, target_view::probabilities(y), {w});
    EXPECT_EQ(p.row_mass, (std::vector<double>{1.0, 1.25}));
    EXPECT_EQ(p.mean_divisor, 2.0);
}

TEST(CrossEntropy, MeanDivisorIsEffectiveTargetMassesDivisorAndValidatesAlike) {
    // Non-dyadic weights: the compensated sum of the kept rows' weights, bit for bit.
    const std::vector<double> w{0.1, 0.7, 1.3, 0.2};
    const std::vector<std::int64_t> t{0, 3, -100, 2, 1, 1, 0};
    const cross_entropy_options o{w, -100, 0.05, reduction::mean};
    const auto idx = target_view::indices(t);
    EXPECT_EQ(mean_divisor({7, 4}, idx, o), effective_target_mass({7, 4}, idx, o).mean_divisor);
    // Both come from one routine, so the value is also checked on its own: the kept rows'
    // weights 0.1 + 0.2 + 1.3 + 0.7 + 0.7 + 0.1, summed in long double (exact to well below a
    // double ulp here) and rounded once, as a compensated sum gives it.
    const long double by_hand = static_cast<long double>(0.1) + 0.2 + 1.3 + 0.7 + 0.7 + 0.1;
    EXPECT_EQ(mean_divisor({7, 4}, idx, o), static_cast<double>(by_hand));
    const std::vector<double> y(8, 0.25);
    EXPECT_EQ(mean_divisor({2, 4}, target_view::probabilities(y), o), 2.0);
    const std::vector<std::int64_t> high{0, 4};
    EXPECT_EQ(field_of([&] { mean_divisor({2, 4}, target_view::indices(high), {}); }), "target");
    cross_entropy_options bad = o;
    bad.label_smoothing = 1.5;
    EXPECT_EQ(field_of([&] { mean_divisor({7, 4}, idx, bad); }), "label_smoothing");
}

}  // namespace
}  // namespace xentcheck
