/// Internal: the grad_matches_finite_difference check over (a sample of) the defined rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "xentcheck/cli/eval_case.h"
#include "xentcheck/cli/evaluation.h"
#include "xentcheck/tolerance.h"

namespace xentcheck::cli::detail {

/// At most this many values (rows x classes) are differenced, so the check's cost (two loss
/// evaluations of the differenced rows per coordinate) stays bounded for large batches.
inline constexpr std::size_t max_differenced_values = 1024;
/// Budget of long double element evaluations for the check: the coordinate count is chosen so
/// that 2 * coordinates * values stays near it.
inline constexpr double finite_difference_budget = 1 << 20;

/// Compares the reference gradient `grad` of case `c` with central differences of the long
/// double loss, into `out` (whose storage is reused). The loss is a sum over rows times a constant
/// s (1 / divisor for mean), so the gradient of the rows differenced is the gradient of s * (sum of
/// their row losses); the check differences that function on the defined rows (all of them up to
/// max_differenced_values values, else an even sample) with lib's
/// check_grad_finite_difference. Bounds come from the tolerance model measured with
/// unit_roundoff<long double>() on those rows (reduction sum), scaled by |s|: loss error =
/// loss tolerance at |L|, third-derivative bound = grad_scale / (6 sqrt 3), gradient tolerance =
/// the model's grad(). Skipped when no row is defined or the loss is not finite.
///
/// The function differenced is lib's cross_entropy_loss<long double>, or, for index targets
/// without smoothing, cached_index_loss, which is used only after its value at the base point
/// agrees with lib's loss there within twice the loss error bound. `whole_loss`, when not NaN,
/// is lib's long double loss of the whole case with the case's reduction (summed over rows
/// for reduction none); it stands for lib's value when every row is differenced.
///
/// `case_scale`, when given, is measure_problem of the whole case with its own options (any
/// unit roundoff): where every row is differenced and it equals the measurement of the rows
/// differenced but for the unit roundoff (reduction sum, or mean with a divisor of magnitude
/// 1), it is used instead of measuring again.
void check_grad_by_finite_differences(
    check_entry& out, const eval_case& c, std::span<const double> grad,
    std::span<const std::size_t> defined_rows, finite_difference_scratch& scratch,
    long double whole_loss = std::numeric_limits<long double>::quiet_NaN(),
    const xentcheck::problem_scale* case_scale = nullptr);

/// The same check, returning a new entry.
check_entry check_grad_by_finite_differences(
    const eval_case& c, std::span<const double> grad, std::span<const std::size_t> defined_rows,
    finite_difference_scratch& scratch,
    long double whole_loss = std::numeric_limits<long double>::quiet_NaN());

}  // namespace xentcheck::cli::detail
