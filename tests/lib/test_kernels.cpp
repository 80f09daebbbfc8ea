/// Unit tests of xentcheck/kernels.h: the vector and scalar paths of the long double reference.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "test_support.h"
#include "xentcheck/cross_entropy.h"
#include "xentcheck/kernels.h"
#include "xentcheck/softmax.h"

namespace xentcheck {
namespace {

using test::eps_distance;
using test::ld;

/// The long double reference of `z` on the scalar path and on the automatic one.
struct both_paths {
    cross_entropy_result<ld> scalar;
    cross_entropy_result<ld> automatic;
};

both_paths run_both(const std::vector<ld>& z, std::size_t classes,
                    const std::vector<std::int64_t>& t, const cross_entropy_options& o) {
    force_scalar_kernels(true);
    auto scalar = cross_entropy<ld>(z, classes, target_view::indices(t), o);
    force_scalar_kernels(false);
    auto automatic = cross_entropy<ld>(z, classes, target_view::indices(t), o);
    return {std::move(scalar), std::move(automatic)};
}

/// Largest distance between two long double results, in long double epsilons of the scalar
/// one's value (both NaN or both equal: 0).
ld largest_distance(const std::vector<ld>& a, const std::vector<ld>& b) {
    EXPECT_EQ(a.size(), b.size());
    ld worst = 0;
    for (std::size_t k = 0; k < a.size() && k < b.size(); ++k) {
        if (std::isnan(a[k]) && std::isnan(b[k])) continue;
        worst = std::max(worst, eps_distance<ld>(b[k], a[k]));
    }
    return worst;
}

TEST(LongDoubleKernels, LongDoubleRowsOfDoublesAgreeWithTheScalarPathWithinAFewUlps) {
    // Rows of doubles take double-double lanes for their exponentials on the vector path (each
    // value correctly rounded but for about 1 in 10^5), the scalar path the x87 exp (0.52 ulp):
    // exponentials and sums differ by an ulp or so, probabilities and gradients by a few.
    // Shapes cross the lanes' 64-entry blocks; spreads beyond 650, -inf entries and a value
    // that is not a double send some entries or blocks back to the scalar formula.
    if (active_kernel_path() != kernel_path::avx2) GTEST_SKIP() << "no vector kernels";
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<double> unit(-1, 1);
    ld worst = 0;
    for (int k = 0; k < 300; ++k) {
        const std::size_t rows = 1 + k % 3;
        const std::size_t classes = 1 + (k * 37) % 200;
        const double spread = k % 4 == 0 ? 2000 : k % 4 == 1 ? 40 : k % 4 == 2 ? 1 : 1e-3;
        std::vector<ld> z(rows * classes);
        for (std::size_t j = 0; j < z.size(); ++j) {
            z[j] = static_cast<double>(spread * unit(rng) + (k % 5) * 300.0);
            if (k % 7 == 0 && j % 5 == 1) z[j] = -std::numeric_limits<ld>::infinity();
        }
        if (k % 11 == 0) z[0] += 0x1p-60L;  // a first block that is not all doubles
        std::vector<std::int64_t> t(rows);
        for (std::size_t i = 0; i < rows; ++i)
            t[i] = static_cast<std::int64_t>((i * 13 + k) % classes);
        cross_entropy_options o;
        o.reduction = reduction::none;
        o.label_smoothing = k % 2 == 0 ? 0.1 : 0.0;
        const auto r = run_both(z, classes, t, o);
        worst = std::max({worst, largest_distance(r.scalar.probs, r.automatic.probs),
                          largest_distance(r.scalar.grad, r.automatic.grad),
                          largest_distance(r.scalar.loss, r.automatic.loss)});
    }
    EXPECT_GT(worst, 0);  // the two paths are different code
    EXPECT_LE(worst, 8);  // 1.93 measured
}

TEST(LongDoubleKernels, RowsHoldingAValueThatIsNotADoubleTakeTheScalarPathExactly) {
    if (active_kernel_path() != kernel_path::avx2) GTEST_SKIP() << "no vector kernels";
    std::mt19937_64 rng(18);
    std::uniform_real_distribution<double> unit(-5, 5);
    for (int k = 0; k < 50; ++k) {
        const std::size_t classes = 2 + k % 60;  // one block
        std::vector<ld> z(classes);
        for (auto& v : z)
            v = static_cast<double>(unit(rng));
        z[k % classes] += 0x1p-60L;  // not a double
        const std::vector<std::int64_t> t{static_cast<std::int64_t>(k % classes)};
        const auto r = run_both(z, classes, t, cross_entropy_options{});
        EXPECT_EQ(r.scalar.probs, r.automatic.probs) << k;
        EXPECT_EQ(r.scalar.grad, r.automatic.grad) << k;
        EXPECT_EQ(r.scalar.loss, r.automatic.loss) << k;
    }
}

TEST(LongDoubleKernels, SoftmaxAndLogsumexpAgreeWithTheScalarPath) {
    // Two rows: 8 entries with one shift beyond 650 (left to the scalar formula) and a -inf,
    // and 150 entries (three blocks, the argmax in the third).
    if (active_kernel_path() != kernel_path::avx2) GTEST_SKIP() << "no vector kernels";
    std::vector<ld> z{2.0, -1.0, 0.5, -700.0, 1.25, -std::numeric_limits<ld>::infinity(),
                      2.0, -3.0};
    const std::size_t classes = 150;
    std::vector<ld> wide(2 * classes);
    for (std::size_t j = 0; j < wide.size(); ++j)
        wide[j] =
            static_cast<double>(std::sin(0.37 * static_cast<double>(j)) * 30 + (j == 140 ? 40 : 0));
    for (const auto& [row, c] : {std::pair{&z, z.size()}, std::pair{&wide, classes}}) {
        const std::size_t rows = row->size() / c;
        std::vector<ld> p_scalar(row->size()), p_vector(row->size()), l_scalar(rows),
            l_vector(rows);
        force_scalar_kernels(true);
        softmax<ld>(*row, c, p_scalar);
        logsumexp<ld>(*row, c, l_scalar);
        force_scalar_kernels(false);
        softmax<ld>(*row, c, p_vector);
        logsumexp<ld>(*row, c, l_vector);
        EXPECT_LE(largest_distance(p_scalar, p_vector), 4) << c;
        EXPECT_LE(largest_distance(l_scalar, l_vector), 2) << c;
        if (row == &z) {
            EXPECT_EQ(p_vector[5], 0.0L);  // the -inf entry
        }
    }
}

}  // namespace
}  // namespace xentcheck
