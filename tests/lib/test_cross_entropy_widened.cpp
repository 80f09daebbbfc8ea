/// Unit tests of cross_entropy_widened and cross_entropy_rounded (xentcheck/cross_entropy.h): bit
/// for bit the long double reference of the logits converted (rounded to double, for the
/// second), over targets, options, reductions, non-finite rows, threads and rows split across
/// threads, on the vector path and the scalar one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/kernels.h"

namespace xentcheck {
namespace {

using ld = long double;

/// The first index where two vectors differ in their value bits (for long double the 80 bits of
/// x87's format; a NaN equals a NaN of the same bits), or -1.
template <class V>
long first_difference(const std::vector<V>& a, const std::vector<V>& b) {
    constexpr std::size_t bits = std::is_same_v<V, ld> ? 10 : sizeof(V);
    if (a.size() != b.size()) return 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
        if (std::memcmp(&a[k], &b[k], bits) != 0) return static_cast<long>(k);
    }
    return -1;
}

struct problem {
    std::vector<double> logits;
    std::size_t classes = 1;
    std::vector<std::int64_t> indices;
    std::vector<double> probs;
    std::vector<double> weight;
    cross_entropy_options options;

    target_view target() const {
        return indices.empty() ? target_view::probabilities(probs) : target_view::indices(indices);
    }
};

/// A random problem: logits of several spreads with -inf, NaN and +inf now and then, index or
/// probability targets, weights, label smoothing, ignored rows, each reduction, 1 or 2 threads.
problem random_problem(std::mt19937_64& rng, int k) {
    std::uniform_real_distribution<double> unit(-1, 1);
    problem p;
    const std::size_t rows = 1 + k % 5;
    p.classes = 1 + static_cast<std::size_t>(k * 53) % 150;
    const double spread = k % 4 == 0 ? 2000 : k % 4 == 1 ? 30 : k % 4 == 2 ? 1 : 1e-6;
    p.logits.resize(rows * p.classes);
    for (double& z : p.logits)
        z = spread * unit(rng) + (k % 3) * 100.0;
    if (k % 9 == 0) p.logits[0] = -std::numeric_limits<double>::infinity();
    if (k % 23 == 0) p.logits[p.logits.size() / 2] = std::numeric_limits<double>::quiet_NaN();
    if (k % 29 == 0) p.logits.back() = std::numeric_limits<double>::infinity();
    if (k % 3 == 2) {
        p.probs.resize(p.logits.size());
        for (double& y : p.probs)
            y = (unit(rng) + 1) / static_cast<double>(p.classes);
    } else {
        for (std::size_t i = 0; i < rows; ++i)
            p.indices.push_back(
                static_cast<std::int64_t>((i * 7 + static_cast<std::size_t>(k)) % p.classes));
        if (k % 4 == 1) p.indices[0] = p.options.ignore_index;
    }
    if (k % 5 == 1) {
        for (std::size_t j = 0; j < p.classes; ++j)
            p.weight.push_back(0.5 + (unit(rng) + 1));
        p.options.weight = p.weight;
    }
    p.options.label_smoothing = k % 2 == 0 ? 0.0 : 0.15;
    p.options.reduction = k % 3 == 0   ? reduction::mean
                          : k % 3 == 1 ? reduction::sum
                                       : reduction::none;
    p.options.threads = 1 + k % 2;
    return p;
}

/// `check(problem, label, k)` on the 400 random problems k = 0, 1, ... from `seed`, on the
/// vector kernels and on the scalar ones.
template <class Check>
void on_both_kernel_paths(std::uint64_t seed, Check check) {
    for (const bool scalar : {false, true}) {
        force_scalar_kernels(scalar);
        std::mt19937_64 rng(seed);
        for (int k = 0; k < 400; ++k)
            check(random_problem(rng, k), (scalar ? "scalar, " : "vector, ") + std::to_string(k),
                  k);
        force_scalar_kernels(false);
    }
}

/// `rows` rows of 140,000 normal logits (two threads split one such row into two parts, three
/// fork-join phases), class targets, label smoothing 0.1 (summed by part in a split row).
problem long_rows(std::uint64_t seed, std::size_t rows) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 4);
    problem p;
    p.classes = 140000;
    p.logits.resize(rows * p.classes);
    for (double& z : p.logits)
        z = normal(rng);
    for (std::size_t i = 0; i < rows; ++i)
        p.indices.push_back(i == 0 ? 12345 : 7);
    p.options.label_smoothing = 0.1;
    return p;
}

/// Both entry points on one problem: every output the same bits.
void expect_same_bits(const problem& p, const std::string& what) {
    const std::vector<ld> wide(p.logits.begin(), p.logits.end());
    const auto want = cross_entropy<ld>(wide, p.classes, p.target(), p.options);
    const auto got = cross_entropy_widened(p.logits, p.classes, p.target(), p.options);
    EXPECT_EQ(first_difference(got.probs, want.probs), -1) << what << ": probs";
    EXPECT_EQ(first_difference(got.grad, want.grad), -1) << what << ": grad";
    EXPECT_EQ(first_difference(got.loss, want.loss), -1) << what << ": loss";
}

TEST(CrossEntropyWidened, IsTheLongDoubleReferenceOfTheConvertedLogitsBitForBit) {
    on_both_kernel_paths(
        41, [](const problem& p, const std::string& what, int) { expect_same_bits(p, what); });
}

TEST(CrossEntropyWidened, RowsSplitAcrossThreadsToo) {
    problem p = long_rows(42, 1);
    p.options.threads = 2;
    expect_same_bits(p, "split row");
}

/// cross_entropy_rounded against cross_entropy_widened on one problem: each output the widened
/// one rounded, the exact probabilities the widened ones, bit for bit.
void expect_rounded_bits(const problem& p, const std::string& what) {
    const auto wide = cross_entropy_widened(p.logits, p.classes, p.target(), p.options);
    const auto round = [](const std::vector<ld>& v) {
        return std::vector<double>(v.begin(), v.end());
    };
    const auto got = cross_entropy_rounded(p.logits, p.classes, p.target(), p.options);
    EXPECT_EQ(first_difference(got.probs, round(wide.probs)), -1) << what << ": probs";
    EXPECT_EQ(first_difference(got.grad, round(wide.grad)), -1) << what << ": grad";
    EXPECT_EQ(first_difference(got.loss, round(wide.loss)), -1) << what << ": loss";
    EXPECT_EQ(first_difference(got.exact_probs, wide.probs), -1) << what << ": exact probs";
}

TEST(CrossEntropyRounded, IsTheWidenedReferenceRoundedBitForBit) {
    on_both_kernel_paths(43, [](problem p, const std::string& what, int k) {
        // Mostly one thread: the rows written rounded (two threads round the widened arrays,
        // as do probability targets).
        if (k % 8 != 0) p.options.threads = 1;
        expect_rounded_bits(p, what);
    });
}

TEST(CrossEntropyRounded, LongRowsAndRowsSplitAcrossThreads) {
    problem p = long_rows(44, 2);
    p.options.threads = 1;
    expect_rounded_bits(p, "long rows, one thread");
    p.options.threads = 2;
    expect_rounded_bits(p, "long rows, two threads");
    p = long_rows(44, 1);
    p.options.threads = 2;
    expect_rounded_bits(p, "a row split across two threads");
}

TEST(CrossEntropyRounded, OutputsMayBeSkipped) {
    std::mt19937_64 rng(45);
    for (int k = 0; k < 12; ++k) {
        problem p = random_problem(rng, 3 * k);  // index targets
        p.options.threads = 1;
        const auto all = cross_entropy_rounded(p.logits, p.classes, p.target(), p.options);
        std::vector<double> loss(all.loss.size()), grad(all.grad.size());
        cross_entropy_rounded(p.logits, p.classes, p.target(), p.options, loss, grad, {});
        EXPECT_EQ(first_difference(loss, all.loss), -1) << k;
        EXPECT_EQ(first_difference(grad, all.grad), -1) << k;
        std::vector<double> probs(all.probs.size());
        cross_entropy_rounded(p.logits, p.classes, p.target(), p.options, loss, {}, probs);
        EXPECT_EQ(first_difference(loss, all.loss), -1) << k;
        EXPECT_EQ(first_difference(probs, all.probs), -1) << k;
    }
}

/// NaN, +inf, -inf or finite: what a loss value is.
int kind_of(double v) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    return std::isnan(v) ? 0 : v == inf ? 1 : v == -inf ? 2 : 3;
}

TEST(CrossEntropyRounded, MaskedClassesGiveTheLossesOfTheArithmetic) {
    // The long double reference gives the infinities of masked classes (-inf logits) without
    // x87 arithmetic on them, which costs a microcode assist each (lib/src/index_row_terms.h,
    // rounded_rows.h). The double reference computes them: every loss must be of the same kind.
    // Rows mask about a third of their classes; weights at masked classes are positive, zero or
    // negative (0 times inf is NaN, and a negative weight's -inf meets smoothing's +inf);
    // smoothing 0, 0.1, 0.3 or 1 (1 - eps = 0 times inf is NaN); masked targets; reductions.
    constexpr double inf = std::numeric_limits<double>::infinity();
    int kinds[4] = {};
    for (const bool scalar : {false, true}) {
        force_scalar_kernels(scalar);
        std::mt19937_64 rng(46);
        std::normal_distribution<double> normal(0, 3);
        for (int k = 0; k < 3000; ++k) {
            problem p;
            p.classes = 2 + static_cast<std::size_t>(k % 7);
            const std::size_t rows = 1 + static_cast<std::size_t>(k % 4);
            p.logits.resize(rows * p.classes);
            for (std::size_t r = 0; r < p.logits.size(); ++r)
                p.logits[r] = rng() % 3 == 0 && r % p.classes != 0 ? -inf : normal(rng);
            for (std::size_t i = 0; i < rows; ++i)
                p.indices.push_back(static_cast<std::int64_t>(rng() % p.classes));
            if (k % 3 != 0) {
                constexpr double choices[] = {0.0, -0.5, 0.25, 1.0, 2.0};
                for (std::size_t j = 0; j < p.classes; ++j)
                    p.weight.push_back(choices[rng() % 5]);
                p.options.weight = p.weight;
            }
            constexpr double eps[] = {0.0, 0.1, 1.0, 0.3};
            p.options.label_smoothing = eps[k % 4];
            p.options.reduction = k % 3 == 0   ? reduction::mean
                                  : k % 3 == 1 ? reduction::sum
                                               : reduction::none;
            p.options.threads = 1;
            const auto want = cross_entropy<double>(p.logits, p.classes, p.target(), p.options);
            const auto got = cross_entropy_rounded(p.logits, p.classes, p.target(), p.options);
            ASSERT_EQ(got.loss.size(), want.loss.size());
            for (std::size_t i = 0; i < want.loss.size(); ++i) {
                EXPECT_EQ(kind_of(got.loss[i]), kind_of(want.loss[i]))
                    << (scalar ? "scalar " : "vector ") << k << " loss " << i << ": " << got.loss[i]
                    << " against " << want.loss[i];
                ++kinds[kind_of(want.loss[i])];
            }
        }
        force_scalar_kernels(false);
    }
    // Every kind is met often (NaN, +inf, -inf, finite).
    for (const int count : kinds)
        EXPECT_GT(count, 100);
}

TEST(CrossEntropyWidened, ShiftsBelowLongDoublesNormalRangeGiveZeroOnBothPaths) {
    // Exponentials below e^-11000 (under 2^-15869) are 0 in the long double reference, on the
    // vector path and the x87 one alike, deciding on the exact shift: no subnormal long double
    // (each operation on one is a microcode assist) and the same zeros on both paths. Rows of
    // shifts from -10950 down to -11420 in steps that do not fall on integers, and two rows
    // whose shifts round to -11000 itself, just below it and just above it.
    std::vector<double> logits;
    const std::size_t classes = 64;
    for (int i = 0; i < 4; ++i) {
        logits.push_back(0.0);
        for (std::size_t j = 1; j < classes; ++j)
            logits.push_back(-10950.0 - 7.4321 * static_cast<double>(j) - 0.173 * i);
    }
    for (const double m : {1e-20, -1e-20}) {  // z - m: -11000 -/+ 1e-20
        logits.push_back(m);
        for (std::size_t j = 1; j < classes; ++j)
            logits.push_back(j % 2 ? -11000.0 : -10900.0);
    }
    const std::size_t rows = logits.size() / classes;
    const std::vector<std::int64_t> targets(rows, 0);
    std::vector<std::vector<ld>> probs;
    for (const bool scalar : {false, true}) {
        force_scalar_kernels(scalar);
        probs.push_back(
            cross_entropy_widened(logits, classes, target_view::indices(targets), {}).probs);
    }
    force_scalar_kernels(false);
    for (std::size_t k = 0; k < logits.size(); ++k) {
        const std::size_t i = k / classes;
        const ld shift = static_cast<ld>(logits[k]) - static_cast<ld>(logits[i * classes]);
        const bool below = shift < -11000.0L || (i == 4 && logits[k] == -11000.0);
        for (const auto& p : probs) {
            EXPECT_NE(std::fpclassify(p[k]), FP_SUBNORMAL) << k;
            if (below) {
                EXPECT_EQ(p[k], 0.0L) << k << ": shift " << static_cast<double>(shift);
            } else {
                EXPECT_GT(p[k], 0.0L) << k << ": shift " << static_cast<double>(shift);
            }
        }
    }
}

TEST(CrossEntropyRounded, ChecksItsInputsAsCrossEntropyDoes) {
    const std::vector<double> z{0, 1, 2, 3};
    const std::vector<std::int64_t> t{0, 1};
    std::vector<double> loss(1), grad(4), probs(4);
    std::vector<ld> exact(3);
    EXPECT_THROW(cross_entropy_rounded(z, 2, target_view::indices(t), {}, loss, grad, probs, exact),
                 input_error);
    EXPECT_THROW(cross_entropy_rounded(z, 3, target_view::indices(t)), input_error);
}

TEST(CrossEntropyWidened, ChecksItsInputsAsCrossEntropyDoes) {
    const std::vector<double> z{0, 1, 2, 3};
    const std::vector<std::int64_t> t{0, 5};
    EXPECT_THROW(cross_entropy_widened(z, 2, target_view::indices(t)), input_error);
    EXPECT_THROW(cross_entropy_widened(z, 3, target_view::indices(t)), input_error);
}

}  // namespace
}  // namespace xentcheck
