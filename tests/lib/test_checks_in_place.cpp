/// Tests of the in-place forms of xentcheck/checks.h: written into a result left over from an
/// earlier, different check, each gives exactly what the value-returning form gives.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

/// Bit equality of doubles (NaN equals NaN with the same bits).
bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Every member of two results is the same (doubles bit for bit).
void expect_same(const check_result& a, const check_result& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.passed, b.passed);
    EXPECT_EQ(a.checked, b.checked);
    EXPECT_EQ(a.violations, b.violations);
    EXPECT_TRUE(same_bits(a.max_abs_error, b.max_abs_error)) << a.name;
    EXPECT_TRUE(same_bits(a.max_rel_error, b.max_rel_error)) << a.name;
    EXPECT_TRUE(same_bits(a.worst_ratio, b.worst_ratio)) << a.name;
    EXPECT_TRUE(same_bits(a.used.atol, b.used.atol)) << a.name;
    EXPECT_TRUE(same_bits(a.used.rtol, b.used.rtol)) << a.name;
    ASSERT_EQ(a.worst.has_value(), b.worst.has_value()) << a.name;
    if (a.worst) {
        EXPECT_EQ(a.worst->to_string(), b.worst->to_string());
    }
    ASSERT_EQ(a.findings.size(), b.findings.size()) << a.name;
    for (std::size_t k = 0; k < a.findings.size(); ++k) {
        const finding &f = a.findings[k], &g = b.findings[k];
        EXPECT_EQ(f.where.to_string(), g.where.to_string());
        EXPECT_TRUE(same_bits(f.expected, g.expected));
        EXPECT_TRUE(same_bits(f.actual, g.actual));
        EXPECT_TRUE(same_bits(f.abs_error, g.abs_error));
        EXPECT_TRUE(same_bits(f.rel_error, g.rel_error));
        EXPECT_TRUE(same_bits(f.allowed, g.allowed));
    }
    EXPECT_EQ(a.inconclusive, b.inconclusive);
    EXPECT_EQ(a.inconclusive_reason, b.inconclusive_reason);
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

struct problem {
    std::vector<double> logits;
    std::vector<std::int64_t> targets;
    std::size_t classes;
};

TEST(ChecksInPlace, InvariantsAndComparisonsMatchTheValueForms) {
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> unit(-1, 1);
    for (int k = 0; k < 200; ++k) {
        const std::size_t rows = 1 + rng() % 4, classes = 1 + rng() % 5;
        std::vector<double> z(rows * classes);
        for (double& v : z)
            v = unit(rng) * 3;
        std::vector<std::int64_t> t(rows);
        for (auto& v : t)
            v = static_cast<std::int64_t>(rng() % classes);
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
    std::uniform_real_distribution<double> unit(-1, 1);
    for (int k = 0; k < 60; ++k) {
        const std::size_t rows = 1 + rng() % 3, classes = 2 + rng() % 6;
        std::vector<double> z(rows * classes);
        for (double& v : z)
            v = unit(rng) * 4;
        std::vector<std::int64_t> t(rows);
        for (auto& v : t)
            v = static_cast<std::int64_t>(rng() % classes);
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
