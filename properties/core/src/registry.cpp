/// The registry of properties: names, summaries and the problems each can afford.
#include <algorithm>

#include "xentcheck/properties/properties.h"

namespace xentcheck::properties {

namespace {

/// O(N C^2) checks (Jacobian, Hessian blocks): C <= 300 keeps 255, 256, 257 in reach.
generator_config quadratic(generator_config c) {
    c.max_classes = std::min<std::size_t>(c.max_classes, 300);
    c.max_rows = std::min<std::size_t>(c.max_rows, 4);
    return c;
}

/// O(C^3) eigenvalue checks.
generator_config cubic(generator_config c) {
    c.max_classes = std::min<std::size_t>(c.max_classes, 48);
    c.max_rows = std::min<std::size_t>(c.max_rows, 3);
    return c;
}

/// Finite differences of the loss: up to 25 evaluations of the whole problem per case; the
/// block edges up to 4097 classes stay in reach (directions cover large C).
generator_config loss_differenced(generator_config c) {
    c.max_classes = std::min<std::size_t>(c.max_classes, 4097);
    c.max_rows = std::min<std::size_t>(c.max_rows, 4);
    c.max_elements = std::min<std::size_t>(c.max_elements, 8192);
    return c;
}

/// Finite differences: 16 evaluations of the whole problem per case.
generator_config differenced(generator_config c) {
    c.max_classes = std::min<std::size_t>(c.max_classes, 64);
    c.max_rows = std::min<std::size_t>(c.max_rows, 6);
    return c;
}

constexpr auto impl = property_subject::implementation;
constexpr auto ref = property_subject::reference;

}  // namespace

const std::vector<property_info>& all_properties() {
    static const std::vector<property_info> registry{
        {"probs_in_unit_interval", "every probability lies in [0, 1] within probs().bound(1)", impl,
         &probs_in_unit_interval},
        {"probs_sum_to_one", "each row of probabilities sums to 1 within probs_row_sum()", impl,
         &probs_sum_to_one},
        {"probs_preserve_order",
         "a larger logit never gets a smaller probability, equal logits equal probabilities, "
         "within the probs() bounds of both",
         impl, &probs_preserve_order},
        {"shift_invariance",
         "adding a constant to a row (to max 0, to max 709) changes no output beyond the two "
         "problems' bounds",
         impl, &shift_invariance, nullptr, true},
        {"permutation_equivariance",
         "permuting classes permutes probs and grad and keeps the loss, within twice the bounds",
         impl, &permutation_equivariance, nullptr, true},
        {"batch_equals_rows",
         "the batch equals its rows evaluated alone, reduced by definition, within twice the "
         "bounds",
         impl, &batch_equals_rows, nullptr, true},
        {"grad_rows_sum_to_zero", "each gradient row sums to 0 within grad_row_sum()", impl,
         &grad_rows_sum_to_zero},
        {"grad_within_bounds", "-s a_j <= g_j <= s A p_j within grad().bound(s (A p_j + a_j))",
         impl, &grad_within_bounds},
        {"ignored_rows_exactly_zero",
         "ignored rows have gradient exactly 0 and (reduction none) loss exactly 0", impl,
         &ignored_rows_exactly_zero},
        {"grad_matches_chain_rule",
         "the gradient equals s J(p) (-a / p) (softmax_jvp in long double) within grad()", impl,
         &grad_matches_chain_rule},
        {"loss_nonnegative", "every loss value >= loss_floor()", impl, &loss_nonnegative},
        {"loss_at_least_target_entropy",
         "the loss is at least the entropy of the normalised target times its mass, within "
         "loss()",
         impl, &loss_at_least_target_entropy},
        {"loss_equals_logsumexp_form",
         "the loss equals sum_j a_j (logsumexp(z) - z_j) (long double) within loss()", impl,
         &loss_equals_logsumexp_form},
        {"agrees_with_reference",
         "probs, loss and grad agree with the long double reference within the tolerance model",
         impl, &agrees_with_reference},
        {"hessian_matches_gradient_differences",
         "central differences of the gradient equal s A (diag(p) - p p^T) within a "
         "truncation + rounding bound",
         impl, &hessian_matches_gradient_differences, &differenced, true},
        {"self_consistency",
         "central differences of the implementation's own loss equal its gradient (lib's "
         "finite-difference verdicts; inconclusive passes)",
         impl, &self_consistency, &loss_differenced, true},
        {"determinism", "the same problem asked again gives bit-identical outputs", impl,
         &determinism, nullptr, true},
        {"jacobian_symmetric", "lib's softmax_jacobian is symmetric within 2 u p_r p_k", ref,
         &jacobian_symmetric, &quadratic},
        {"jacobian_rows_sum_to_zero",
         "rows of lib's softmax_jacobian sum to p_r (1 - sum p) within rounding", ref,
         &jacobian_rows_sum_to_zero, &quadratic},
        {"jacobian_trace", "trace of lib's softmax_jacobian is 1 - |p|^2 within |1 - sum p|", ref,
         &jacobian_trace, &quadratic},
        {"jacobian_spectrum",
         "lib's softmax_jacobian is positive semi-definite with largest eigenvalue <= 1/2", ref,
         &jacobian_spectrum, &cubic},
        {"hessian_closed_form",
         "lib's cross_entropy_hessian equals s A (diag(p) - p p^T) computed independently", ref,
         &hessian_closed_form, &quadratic},
    };
    return registry;
}

const property_info* find_property(std::string_view name) {
    for (const auto& p : all_properties()) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

}  // namespace xentcheck::properties
