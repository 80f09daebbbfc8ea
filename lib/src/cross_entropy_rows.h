/// Internal: the rows of cross_entropy, whole (any range of rows) or split across threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <vector>

#include "index_row_terms.h"
#include "parallel.h"
#include "row_kernel.h"

namespace xentcheck::detail {

/// Gradient entries [begin, begin + e.size()) of an index-target row with target t (absolute
/// class index) from its exponentials e (g may alias e): s (A p_j - a_j) with
/// a = (1 - eps) w_t e_t + eps/C w. The target entry, when in range, is -(1 - eps) w_t s q_t
/// (+ smoothing terms) with q_t = 1 - p_t = others / S: never a subtraction from 1. `pt` is p_t,
/// read before any part of the row is overwritten.
template <class T, class Z>
void index_grad_range(const batch_job<T, Z>& job, std::span<const T> e, std::span<T> g,
                      std::size_t begin, std::size_t t, T pt, T inv_sum, T others, T mass) {
    const T scale = job.scale;
    if (job.smoothing) {
        for (std::size_t j = 0; j < e.size(); ++j) {
            const T pj = e[j] * inv_sum;
            g[j] = scale * (mass * pj - job.eps_per_class * job.weight(begin + j));
        }
    } else {
        // s A p_j = (s A / S) e_j: one product per entry.
        const T factor = scale * (mass * inv_sum);
        bool done = false;
        if constexpr (has_vector_kernels_v<T>) {
            if (vector_kernels_enabled() && g.data() == e.data()) {
                scale_block(g.data(), factor, g.size());
                done = true;
            }
        }
        if (!done) {
            for (std::size_t j = 0; j < e.size(); ++j)
                g[j] = factor * e[j];
        }
    }
    if (t < begin || t >= begin + e.size()) return;
    g[t - begin] = scale * index_target_entry(job, t, pt, inv_sum, others);
}

/// Gradient of one probability-target row: s * (p_j (A - a_j) - a_j (1 - p_j)), with the
/// complement of the dominant probability and of the dominant target mass taken from sums of
/// the others, so neither cancels.
template <class T>
void probability_row_grad(std::span<const T> e, std::span<T> g, std::span<const T> a,
                          std::size_t argmax, T inv_sum, T others, T scale) {
    std::size_t dominant = 0;
    for (std::size_t j = 1; j < a.size(); ++j) {
        if (re(a[j]) > re(a[dominant])) dominant = j;
    }
    accumulator<T> mass_acc, rest_acc;
    for (std::size_t j = 0; j < a.size(); ++j) {
        mass_acc.add(a[j]);
        if (j != dominant) rest_acc.add(a[j]);
    }
    const T mass = mass_acc.value();
    const T mass_without_dominant = rest_acc.value();
    for (std::size_t j = 0; j < e.size(); ++j) {
        const T pj = e[j] * inv_sum;
        const T qj = j == argmax ? others * inv_sum : T(1) - pj;
        const T rest = j == dominant ? mass_without_dominant : mass - a[j];
        g[j] = scale * (pj * rest - a[j] * qj);
    }
}

/// Rows [first, last): loss (by row, or added to the returned total), gradient, probabilities.
template <class T, class Z>
accumulator<T> process_rows(const batch_job<T, Z>& job, std::size_t first, std::size_t last) {
    const std::size_t classes = job.classes;
    const cross_entropy_options& options = *job.options;
    // Effective target row for probability targets: a_j = w_j ((1 - eps) y_j + eps / C).
    std::vector<T> a(job.index_form ? 0 : classes);
    // Exponentials go to the gradient or probability buffer when one is requested.
    std::vector<T> scratch(job.grad.empty() && job.probs.empty() ? classes : 0);
    accumulator<T> total;
    // The next row's scan is taken right after this row's exponentials, before this row's
    // log, division and scaling: it does not depend on them, so the CPU overlaps it with their
    // latency instead of waiting at the start of the next row.
    row_scan<T> next_scan;
    bool next_scanned = false;
    const auto scan_ahead = [&](std::size_t i) {
        if (!next_scanned && i + 1 < last) {
            next_scan = widened_scan<T>(scan_row(job.logits.subspan((i + 1) * classes, classes)));
            next_scanned = true;
        }
    };
    for (std::size_t i = first; i < last; ++i) {
        const auto row = job.logits.subspan(i * classes, classes);
        const auto p = job.probs.empty() ? std::span<T>{} : job.probs.subspan(i * classes, classes);
        const auto g = job.grad.empty() ? std::span<T>{} : job.grad.subspan(i * classes, classes);
        const auto e = !g.empty() ? g : (!p.empty() ? p : std::span<T>(scratch));
        const std::int64_t t = job.index_form ? job.target->class_indices()[i] : 0;
        const bool ignored = job.index_form && t == options.ignore_index;
        const auto tu = static_cast<std::size_t>(t);

        const row_scan<T> scan = next_scanned ? next_scan : widened_scan<T>(scan_row(row));
        next_scanned = false;
        T row_loss{0};
        if (!scan.defined) {
            if (!p.empty()) std::fill(p.begin(), p.end(), quiet_nan<T>());
            if (!g.empty()) std::fill(g.begin(), g.end(), ignored ? T(0) : quiet_nan<T>());
            row_loss = ignored ? T(0) : quiet_nan<T>();
        } else {
            // While this row's exponentials are computed, the row after the next is fetched
            // (the next one was fetched a row ago and is scanned right after this loop; rows
            // small enough that a few of them stay in L1/L2: larger ones stream through the
            // hardware prefetcher, and fetching them early would evict the current row).
            prefetch_hint next;
            if (i + 2 < last && e.data() != scratch.data() && classes * sizeof(T) <= 32768) {
                next = {row.data() + 2 * classes, e.data() + 2 * classes, classes * sizeof(T)};
            }
            // R = S - 1 summed directly: ln S = log1p(R), and 1 - p_argmax = R / S.
            const T rest = shifted_exp_rest(row, scan, e, next);
            scan_ahead(i);
            const T sum = T(1) + rest;
            const T log_sum = log1p_of(rest);
            const T inv_sum = T(1) / sum;
            // S - e_t: the target's complement. Off the argmax p_t <= 1/2, so the difference
            // does not cancel; on it, it is R itself.
            const T others = job.index_form && !ignored && tu != scan.argmax ? sum - e[tu] : rest;
            // Row loss: sum_j a_j (logsumexp(z) - z_j), each term as (m - z_j) + log S.
            if (ignored) {
                row_loss = T(0);
            } else if (job.index_form) {
                row_loss = index_row_loss(job, row, tu, scan.max, log_sum);
            } else {
                accumulator<T> acc;
                for (std::size_t j = 0; j < classes; ++j) {
                    const T y = T(job.target->probs()[i * classes + j]);
                    a[j] = job.weight(j) *
                           (job.smoothing ? (T(1) - job.eps) * y + job.eps_per_class : y);
                    acc.add(a[j] * ((scan.max - T(row[j])) + log_sum));
                }
                row_loss = acc.value();
            }
            if (!p.empty() && p.data() != e.data()) {
                for (std::size_t j = 0; j < classes; ++j)
                    p[j] = e[j] * inv_sum;
            }
            if (!g.empty()) {
                if (ignored) {
                    std::fill(g.begin(), g.end(), T(0));
                } else if (job.index_form) {
                    index_grad_range<T>(job, g, g, 0, tu, e[tu] * inv_sum, inv_sum, others,
                                        job.masses->row[i]);
                } else {
                    probability_row_grad<T>(g, g, a, scan.argmax, inv_sum, others, job.scale);
                }
            } else if (!p.empty()) {
                for (auto& v : p)
                    v *= inv_sum;
            }
        }
        scan_ahead(i);
        if (job.by_row) {
            job.loss[i] = row_loss;
        } else {
            total.add(row_loss);
        }
    }
    return total;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/// process_rows compiled for AVX2 + FMA with everything it calls inlined into it (flatten): the
/// per-row scalar work (sums, divisions, the loss) then runs in VEX code between the vector
/// kernels, which measured 1.5x faster per short row than the baseline build. Only called when
/// vector_kernels_enabled().
template <class T, class Z>
__attribute__((target("avx2,fma"), flatten)) accumulator<T> process_rows_avx2(
    const batch_job<T, Z>& job, std::size_t first, std::size_t last) {
    return process_rows(job, first, last);
}
#define XENTCHECK_ROWS_AVX2 1
#endif

/// process_rows on the fastest path this CPU allows.
template <class T, class Z>
accumulator<T> process_rows_fast(const batch_job<T, Z>& job, std::size_t first, std::size_t last) {
#if defined(XENTCHECK_ROWS_AVX2)
    if constexpr (has_vector_kernels_v<T> && std::is_same_v<T, Z>) {
        if (vector_kernels_enabled()) return process_rows_avx2(job, first, last);
    }
#endif
    return process_rows(job, first, last);
}

/// One kept index-target row with its classes split into `parts` ranges, one per thread, in
/// three steps, each handed to the threads with run_parts: scan, exponentials and their sum,
/// gradient/probabilities (and the smoothing terms); the calling thread combines the parts'
/// scans, then their sums, in between. The same formulas as process_rows; only the sums are
/// combined from parts. Returns the row loss. Needs a gradient or probability output (the
/// exponentials live there).
template <class T, class Z>
T process_split_row(const batch_job<T, Z>& job, std::size_t i, std::size_t parts) {
    const std::size_t classes = job.classes;
    const auto row = job.logits.subspan(i * classes, classes);
    const auto p = job.probs.empty() ? std::span<T>{} : job.probs.subspan(i * classes, classes);
    const auto g = job.grad.empty() ? std::span<T>{} : job.grad.subspan(i * classes, classes);
    const auto e = !g.empty() ? g : p;
    const auto t = static_cast<std::size_t>(job.target->class_indices()[i]);

    std::vector<row_scan<T>> scans(parts);
    run_parts(parts, [&](std::size_t k) {
        const part_range r = split(classes, parts, k);
        scans[k] = widened_scan<T>(scan_row(row.subspan(r.begin, r.end - r.begin)));
    });
    row_scan<T> scan;  // the first strictly largest entry over the parts, as scan_row finds it
    // The row's lower bound is the least of the parts' (row_scan's default, -inf, means
    // "unknown" and would send every block of the exponentials down the checked path).
    scan.low = std::numeric_limits<real_t<T>>::infinity();
    bool bad = false;
    for (std::size_t k = 0; k < parts; ++k) {
        bad = bad || scans[k].bad;
        scan.low = std::min(scan.low, scans[k].low);
        if (scans[k].defined && (!scan.defined || re(scans[k].max) > re(scan.max))) {
            scan.max = scans[k].max;
            scan.argmax = split(classes, parts, k).begin + scans[k].argmax;
            scan.defined = true;
        }
    }
    if (bad || !scan.defined) {
        if (!p.empty()) std::fill(p.begin(), p.end(), quiet_nan<T>());
        if (!g.empty()) std::fill(g.begin(), g.end(), quiet_nan<T>());
        return quiet_nan<T>();
    }

    std::vector<T> rests(parts);
    run_parts(parts, [&](std::size_t k) {
        const part_range r = split(classes, parts, k);
        rests[k] = shifted_exp_rest(row.subspan(r.begin, r.end - r.begin), scan.max, scan.low,
                                    scan.argmax - r.begin,  // wraps past the part when before it
                                    e.subspan(r.begin, r.end - r.begin));
    });
    accumulator<T> rest_sum;
    for (const T& r : rests)
        rest_sum.add(r);
    const T rest = rest_sum.value();
    const T sum = T(1) + rest;
    const T log_sum = log1p_of(rest);
    const T inv_sum = T(1) / sum;
    const T others = t != scan.argmax ? sum - e[t] : rest;
    const T pt = e[t] * inv_sum;

    std::vector<accumulator<T>> smooth(parts);
    run_parts(parts, [&](std::size_t k) {
        const part_range r = split(classes, parts, k);
        const std::size_t len = r.end - r.begin;
        const auto ek = e.subspan(r.begin, len);
        if (!p.empty() && p.data() != e.data()) {
            for (std::size_t j = 0; j < len; ++j)
                p[r.begin + j] = ek[j] * inv_sum;
        }
        if (!g.empty()) {
            index_grad_range<T>(job, ek, g.subspan(r.begin, len), r.begin, t, pt, inv_sum, others,
                                job.masses->row[i]);
        } else {
            for (auto& v : ek)
                v *= inv_sum;
        }
        if (job.smoothing) {
            smooth[k] = smoothing_terms(job, row.subspan(r.begin, len), r.begin, scan.max, log_sum);
        }
    });
    T row_loss = (T(1) - job.eps) * job.weight(t) * ((scan.max - T(row[t])) + log_sum);
    if (job.smoothing) {
        accumulator<T> all;
        for (const auto& s : smooth)
            all.add(s);
        row_loss += job.eps_per_class * all.value();
    }
    return row_loss;
}

}  // namespace xentcheck::detail
