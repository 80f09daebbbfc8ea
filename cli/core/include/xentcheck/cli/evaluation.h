/// xentcheck/cli/evaluation.h: a case to its reference outputs and check results (no I/O).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "xentcheck/checks.h"
#include "xentcheck/cli/eval_case.h"

namespace xentcheck::cli {

/// A check that ran, or one that does not apply to the case (with the reason).
struct check_entry {
    xentcheck::check_result result;  ///< the outcome (meaningless when skipped)
    bool skipped = false;            ///< the check does not apply to this case
    std::string skip_reason;         ///< why, when skipped
    /// "pass", "fail" or "skipped".
    const char* status() const noexcept {
        return skipped ? "skipped" : (result.passed ? "pass" : "fail");
    }
};

namespace detail {
/// The loss s * sum_i w_{t_i} (logsumexp(z_i) - z_{i,t_i}) of index-target rows without label
/// smoothing (ignored rows contribute 0), in long double, from terms computed once at a base
/// point x: each row's largest logit m, the exponentials e_j = exp(x_j - m), R = sum of those
/// other than the argmax's, and the row loss m + log1p(R) - x_t (the logsumexp form of the
/// reference, computed here independently of it). A central difference moves one coordinate
/// k of row i by a step h: then S = 1 + R becomes S + e_k (e^h - 1), so the loss changes by
/// exactly w (log1p(e_k expm1(h) / S) - [k = t] h), which short series give to a few ulps of
/// itself when |h| and that argument are below 2^-10. Other points are evaluated row by row
/// from the cached exponentials (expm1 for a moved argmax). The error of a value is a few long
/// double ulps of the terms, inside the model's loss bound that the check is given.
class cached_index_loss {
  public:
    /// Prepares for the base point `x` (rows x `classes`, row-major) with one class index per
    /// row in `targets` and the factor `scale`. Returns false, and must not be used, when the
    /// form does not apply: label smoothing, a non-finite logit, |x| > 2^20 (steps then grow
    /// with |x|), or a target that is neither a class nor ignore_index.
    bool prepare(std::span<const double> x, std::size_t classes,
                 std::span<const std::int64_t> targets, const xentcheck::cross_entropy_options& o,
                 long double scale);
    /// The loss at `z` (same size as x).
    long double operator()(std::span<const long double> z) const;
    /// The loss at x itself (what operator() returns there).
    long double at_base() const noexcept { return scale_ * base_total_; }

  private:
    struct row_terms {
        long double shift = 0;        // m
        long double rest = 0;         // R
        long double inverse_sum = 1;  // 1 / (1 + R)
        long double weight = 0;       // w_t, 0 when ignored
        long double loss = 0;         // at x
        std::size_t argmax = 0, target = 0;
    };
    long double row_loss(std::size_t i, const long double* z) const;

    std::size_t classes_ = 0;
    long double scale_ = 1;
    long double base_total_ = 0;     // sum of the row losses at x
    std::vector<long double> base_;  // x
    std::vector<long double> exps_;  // exp(x_j - m) per value (1 at the argmax)
    std::vector<row_terms> rows_;
};

/// Buffers of the finite-difference check (the rows it differences), reused between cases.
struct finite_difference_scratch {
    std::vector<std::size_t> rows;             ///< batch rows differenced
    std::vector<double> logits;                ///< their logits
    std::vector<long double> wide_logits;      ///< the same in long double
    std::vector<double> grad;                  ///< their reference gradient
    std::vector<std::int64_t> target_indices;  ///< their index targets
    std::vector<double> target_probs;          ///< their probability targets
    cached_index_loss index_loss;              ///< the loss differenced, for index targets
    xentcheck::finite_difference_check_buffers check_buffers;  ///< lib's check's storage
};
}  // namespace detail

/// What evaluating a case produced.
struct evaluation {
    std::vector<double> probs;        ///< reference softmax, N x C (rounded from long double)
    std::vector<double> loss;         ///< reference loss: N values (reduction none) or 1
    std::vector<double> grad;         ///< reference d loss / d logits, N x C
    std::vector<check_entry> checks;  ///< in a fixed order (see evaluator::evaluate)
    /// Whether any check that ran failed.
    bool failed() const noexcept;
};

/// Evaluates cases. The object keeps its buffers between calls so a stream of small cases
/// allocates little; it is not thread-safe (use one per thread).
class evaluator {
  public:
    /// Computes the reference in long double from the case's doubles (probs, loss, grad,
    /// rounded to double) and runs, in this order:
    /// - on the reference (float64 tolerance model): probs_in_unit_interval, probs_sum_to_one,
    ///   grad_rows_sum_to_zero, loss_nonnegative (skipped when some effective target entry is
    ///   negative), grad_matches_finite_difference (central differences of the long double
    ///   loss; skipped when the loss is not finite);
    /// - on the given `expect` values, with the tolerance model of the case's dtype:
    ///   expect.probs, expect.probs_in_unit_interval, expect.probs_sum_to_one, expect.loss,
    ///   expect.grad, expect.grad_rows_sum_to_zero. A case `tolerance` replaces the model for
    ///   all of them: comparisons use it directly (magnitude |reference|), invariants a bound
    ///   derived from it (a row sum of C values may be off by C atol + rtol sum |v|).
    /// Rows whose reference is undefined (NaN: a NaN or +inf logit, or only -inf) are left out
    /// of the invariant checks; the expect comparisons still require NaN there.
    /// Throws xentcheck::input_error if the case is invalid (the reader prevents that).
    const evaluation& evaluate(const eval_case& c);

  private:
    /// The tolerances of one model that the checks use, each computed once per case.
    struct model_tolerances {
        xentcheck::tolerance probs, probs_row_sum, loss, grad_row_sum;
    };

    void run_reference(const eval_case& c);
    void run_reference_checks(const eval_case& c);
    void run_expect_checks(const eval_case& c);
    /// The next entry of result_.checks, reusing the storage of an earlier case's entry.
    check_entry& next_check();
    template <class Check>
    void on_defined_rows(std::span<const double> values, std::size_t classes, Check check);

    evaluation result_;
    std::size_t used_checks_ = 0;            // entries of result_.checks filled for this case
    std::vector<check_entry> spare_checks_;  // entries beyond those, kept for their storage
    xentcheck::problem_scale scale_;         // of the case, for float64 (run_reference_checks)
    model_tolerances reference_tolerances_;  // of tolerance_model(scale_)
    std::vector<long double> wide_logits_, wide_probs_, wide_loss_, wide_grad_;
    std::vector<std::size_t> defined_rows_;  // rows with a defined reference
    std::vector<double> compact_;            // the defined rows of some N x C values
    detail::finite_difference_scratch fd_scratch_;
};

}  // namespace xentcheck::cli
