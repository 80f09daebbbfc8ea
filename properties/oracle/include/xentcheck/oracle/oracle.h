/// xentcheck/oracle/oracle.h: a high-precision (MPFR) oracle for softmax + cross-entropy.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "xentcheck/cross_entropy.h"

namespace xentcheck::oracle {

/// Which roundings the oracle must get right, and the working precision.
struct oracle_options {
    /// Starting working precision in bits (> 53). Each row is recomputed at a higher precision
    /// until every requested rounding of every output is decided by its enclosure.
    long precision = 256;
    /// Cap on the escalation. A value still undecided here is reported as not proven (it would
    /// have to lie within 2^-max_precision relative of a rounding midpoint).
    long max_precision = 1L << 14;
    /// Also decide the rounding to long double (x87 extended: 64-bit significand, exponent down
    /// to 2^-16445). Tiny results (e.g. 1 - p_t = e^-5000) then need far more precision.
    bool long_double = false;
    /// Also decide the rounding to float.
    bool single = false;
};

/// One output: the true value, correctly rounded.
struct value {
    double nearest = 0;   ///< the true value rounded to the nearest double
    double residual = 0;  ///< (true - nearest) rounded to double; 0 when exact
    /// Rounded to the nearest long double; NaN unless oracle_options::long_double was set
    /// (non-finite and exact-zero outputs are always filled).
    long double nearest_ld = 0;
    long double residual_ld = 0;  ///< (true - nearest_ld) rounded to long double (or NaN)
    float nearest_f = 0;  ///< rounded to the nearest float; NaN unless oracle_options::single
    bool proven = true;   ///< the requested roundings were decided by the enclosure
};

/// All outputs of one batch, laid out like xentcheck::cross_entropy's.
struct oracle_result {
    std::vector<value> probs;     ///< softmax, N x C
    std::vector<value> loss;      ///< N row losses (reduction none) or the reduced loss
    std::vector<value> grad;      ///< d loss / d logits, N x C (of sum_i L_i for reduction none)
    long max_precision_used = 0;  ///< the largest working precision any row needed, in bits
    std::size_t unproven = 0;     ///< how many values are not proven correctly rounded

    /// The double roundings of one output, for handing to code that takes spans of double.
    static std::vector<double> nearest(const std::vector<value>& values);
};

/// Evaluates F.softmax and F.cross_entropy(logits, target, **options) with its gradient, exactly
/// as the textbook formulas define them, in MPFR interval arithmetic:
///   p_j = exp(z_j - m) / sum_k exp(z_k - m),   lse = m + ln sum_k exp(z_k - m),
///   row loss = (1 - eps) w_t (lse - z_t) + eps/C sum_j w_j (lse - z_j)   (index targets),
///   row loss = sum_j a_j (lse - z_j), a_j = w_j ((1 - eps) y_j + eps/C)  (probability targets),
///   grad_j = s (A p_j - a_j), A = sum_j a_j, s = 1/divisor for mean, else 1.
/// Inputs, validation (input_error) and non-finite semantics are those documented for xentcheck::
/// cross_entropy (cross_entropy.h), i.e. PyTorch's: a row with NaN, +inf or only -inf has NaN
/// probabilities and gradient, and NaN loss unless ignored (loss 0; its gradient is still NaN,
/// as PyTorch's log_softmax backward gives 0 - exp(NaN) * 0); a -inf logit under positive target
/// mass gives +inf loss; a -inf logit under exactly zero mass gives NaN loss (0 * -inf), the
/// gradient staying s (A p - a). A mean whose divisor is exactly 0 (no kept row, or every kept
/// target weighted 0) gives NaN loss and NaN gradient in kept rows (PyTorch's 0/0; where
/// negative weights cancel to 0 PyTorch mixes +-inf and NaN, which is not modelled). A
/// non-finite weight or probability-target entry makes the row's loss and gradient NaN (PyTorch
/// may give +-inf there; not modelled). The sign of a zero result is not modelled.
oracle_result evaluate(std::span<const double> logits, std::size_t classes,
                       const target_view& target, const cross_entropy_options& options,
                       const oracle_options& settings = {});

}  // namespace xentcheck::oracle
