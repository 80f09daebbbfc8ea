/// cross_entropy_options::threads: rows dealt to threads in chunks, and long rows split across
/// threads, give one thread's probabilities and gradient bit for bit (whole rows) or within the
/// tolerance model (split rows), one thread's loss up to the order of its sum, and the same
/// bits on every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/tolerance.h"

namespace xentcheck {
namespace {

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

/// A batch with ignored rows (some with a masked entry), a row of -inf only, weights, smoothing.
struct batch {
    std::size_t rows, classes;
    std::vector<double> logits;
    std::vector<std::int64_t> targets;
    std::vector<double> weight;
};

batch make_batch(std::size_t rows, std::size_t classes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0, 3);
    batch b{rows, classes, {}, {}, {}};
    b.logits.resize(rows * classes);
    for (double& z : b.logits)
        z = normal(rng);
    for (std::size_t i = 0; i < rows; ++i) {
        // Masked entries only in ignored rows: with smoothing a masked class makes a row's
        // loss infinite (as in PyTorch).
        const bool ignored = i % 7 == 3;
        if (ignored) b.logits[i * classes + rng() % classes] = -HUGE_VAL;
        b.targets.push_back(ignored ? -100 : static_cast<std::int64_t>(rng() % classes));
    }
    if (rows > 5) {
        for (std::size_t j = 0; j < classes; ++j)
            b.logits[5 * classes + j] = -std::numeric_limits<double>::infinity();
        b.targets[5] = -100;  // an undefined row is ignored here, so the loss stays defined
    }
    b.weight.resize(classes);
    for (double& w : b.weight)
        w = 0.5 + static_cast<double>(rng() % 100) / 50;
    return b;
}

template <class T>
cross_entropy_result<T> run(const batch& b, std::size_t threads, reduction red) {
    const std::vector<T> z(b.logits.begin(), b.logits.end());
    cross_entropy_options o;
    o.weight = b.weight;  // a view: b outlives the call
    o.label_smoothing = 0.05;
    o.reduction = red;
    o.threads = threads;
    return cross_entropy<T>(z, b.classes, target_view::indices(b.targets), o);
}

template <class T>
void expect_rows_identical(std::size_t rows, std::size_t classes) {
    const batch b = make_batch(rows, classes, rows * 31 + classes);
    for (const reduction red : {reduction::none, reduction::mean, reduction::sum}) {
        const auto one = run<T>(b, 1, red);
        for (const std::size_t threads : {2, 3, 5}) {
            const auto many = run<T>(b, threads, red);
            EXPECT_TRUE(same_bits(one.probs, many.probs)) << threads << " threads";
            EXPECT_TRUE(same_bits(one.grad, many.grad)) << threads << " threads";
            if (red == reduction::none) {
                EXPECT_TRUE(same_bits(one.loss, many.loss));
            } else {
                // The row losses are added in another order: a few ulps of their sum.
                const double l1 = static_cast<double>(one.loss[0]);
                const double l2 = static_cast<double>(many.loss[0]);
                EXPECT_NEAR(l1, l2, 8 * std::numeric_limits<T>::epsilon() * std::abs(l1))
                    << threads << " threads";
            }
            const auto again = run<T>(b, threads, red);  // the same bits on every run
            EXPECT_TRUE(same_bits(many.loss, again.loss) && same_bits(many.grad, again.grad));
        }
    }
}

TEST(CrossEntropyThreads, RowsDealtToThreadsGiveOneThreadsValues) {
    expect_rows_identical<double>(4096, 64);
    expect_rows_identical<float>(4096, 64);
    expect_rows_identical<double>(257, 1000);  // chunks of uneven sizes
}

TEST(CrossEntropyThreads, SplitRowsStayWithinTheToleranceModel) {
    // Fewer rows than threads, rows long enough to split: each row's classes are shared out.
    for (const auto& [rows, threads] : {std::pair<std::size_t, std::size_t>{1, 2}, {2, 4}}) {
        const batch b = make_batch(rows, 200000, 7 + rows);
        const auto one = run<double>(b, 1, reduction::none);
        const auto many = run<double>(b, threads, reduction::none);
        cross_entropy_options o;
        o.weight = b.weight;
        o.label_smoothing = 0.05;
        o.reduction = reduction::none;
        const target_view target = target_view::indices(b.targets);
        const tolerance_model model(measure_problem(std::numeric_limits<double>::epsilon() / 2,
                                                    b.logits, b.classes, target, o));
        EXPECT_TRUE(
            compare_values("probs", one.probs, many.probs, b.classes, model.probs()).passed);
        EXPECT_TRUE(compare_values("loss", one.loss, many.loss, 1, model.loss()).passed);
        const auto mags = grad_magnitudes(one.probs, b.classes, target, o);
        EXPECT_TRUE(
            compare_values("grad", one.grad, many.grad, b.classes, model.grad(), mags).passed);
        const auto again = run<double>(b, threads, reduction::none);
        EXPECT_TRUE(same_bits(many.grad, again.grad) && same_bits(many.loss, again.loss));
    }
}

TEST(CrossEntropyThreads, SplitRowsThatAreNotDefinedGiveNaNsAsOneThreadDoes) {
    // A NaN in the second thread's part, a +inf in the first's, and a row of -inf only: the
    // split stops after the scans, and the row's loss and gradient are NaN, as with one thread.
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (const auto& [where, value] : {std::pair<std::size_t, double>{150000, nan}, {10, inf}}) {
        batch b = make_batch(1, 200000, 3);
        b.targets[0] = 7;
        b.logits[where] = value;
        for (const std::size_t threads : {1, 2}) {
            const auto r = run<double>(b, threads, reduction::none);
            EXPECT_TRUE(std::isnan(r.loss[0])) << threads << " threads";
            EXPECT_TRUE(
                std::all_of(r.grad.begin(), r.grad.end(), [](double g) { return std::isnan(g); }))
                << threads << " threads";
        }
    }
    batch masked = make_batch(1, 200000, 4);
    masked.targets[0] = 7;
    std::fill(masked.logits.begin(), masked.logits.end(), -inf);
    const auto r = run<double>(masked, 2, reduction::none);
    EXPECT_TRUE(std::isnan(r.loss[0]));
    EXPECT_TRUE(std::isnan(r.grad[0]) && std::isnan(r.grad[199999]));
}

}  // namespace
}  // namespace xentcheck
