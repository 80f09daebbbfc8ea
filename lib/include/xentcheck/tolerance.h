/// xentcheck/tolerance.h: the one tolerance model, derived from dtype, class count and |logit|.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "xentcheck/cross_entropy.h"

namespace xentcheck {

/// An acceptance band: |actual - expected| <= atol + rtol * magnitude, where magnitude is
/// |expected| unless a check supplies the natural scale of the value (the gradient does:
/// s (|a|_1 p_j + |a_j|), the size of the two terms whose difference it is). Non-finite expected
/// values must be matched exactly: NaN by NaN, +inf by +inf, -inf by -inf. A value equal to
/// its expected value is always accepted (even when the magnitude is NaN).
struct tolerance {
    double atol = 0;  ///< absolute part, in the units of the value
    double rtol = 0;  ///< relative part, a multiple of the magnitude
    /// The largest accepted |actual - expected| for a value of the given magnitude.
    double bound(double magnitude) const noexcept { return atol + rtol * magnitude; }
    /// Whether `actual` is accepted for `expected` (magnitude |expected|).
    bool accepts(double expected, double actual) const noexcept;
    /// Whether `actual` is accepted for `expected` with an explicit magnitude.
    bool accepts(double expected, double actual, double magnitude) const noexcept;
};

/// What the model needs to know about a problem and about the precision of the values checked.
struct problem_scale {
    double unit_roundoff = 0x1p-53;  ///< u of the dtype the checked values were computed in
    std::size_t rows = 1;            ///< N
    std::size_t classes = 1;         ///< C
    double max_abs_logit = 0;        ///< M, the largest finite |z| in the batch
    double loss_scale = 1;  ///< sum over rows of sum_j T_ij (grad_magnitudes), times s (mean)
    double grad_scale = 1;  ///< s * max_i sum_j T_ij: the largest possible |gradient entry| * 2
    bool mixed_sign_targets = false;  ///< some effective target entry is negative
};

/// Measures the problem scale of a batch (validating it like cross_entropy does) for values
/// computed with unit roundoff `unit_roundoff` (see unit_roundoff<T>()).
problem_scale measure_problem(double unit_roundoff, std::span<const double> logits,
                              std::size_t classes, const target_view& target,
                              const cross_entropy_options& options);

/// The natural magnitude of each gradient entry, s (p_ij sum_k T_ik + T_ij) with the term sizes
/// T_ij = |w_j| ((1 - eps) |y_ij| + eps / C) (y one-hot for index targets, T = 0 in ignored
/// rows): the size of the two terms whose difference s (A_i p_ij - a_ij) the entry is, and of
/// the rounding of a_ij and A_i even where negative targets or weights make them cancel (equal
/// to s (|a_i|_1 p_ij + |a_ij|) otherwise). With a zero mean divisor s is taken as 1 (the
/// gradient is then exactly 0 or non-finite). `probs` (N x C) are the reference probabilities;
/// the targets and options are validated like cross_entropy does. NaN probabilities give NaN.
std::vector<double> grad_magnitudes(std::span<const double> probs, std::size_t classes,
                                    const target_view& target,
                                    const cross_entropy_options& options);

/// The tolerance model. Every bound is safety * u * (a count of rounding errors), where the
/// count follows from a first-order error analysis of any reasonable implementation (max- or
/// other in-row shift, sequential float accumulation, exp(z - lse) or exp(z - m) / S forms).
/// docs/tolerances.md derives each bound and shows it is safe and tight.
class tolerance_model {
  public:
    /// Multiplies every first-order bound: absorbs second-order terms and libm's <= 4 ulp exp/log.
    static constexpr double safety = 8;

    /// The model for one problem.
    explicit tolerance_model(problem_scale scale)
        : scale_(scale), logit_range_(logit_range_of(scale)) {}

    /// Probabilities, relative to |p_j|: rtol = k u (R + C + 2), atol = k u^2, where
    /// R = 2M + ln C + 1 bounds |z_j - shift| and |logsumexp| (argument rounding of exp).
    tolerance probs() const noexcept;
    /// Loss values (each row for reduction none, or the reduced scalar), relative to |L|:
    /// atol = k u (R + C + 2) * loss_scale (rounding of logsumexp - z_j and of the class sum
    /// inside log S, weighted by the target mass; + k u R (C + N) * loss_scale when target
    /// entries of both signs let terms cancel), rtol = k u (C + N + 2) (summation over classes
    /// and rows of non-negative terms).
    tolerance loss() const noexcept;
    /// Gradient entries, relative to the magnitude s (|a_i|_1 p_ij + |a_ij|) (grad_magnitudes):
    /// rtol = k u (R + C + N + 4), atol = k u^2 * grad_scale.
    tolerance grad() const noexcept;
    /// |sum_j p_j - 1| of each row: atol = probs().rtol + C * probs().atol.
    tolerance probs_row_sum() const noexcept;
    /// |sum_j g_j| of each row: atol = 2 grad().rtol * grad_scale + C * grad().atol.
    tolerance grad_row_sum() const noexcept;
    /// How far below 0 a loss may be from rounding alone (targets with no negative entry).
    double loss_floor() const noexcept { return -loss().atol; }
    /// The scale this model was built for.
    const problem_scale& scale() const noexcept { return scale_; }
    /// R = 2M + ln C + 1: bound on the magnitude of exp arguments and logsumexp.
    double logit_range() const noexcept { return logit_range_; }

  private:
    /// R for `scale`, formed once per model: every bound uses it, and forming it (a logarithm)
    /// in each bound took 2.7% of eval's instructions.
    static double logit_range_of(const problem_scale& scale) noexcept;

    problem_scale scale_;
    double logit_range_;
};

/// Error model of a central difference (f(x + h e_j) - f(x - h e_j)) / 2h of the loss:
/// truncation h^2 / 6 * |f'''| plus rounding 2 e_f / 2h, where e_f bounds the absolute error of
/// each loss evaluation and |f'''| <= third_bound.
struct central_difference_plan {
    double step = 0;         ///< h, in logit units
    double error_bound = 0;  ///< safety * (truncation + rounding) at that step
};

/// The step minimising the central-difference error bound, and that bound, for a loss whose
/// evaluations carry absolute error `loss_error` and whose third derivative along a coordinate
/// is at most `third_bound` (for cross-entropy: s A / (6 sqrt 3), the maximum of
/// |p (1 - p) (1 - 2p)| times the mass).
central_difference_plan plan_central_difference(double loss_error, double third_bound) noexcept;

}  // namespace xentcheck
