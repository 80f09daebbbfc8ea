/// Internal: index-target rows of the long double reference of double logits, rounded to double.
#pragma once

#include <cstddef>
#include <span>

#include "index_row_terms.h"
#include "long_double_round.h"

namespace xentcheck::detail {

/// Where rounded_index_rows writes: outputs in double (loss N values or none for a reduced
/// loss, grad and probs N x C or empty) and the probabilities in long double (N x C or empty).
struct rounded_outputs {
    std::span<double> loss, grad, probs;
    std::span<long double> exact_probs;
};

/// process_rows of an index-target job in long double from double logits (job.index_form; the
/// job's own output spans are not used), writing each output rounded to double, and the
/// probabilities in long double too, instead of filling long double arrays that a caller then
/// rounds. The same operations in the same order as process_rows, so the same bits as its
/// outputs rounded: only the row's exponentials pass through memory in long double, in `e`
/// (C entries, reused row after row, so they stay in cache), where process_rows writes them,
/// then the probabilities, then the gradient, each as a 10-byte store, and reads each back.
/// Row losses go to out.loss (job.by_row) or into the returned total.
inline accumulator<long double> rounded_index_rows(const batch_job<long double, double>& job,
                                                   const rounded_outputs& out,
                                                   std::span<long double> e) {
    using T = long double;
    const std::size_t classes = job.classes;
    const std::size_t rows = classes == 0 ? 0 : job.logits.size() / classes;
    accumulator<T> total;
    for (std::size_t i = 0; i < rows; ++i) {
        const auto row = job.logits.subspan(i * classes, classes);
        const std::size_t at = i * classes;
        const std::int64_t t = job.target->class_indices()[i];
        const bool ignored = t == job.options->ignore_index;
        const auto tu = static_cast<std::size_t>(t);
        const bool with_grad = !out.grad.empty();
        const row_scan<T> scan = widened_scan<T>(scan_row(row));
        T row_loss{0};
        if (!scan.defined) {
            const T nan = quiet_nan<T>();
            for (std::size_t j = 0; j < classes; ++j) {
                if (!out.probs.empty()) out.probs[at + j] = static_cast<double>(nan);
                if (!out.exact_probs.empty()) out.exact_probs[at + j] = nan;
                if (with_grad) out.grad[at + j] = ignored ? 0.0 : static_cast<double>(nan);
            }
            row_loss = ignored ? T(0) : nan;
        } else {
            const T rest = shifted_exp_rest<T, double>(row, scan, e);
            const T sum = T(1) + rest;
            const T log_sum = log1p_of(rest);
            const T inv_sum = T(1) / sum;
            const T others = !ignored && tu != scan.argmax ? sum - e[tu] : rest;
            if (!ignored) row_loss = index_row_loss(job, row, tu, scan.max, log_sum);
            const T scale = job.scale;
            const T mass = ignored ? T(0) : job.masses->row[i];
            // Without smoothing process_rows scales the exponentials: (s A / S) e_j.
            const T factor = scale * (mass * inv_sum);
            for (std::size_t j = 0; j < classes; ++j) {
                const T pj = e[j] * inv_sum;
                if (!out.probs.empty()) out.probs[at + j] = rounded_to_double(pj);
                if (!out.exact_probs.empty()) out.exact_probs[at + j] = pj;
                if (!with_grad) continue;
                const T gj = ignored ? T(0)
                             : job.smoothing
                                 ? scale * (mass * pj - job.eps_per_class * job.weight(j))
                                 : factor * e[j];
                out.grad[at + j] = rounded_to_double(gj);
            }
            if (with_grad && !ignored) {  // the target entry, as index_grad_range writes it
                out.grad[at + tu] = rounded_to_double(
                    scale * index_target_entry(job, tu, e[tu] * inv_sum, inv_sum, others));
            }
        }
        if (job.by_row) {
            out.loss[i] = rounded_to_double(row_loss);
        } else {
            total.add(row_loss);
        }
    }
    return total;
}

}  // namespace xentcheck::detail
