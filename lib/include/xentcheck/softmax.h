/// xentcheck/softmax.h: stable row-wise logsumexp, softmax and log-softmax.
#pragma once

#include <span>
#include <vector>

#include "xentcheck/batch.h"

namespace xentcheck {

// Semantics shared by every routine here (PyTorch's): each row is shifted by its largest entry
// before exp, so no finite input overflows. An entry of -inf gets probability exactly 0 (log-prob
// -inf). A row containing NaN or +inf, or made only of -inf, gives NaN in every output of that
// row. T is float, double, long double or std::complex<double> (the real part drives the
// shifting and classification, so complex-step differentiation follows the real computation).

/// logsumexp of each row of the row-major batch `logits` (N x `classes`) into `out` (size N).
/// Accuracy: a few ulps of max(|lse|, 1) for finite rows.
template <class T>
void logsumexp(std::span<const T> logits, std::size_t classes, std::span<T> out);

/// softmax of each row of `logits` (N x `classes`) into `probs` (same size). Probabilities are
/// accurate to a few ulps relative each, including those that underflow gracefully.
template <class T>
void softmax(std::span<const T> logits, std::size_t classes, std::span<T> probs);

/// log-softmax of each row of `logits` (N x `classes`) into `out` (same size), computed as
/// (z - max) - log(sum exp(z - max)) so it stays finite wherever softmax underflows.
template <class T>
void log_softmax(std::span<const T> logits, std::size_t classes, std::span<T> out);

/// logsumexp of one row.
template <class T>
T logsumexp(std::span<const T> row) {
    T out[1];
    logsumexp<T>(row, row.empty() ? 1 : row.size(), std::span<T>(out, row.empty() ? 0 : 1));
    return row.empty() ? T(-std::numeric_limits<real_t<T>>::infinity()) : out[0];
}

/// softmax of a batch, returned as a new vector.
template <class T>
std::vector<T> softmax(std::span<const T> logits, std::size_t classes) {
    std::vector<T> probs(logits.size());
    softmax<T>(logits, classes, probs);
    return probs;
}

/// log-softmax of a batch, returned as a new vector.
template <class T>
std::vector<T> log_softmax(std::span<const T> logits, std::size_t classes) {
    std::vector<T> out(logits.size());
    log_softmax<T>(logits, classes, out);
    return out;
}

}  // namespace xentcheck
