/// xentcheck/oracle/error.h: error measures against the oracle, and the reference's bounds.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "xentcheck/cross_entropy.h"
#include "xentcheck/oracle/oracle.h"

namespace xentcheck::oracle {

/// The spacing of doubles at x: 2^(e-52) for |x| in [2^e, 2^(e+1)), 2^-1074 for subnormal x and
/// 0. NaN for non-finite x.
double ulp(double x);
/// The spacing of long doubles (64-bit significand) at x: 2^(e-63), at least 2^-16445.
long double ulp(long double x);

/// Error of a double against the true value in ulps of the correctly rounded true value:
/// |computed - true| / ulp(nearest), where computed - true = (computed - nearest) - residual.
/// 0 when both are NaN or both the same infinity; +inf when exactly one is non-finite or they
/// are different non-finite values.
double ulp_error(double computed, const value& truth);
/// The same for a long double against the long double rounding (nearest_ld, residual_ld).
double ulp_error(long double computed, const value& truth);
/// |computed - true| / ulp(max(magnitude, |nearest|)): the error in ulps of a natural
/// magnitude of the value (for a gradient entry s (|a|_1 p_j + |a_j|), see grad_magnitudes;
/// the max guards against a magnitude that underflowed when rounded). Non-finite values as in
/// ulp_error; a non-finite magnitude counts as |nearest|.
double magnitude_error(double computed, const value& truth, double magnitude);

/// The same for a long double against the long double rounding, in long double ulps.
double magnitude_error(long double computed, const value& truth, double magnitude);

/// The natural magnitude of each loss value: s sum_j T_j ((lse - z_j) + 1) summed over the
/// rows the value covers (one row for reduction none), where T_j = |w_j| ((1 - eps) |y_j| +
/// eps/C) is the size of the terms of the target a_j (|a_j| for non-negative targets), taken
/// in PyTorch's form ((1 - eps) |w_t| (lse - z_t) + eps/C sum_j |w_j| (lse - z_j) for index
/// targets). The +1 is the scale of ln S's rounding (S >= 1), which no float64 logsumexp
/// avoids. Terms at -inf logits are skipped (their loss is not finite). NaN for undefined rows.
std::vector<double> loss_magnitudes(std::span<const double> logits, std::size_t classes,
                                    const target_view& target,
                                    const cross_entropy_options& options);

/// The semantic differences between xentcheck::cross_entropy and PyTorch (whose semantics the
/// oracle follows) that a case contains, one description each; empty when none. Known, and
/// reported to the library: (1) an ignored row whose logits are undefined (NaN, +inf or all
/// -inf): PyTorch's gradient there is NaN, the reference's 0; (2) a mean whose divisor is
/// exactly 0 (every kept target weighted 0, or no kept row): PyTorch gives NaN loss and NaN
/// gradient in kept rows, the reference +-inf or NaN from its 1/0 scale. Comparisons skip such
/// cases or count them apart.
std::vector<std::string> known_reference_differences(std::span<const double> logits,
                                                     std::size_t classes, const target_view& target,
                                                     const cross_entropy_options& options);

/// Which output an error bound is about.
enum class output { probs, loss, grad };

/// The documented accuracy of xentcheck::cross_entropy<double> against the oracle (derived in
/// docs/accuracy.md). With u = 2^-53 and, per row, m = max z, C classes, and D_j = |z_j - m|
/// when the double subtraction z_j - m is inexact, else 0:
/// - probs p_j: ulp_error <= 8 + ln C + D_j;
/// - loss: magnitude_error (loss_magnitudes) <= 8 + 2 ln C + max D over the rows covered;
/// - grad: magnitude_error (grad_magnitudes) <= 12 + ln C + max_j D_j of the row
///   + 4 s (T_j + p_j sum_k T_k) / magnitude_j (the rounding of a_j and A, which cancel for
///   mixed-sign targets; T as in loss_magnitudes; about 4 for non-negative targets);
///   + (C - 1) for weighted index targets with label smoothing (the reference sums the C weights
///   of A = (1 - eps) w_t + eps/C sum_k w_k without compensation; see docs/accuracy.md);
/// - grad of index targets without label smoothing (one product, no cancellation):
///   ulp_error <= 12 + ln C + D_j off the target and 12 + ln C + max_{k != t} D_k on it.
/// Every non-finite value must match exactly.
struct reference_bounds {
    std::vector<double> probs;           ///< per entry, in ulps
    std::vector<double> loss;            ///< per loss value, in ulps of loss_magnitudes
    std::vector<double> grad;            ///< per entry, in ulps of grad_magnitudes
    std::vector<double> grad_single;     ///< per entry, in ulps; +inf where not single-term
    std::vector<double> loss_magnitude;  ///< loss_magnitudes of the case
    std::vector<double> grad_magnitude;  ///< grad_magnitudes of the case (from oracle probs)
};

/// The bounds of one case (validated like cross_entropy; `truth` is the oracle's result).
reference_bounds bounds_for(std::span<const double> logits, std::size_t classes,
                            const target_view& target, const cross_entropy_options& options,
                            const oracle_result& truth);

/// One value outside its bound.
struct bound_violation {
    output which = output::probs;  ///< the output
    std::size_t index = 0;         ///< flat index into it
    double computed = 0;           ///< the checked value
    double truth = 0;              ///< the oracle's double
    double error = 0;              ///< the error in the bound's unit
    double bound = 0;              ///< the bound
    std::string measure;           ///< "ulp", "magnitude ulp" or "ulp (single-term grad)"
    /// e.g. "grad[3]: 1.2e-17 vs oracle 1.1e-17: 42 magnitude ulp > bound 14.6".
    std::string to_string() const;
};

/// Checks double outputs (probs, loss, grad: cross_entropy's layout) against the oracle under
/// the reference's documented bounds. Empty means the values meet them.
std::vector<bound_violation> check_against_bounds(std::span<const double> probs,
                                                  std::span<const double> loss,
                                                  std::span<const double> grad,
                                                  const oracle_result& truth,
                                                  const reference_bounds& bounds);

}  // namespace xentcheck::oracle
