/// xentcheck/jacobian.h: the softmax Jacobian, its product with a vector, and the loss Hessian.
#pragma once

#include <span>
#include <vector>

#include "xentcheck/cross_entropy.h"

namespace xentcheck {

/// Jacobian dp/dz of softmax at one row with probabilities `probs_row` (C values): writes
/// J = diag(p) - p p^T to `jacobian` (C x C, row-major). Symmetric, rows sum to 0, positive
/// semi-definite with largest eigenvalue <= 1/2. Throws input_error("jacobian") on a size
/// mismatch.
template <class T>
void softmax_jacobian(std::span<const T> probs_row, std::span<T> jacobian);

/// Product J v of each row's softmax Jacobian with the matching row of `v`, without forming J:
/// out_j = p_j (v_j - sum_k p_k v_k). `probs`, `v`, `out`: N x `classes`. Because J is
/// symmetric this is also the vector-Jacobian product, i.e. the chain rule dE/dz = J^T dE/dp.
template <class T>
void softmax_jvp(std::span<const T> probs, std::size_t classes, std::span<const T> v,
                 std::span<T> out);

/// Hessian of the (summed, for reduction none) cross-entropy loss with respect to the logits.
/// Rows do not interact, so it is block diagonal: block i is s A_i (diag(p_i) - p_i p_i^T),
/// with A_i the effective target mass of row i and s the mean scale (1 for none and sum).
/// Writes the N blocks, each C x C row-major, to `blocks` (N * C * C values).
template <class T>
void cross_entropy_hessian(std::span<const T> logits, std::size_t classes,
                           const target_view& target, const cross_entropy_options& options,
                           std::span<T> blocks);

/// Convenience overload returning J for one row.
template <class T>
std::vector<T> softmax_jacobian(std::span<const T> probs_row) {
    std::vector<T> j(probs_row.size() * probs_row.size());
    softmax_jacobian<T>(probs_row, j);
    return j;
}

}  // namespace xentcheck
