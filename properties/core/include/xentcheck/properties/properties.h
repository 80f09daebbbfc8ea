/// xentcheck/properties/properties.h: named, reusable properties of softmax + cross-entropy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "xentcheck/properties/generators.h"
#include "xentcheck/properties/implementation.h"

namespace xentcheck::properties {

/// The outcome of one property on one problem.
struct verdict {
    bool passed = true;   ///< the property held
    std::string message;  ///< on failure: which value, expected, actual, error and bound
    /// A passing verdict.
    static verdict pass() { return {}; }
    /// A failing verdict with details.
    static verdict fail(std::string message) { return {false, std::move(message)}; }
    /// Whether the property held.
    explicit operator bool() const noexcept { return passed; }
};

/// A property: a deterministic function of an implementation and a problem. It may evaluate
/// the implementation several times (on shifted, permuted or single-row variants); an
/// exception from the implementation is a failure. Tolerances come from the problem's
/// tolerance model (problem::tolerance()); docs/properties.md lists each bound.
using property_function = verdict (*)(implementation& impl, const problem& p);

/// What a property examines.
enum class property_subject {
    implementation,  ///< the outputs of the implementation passed in
    reference,       ///< lib's own Jacobian and Hessian routines (the implementation is unused)
};

/// A registered property.
struct property_info {
    std::string_view name;     ///< e.g. "probs_sum_to_one"
    std::string_view summary;  ///< one sentence: what must hold, within which bound
    property_subject subject;  ///< what it examines
    property_function check;   ///< the property itself
    /// Narrows a generator configuration to what the property can afford (e.g. C <= 64 for
    /// O(C^3) eigenvalue checks); null when any problem is fine.
    generator_config (*narrow)(generator_config) = nullptr;
    /// Whether the property also asks the implementation about problems it derives from the
    /// one it checks (shifted, permuted, single rows, repeated, perturbed): it spends most of
    /// a large case waiting for answers, so a parallel run pairs it with one that computes.
    bool asks_related_problems = false;
    /// `base` narrowed by `narrow`.
    generator_config config_for(generator_config base) const {
        return narrow ? narrow(std::move(base)) : base;
    }
};

/// Computes what properties derive from `p` alone (the reference's answer, the tolerance model,
/// the effective targets, the gradient magnitudes), so that properties checking `p` later, or
/// in other threads meanwhile, find it ready. Optional: each is computed on first use anyway.
/// Lets a run compute while the implementation is still answering its first request.
void prepare(const problem& p);

/// Every property, in a stable order.
const std::vector<property_info>& all_properties();
/// The property with this name, or null.
const property_info* find_property(std::string_view name);

// Probabilities (each defined row; rows made only of -inf have NaN outputs and are skipped).

/// Every probability in [0, 1] within probs().bound(1).
verdict probs_in_unit_interval(implementation& impl, const problem& p);
/// Each row of probabilities sums to 1 within probs_row_sum().
verdict probs_sum_to_one(implementation& impl, const problem& p);
/// z_a < z_b implies p_a <= p_b, z_a == z_b implies p_a == p_b, each within the probs()
/// bounds of both values.
verdict probs_preserve_order(implementation& impl, const problem& p);

// Symmetries.

/// Adding c_i to every logit of row i (c_i = -max_i, then 709 - max_i) changes neither probs,
/// loss nor gradient beyond the sum of the two problems' bounds.
verdict shift_invariance(implementation& impl, const problem& p);
/// Permuting the classes (logits, targets, weights, ignore_index alike) permutes probs and
/// gradient and leaves the loss unchanged, within twice the bounds.
verdict permutation_equivariance(implementation& impl, const problem& p);
/// The batch equals its rows evaluated alone (reduction sum), combined by the reduction's
/// definition (mean: divided by sum of w[t_i] over kept rows, or N), within twice the bounds.
verdict batch_equals_rows(implementation& impl, const problem& p);

// Gradient.

/// Each gradient row sums to 0 within grad_row_sum().
verdict grad_rows_sum_to_zero(implementation& impl, const problem& p);
/// -s a_j <= g_j <= s A p_j for the effective target row a (A = sum a, s the mean scale),
/// within grad().bound(s (A p_j + a_j)).
verdict grad_within_bounds(implementation& impl, const problem& p);
/// Ignored rows have a gradient of exactly 0 and (reduction none) a loss of exactly 0.
verdict ignored_rows_exactly_zero(implementation& impl, const problem& p);
/// The gradient equals the chain rule through the softmax Jacobian, s J(p) (-a / p) computed
/// with softmax_jvp in long double (the derivation of A p - a), within grad().
verdict grad_matches_chain_rule(implementation& impl, const problem& p);

// Loss.

/// Every loss value >= loss_floor() (targets here are never negative).
verdict loss_nonnegative(implementation& impl, const problem& p);
/// Each row loss is at least A_i H(a_i / A_i), the entropy of the normalised effective
/// target (Gibbs' inequality), reduced like the loss, within loss().
verdict loss_at_least_target_entropy(implementation& impl, const problem& p);
/// The loss equals sum_j a_j (logsumexp(z) - z_j) (index target: logsumexp(z) - z_t),
/// evaluated in long double (the row's logsumexp z_k - ln p_k from the reference's long double
/// softmax at its largest logit k), within loss().
verdict loss_equals_logsumexp_form(implementation& impl, const problem& p);

// Agreement and curvature.

/// probs, loss and grad agree with reference_outputs() within probs(), loss() and grad().
verdict agrees_with_reference(implementation& impl, const problem& p);
/// Central differences of the implementation's gradient equal the loss Hessian
/// s A (diag(p) - p p^T) (like PyTorch's gradgradcheck), within a truncation + rounding bound
/// built from grad() (docs/properties.md). Samples at most 8 coordinates.
verdict hessian_matches_gradient_differences(implementation& impl, const problem& p);

// Consistency of the implementation with itself (no reference values involved).

/// Central differences of the implementation's own loss (summed for reduction none) along up
/// to four logits and two random directions equal its gradient, judged by lib's
/// finite-difference verdicts with the loss tolerance as declared noise: only a "fail" verdict
/// fails (an inconclusive estimate passes). Perturbed problems are evaluated in batches.
verdict self_consistency(implementation& impl, const problem& p);
/// The same problem asked twice more (back to back, in one batch) gives bit-identical probs,
/// loss and grad (NaN matching NaN).
verdict determinism(implementation& impl, const problem& p);

// lib's Jacobian and Hessian routines (subject: reference).

/// softmax_jacobian is symmetric: |J_rk - J_kr| <= 2 u p_r p_k.
verdict jacobian_symmetric(implementation& impl, const problem& p);
/// Rows of softmax_jacobian sum to p_r (1 - sum p) within the rounding of C terms.
verdict jacobian_rows_sum_to_zero(implementation& impl, const problem& p);
/// trace(J) = 1 - |p|^2 within |1 - sum p| and rounding.
verdict jacobian_trace(implementation& impl, const problem& p);
/// J is positive semi-definite with largest eigenvalue <= 1/2 (Jacobi eigenvalues in long
/// double), within the perturbation of sum p from 1 and the rounding of J.
verdict jacobian_spectrum(implementation& impl, const problem& p);
/// cross_entropy_hessian equals s A_i (diag(p_i) - p_i p_i^T) computed independently.
verdict hessian_closed_form(implementation& impl, const problem& p);

}  // namespace xentcheck::properties
