/// Tests of the in-place forms of xentcheck/checks.h: written into a result left over from an
/// earlier, different check, each gives exactly what the value-returning form gives.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "check_result_difference.h"

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// Every member of two results is the same (doubles bit for bit).
void expect_same(const check_result& a, const check_result& b) {
    EXPECT_EQ(test_support::check_result_difference(a, b), "") << a.name;
}

/// A result full of leftovers: a long name, findings, a worst location, an inconclusive reason.
check_result dirty_result() {
    const std::vector<double> ref{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const std::vector<double> off{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    check_result r = compare_values("a leftover name longer than any check's own", ref, off, 2,
                                    tolerance{0, 1e-9});
    r.inconclusive = 3;
    r.inconclusive_reason = "row 9: a reason that must not survive the next check";
    return r;
}

/// Random logits (uniform in [-scale, scale]) of rows x classes, and a class index per row.
struct random_problem {
    std::vector<double> z;
    std::vector<std::int64_t> t;

    random_problem(std::mt19937_64& rng, std::size_t rows, std::size_t classes, double scale)
        : z(rows * classes), t(rows) {
        std::uniform_real_distribution<double> unit(-1, 1);
        for (double& v : z)
            v = unit(rng) * scale;
        for (auto& v : t)
            v = static_cast<std::int64_t>(rng() % classes);
    }
};

TEST(ChecksInPlace, InvariantsAndComparisonsMatchTheValueForms) {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> unit(-1, 1);
    for (int k = 0; k < 200; ++k) {
        const std::size_t rows = 1 + rng() % 4, classes = 1 + rng() % 5;
        const auto [z, t] = random_problem(rng, rows, classes, 3);
        const target_view target = target_view::indices(t);
        const auto r = cross_entropy<double>(z, classes, target);
        const tolerance_model model(measure_problem(0x1p-53, z, classes, target, {}));
        // Planted mistakes in about half the problems, so findings are compared too.
        std::vector<double> probs = r.probs, grad = r.grad, loss = r.loss;
        if (k % 2) {
            probs[rng() % probs.size()] += 0.25 * unit(rng);
            grad[rng() % grad.size()] = k % 3 ? nan : -grad[0] - 1;
            loss[0] = k % 4 == 1 ? -1.0 : loss[0];
        }
        check_result out = dirty_result();
        check_probs_in_unit_interval(out, probs, classes, model.probs());
        expect_same(out, check_probs_in_unit_interval(probs, classes, model));
        out = dirty_result();
        check_probs_sum_to_one(out, probs, classes, model.probs_row_sum());
        expect_same(out, check_probs_sum_to_one(probs, classes, model));
        out = dirty_result();
        check_grad_rows_sum_to_zero(out, grad, classes, model.grad_row_sum());
        expect_same(out, check_grad_rows_sum_to_zero(grad, classes, model));
        out = dirty_result();
        check_loss_nonnegative(out, loss, model.loss_floor());
        expect_same(out, check_loss_nonnegative(loss, model));
        out = dirty_result();
        compare_values(out, "expect.grad", r.grad, grad, classes, model.grad(), r.probs);
        expect_same(out,
                    compare_values("expect.grad", r.grad, grad, classes, model.grad(), r.probs));
        // Different sizes: the extra finding.
        out = dirty_result();
        const std::span<const double> shorter(probs.data(), probs.size() - 1);
        compare_values(out, "expect.probs", r.probs, shorter, classes, model.probs());
        expect_same(out, compare_values("expect.probs", r.probs, shorter, classes, model.probs()));
    }
}

/// check_grad_finite_difference of the long double reference loss, both forms, with one set of
/// buffers reused across calls.
void expect_fd_forms_agree(const std::vector<double>& z, std::size_t classes,
                           const std::vector<std::int64_t>& t, const std::vector<double>& grad,
                           std::size_t max_coordinates, finite_difference_check_buffers& buffers) {
    const target_view target = target_view::indices(t);
    std::size_t evaluations = 0;
    const scalar_function loss = [&](std::span<const long double> x) {
        ++evaluations;
        return cross_entropy_loss<long double>(x, classes, target, {});
    };
    const tolerance_model model(
        measure_problem(unit_roundoff<long double>(), z, classes, target, {}));
    const std::vector<long double> zl(z.begin(), z.end());
    const double loss_error = model.loss().bound(std::abs(static_cast<double>(loss(zl))));
    const double third = model.scale().grad_scale / (6 * std::sqrt(3.0));
    evaluations = 0;
    const check_result fresh =
        check_grad_finite_difference(loss, z, classes, grad, loss_error, third, model.grad(),
                                     model.scale().grad_scale, max_coordinates);
    const std::size_t fresh_evaluations = evaluations;
    check_result out = dirty_result();
    check_grad_finite_difference(out, buffers, loss, z, classes, grad, loss_error, third,
                                 model.grad(), model.scale().grad_scale, max_coordinates);
    expect_same(out, fresh);
    EXPECT_EQ(evaluations - fresh_evaluations, fresh_evaluations);
}

TEST(ChecksInPlace, FiniteDifferenceMatchesTheValueForm) {
    finite_difference_check_buffers buffers;
    std::mt19937_64 rng(5);
    for (int k = 0; k < 60; ++k) {
        const std::size_t rows = 1 + rng() % 3, classes = 2 + rng() % 6;
        const auto [z, t] = random_problem(rng, rows, classes, 4);
        std::vector<double> grad = cross_entropy<double>(z, classes, target_view::indices(t)).grad;
        if (k % 2) grad[rng() % grad.size()] += 1e-6;  // a planted error, found by both
        // A few coordinates only, every other time: the sampled path with each row's largest.
        const std::size_t max_coordinates = k % 3 == 0 ? 2 : 4096;
        expect_fd_forms_agree(z, classes, t, grad, max_coordinates, buffers);
    }
    // Inconclusive coordinates (no finite step near 1e300) and their reason.
    const std::vector<double> z{1e300, -1e300, 5e299, 0.5, -1, 2};
    const std::vector<std::int64_t> t{0, 2};
    const std::vector<long double> zl(z.begin(), z.end());
    const auto wide =
        cross_entropy<long double>(std::span<const long double>(zl), 3, target_view::indices(t));
    const std::vector<double> grad(wide.grad.begin(), wide.grad.end());
    expect_fd_forms_agree(z, 3, t, grad, 4096, buffers);
}

}  // namespace
}  // namespace xentcheck
