/// xentcheck/checks.h: invariant and agreement checks that return structured findings.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/finite_difference.h"
#include "xentcheck/tolerance.h"

namespace xentcheck {

/// Where a value sits: a row of the batch and, for per-class values, a class.
struct location {
    std::size_t row = 0;                ///< sample index
    std::optional<std::size_t> column;  ///< class index, absent for per-row values
    /// "row 0, class 2" or "row 0".
    std::string to_string() const;
};

/// One value that violated a check.
struct finding {
    location where;        ///< which value
    double expected = 0;   ///< what the check required (reference value, 1, 0, ...)
    double actual = 0;     ///< what was found
    double abs_error = 0;  ///< |actual - expected| (inf when one side is not finite)
    double rel_error = 0;  ///< abs_error / |expected| (inf when expected is 0)
    double allowed = 0;    ///< the largest abs_error the tolerance accepted at this value
};

/// The outcome of one check over a batch.
struct check_result {
    std::string name;            ///< e.g. "probs_sum_to_one", "expect.grad"
    bool passed = true;          ///< no violation
    std::size_t checked = 0;     ///< how many values were examined
    std::size_t violations = 0;  ///< how many failed
    double max_abs_error = 0;    ///< largest finite abs_error seen (inf if non-finite)
    double max_rel_error = 0;    ///< largest rel_error seen
    /// Largest abs_error / allowed seen: how close the values came to their bounds (> 1 for a
    /// violation; inf for a non-finite mismatch or a nonzero error against a zero bound).
    double worst_ratio = 0;
    tolerance used;                 ///< the tolerance applied
    std::optional<location> worst;  ///< the value with the largest error relative to its bound
    std::vector<finding> findings;  ///< the first few violations (at most max_findings)
    /// Values the check could judge neither way (not counted in `checked`, neither passed nor
    /// failed), e.g. a finite difference for which no step resolves the gradient. A check with
    /// checked = 0 and inconclusive > 0 compared nothing.
    std::size_t inconclusive = 0;
    /// Why, for the first inconclusive value (its location and numbers); empty when none.
    std::string inconclusive_reason;
    // A new member must also be reset by the in-place checks below (lib/src/checks.cpp).
    /// How many findings are kept.
    static constexpr std::size_t max_findings = 8;
};

/// Compares `actual` with `reference` (same size, N x `columns` row-major; `columns` = 1 for
/// per-row or scalar values) under `tol`. `magnitude`, when given, replaces |reference| as the
/// scale of the relative part (see tolerance). Non-finite reference values must match exactly.
check_result compare_values(std::string name, std::span<const double> reference,
                            std::span<const double> actual, std::size_t columns, tolerance tol,
                            std::span<const double> magnitude = {});

/// Every probability in [0, 1] (within probs().atol + probs().rtol of the bound). NaN fails.
check_result check_probs_in_unit_interval(std::span<const double> probs, std::size_t classes,
                                          const tolerance_model& model);

/// Each row of probabilities sums to 1 within probs_row_sum().
check_result check_probs_sum_to_one(std::span<const double> probs, std::size_t classes,
                                    const tolerance_model& model);

/// Each gradient row sums to 0 within grad_row_sum() (true for any target: sum_j (A p_j - a_j)
/// = A - A).
check_result check_grad_rows_sum_to_zero(std::span<const double> grad, std::size_t classes,
                                         const tolerance_model& model);

/// Every loss value >= loss_floor(). Only meaningful when no effective target entry is
/// negative (PyTorch allows unnormalised probability targets, whose loss may be negative).
check_result check_loss_nonnegative(std::span<const double> loss, const tolerance_model& model);

/// Compares `grad` (d loss / d x at `x`) with central differences of `loss`. `loss_error`
/// bounds the absolute error of each loss evaluation and `third_bound` its third derivative
/// along a coordinate; the step and the allowed error E come from plan_central_difference, plus
/// the gradient's own tolerance a = `grad_tol` at the magnitude max(|g_j|, grad_scale). Where
/// |x_j| > 2^20 the step is scaled by |x_j| 2^-20 and E is taken at that step.
/// A coordinate is compared only where the comparison means something; otherwise it is counted
/// in `inconclusive` (never a violation), with the first reason in `inconclusive_reason`:
/// - x_j +- h is not a finite double (the step, grown with |x_j|, overflows: |x_j| near 1e300);
/// - 2E + a, the smallest error sure to fail, is not below the magnitude (the loss is
///   known too coarsely, or the step is too long, to resolve an error of the gradient's size:
///   |x| beyond about 1e9 for a long double loss, 1e3 to 1e4 for a float loss; see
///   docs/finite-differences.md). A zero magnitude (constant loss) is always compared;
/// - the difference is not finite (the loss is not finite at x_j + h or x_j - h).
/// Non-finite x_j or g_j are left out (no derivative there) and not counted at all.
/// At most `max_coordinates` coordinates are differenced (an even spread, always including each
/// row's largest |g|), so the cost stays O(max_coordinates * cost of f).
check_result check_grad_finite_difference(const scalar_function& loss, std::span<const double> x,
                                          std::size_t classes, std::span<const double> grad,
                                          double loss_error, double third_bound, tolerance grad_tol,
                                          double grad_scale, std::size_t max_coordinates = 4096);

// In-place forms. Each writes the result the function above returns into `out`, reusing the
// storage of its name, findings and reason, so that a caller running checks case after case
// allocates nothing once they have grown. Tolerances are given as the model computes them
// (the argument named after the model's function), so a caller checking several things against
// one model computes each only once.

/// compare_values into `out`.
void compare_values(check_result& out, std::string_view name, std::span<const double> reference,
                    std::span<const double> actual, std::size_t columns, tolerance tol,
                    std::span<const double> magnitude = {});

/// check_probs_in_unit_interval into `out`; `probs_tolerance` is model.probs().
void check_probs_in_unit_interval(check_result& out, std::span<const double> probs,
                                  std::size_t classes, tolerance probs_tolerance);

/// check_probs_sum_to_one into `out`; `probs_row_sum` is model.probs_row_sum().
void check_probs_sum_to_one(check_result& out, std::span<const double> probs, std::size_t classes,
                            tolerance probs_row_sum);

/// check_grad_rows_sum_to_zero into `out`; `grad_row_sum` is model.grad_row_sum().
void check_grad_rows_sum_to_zero(check_result& out, std::span<const double> grad,
                                 std::size_t classes, tolerance grad_row_sum);

/// check_loss_nonnegative into `out`; `floor` is model.loss_floor().
void check_loss_nonnegative(check_result& out, std::span<const double> loss, double floor);

/// Working storage of check_grad_finite_difference, kept by a caller that runs it repeatedly.
/// Its contents between calls mean nothing.
struct finite_difference_check_buffers {
    std::vector<long double> point;        ///< x in long double, moved one coordinate at a time
    std::vector<std::size_t> coordinates;  ///< the coordinates differenced
};

/// check_grad_finite_difference into `out`, with its working storage in `buffers`. The same
/// evaluations of `loss` in the same order: the point passed to it is the one buffer, with the
/// coordinate differenced moved and put back after the two evaluations.
void check_grad_finite_difference(check_result& out, finite_difference_check_buffers& buffers,
                                  const scalar_function& loss, std::span<const double> x,
                                  std::size_t classes, std::span<const double> grad,
                                  double loss_error, double third_bound, tolerance grad_tol,
                                  double grad_scale, std::size_t max_coordinates = 4096);

}  // namespace xentcheck
