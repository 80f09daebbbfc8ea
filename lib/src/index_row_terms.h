/// Internal: a validated cross_entropy call (batch_job) and the loss and target-entry terms of
/// an index-target row, shared by process_rows, the split rows and the rounded rows.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "compensated_sum.h"
#include "row_kernel.h"
#include "vector_kernels.h"

namespace xentcheck::detail {

/// One validated cross_entropy call: inputs, outputs and the quantities shared by its rows. The
/// logits are of Z: T itself, or double for a long double computation from double logits.
template <class T, class Z = T>
struct batch_job {
    std::span<const Z> logits;
    std::size_t classes = 0;
    const target_view* target = nullptr;
    const cross_entropy_options* options = nullptr;
    std::span<T> loss, grad, probs;
    const target_masses<T>* masses = nullptr;
    bool index_form = true;
    bool smoothing = false;
    bool by_row = false;
    T eps{0}, eps_per_class{0}, weight_total{0}, scale{0};

    T weight(std::size_t j) const { return options->weight.empty() ? T(1) : T(options->weight[j]); }
};

/// The target entry of an index-target row's gradient before the scale s:
/// -(1 - eps) w_t q_t (+ eps/C ((W - w_t) p_t - w_t q_t) with smoothing), q_t = 1 - p_t taken
/// as others / S (never a subtraction from 1). Where q_t is 0 (p_t = 1) the entry is 0, not -0:
/// 0 - x rather than -x, as p_t - 1 gives it.
template <class T, class Z>
T index_target_entry(const batch_job<T, Z>& job, std::size_t t, T pt, T inv_sum, T others) {
    const T wt = job.weight(t);
    const T qt = others * inv_sum;
    T gt = T(0) - (T(1) - job.eps) * wt * qt;
    if (job.smoothing) gt += job.eps_per_class * ((job.weight_total - wt) * pt - wt * qt);
    return gt;
}

/// extended_smoothing_sum of a part of a long double job's row starting at class `begin`, when
/// its entries and the shift m are doubles and every term is finite; nullopt otherwise.
template <class Z>
std::optional<smoothing_sums> smoothing_in_lanes(const batch_job<long double, Z>& job,
                                                 std::span<const Z> row, std::size_t begin,
                                                 long double m) {
    const auto md = static_cast<double>(m);
    if (static_cast<long double>(md) != m) return std::nullopt;
    const double* const w =
        job.options->weight.empty() ? nullptr : job.options->weight.data() + begin;
    smoothing_sums sums{};
    if constexpr (std::is_same_v<Z, double>) {
        sums = extended_smoothing_sum(row.data(), w, md, row.size());
    } else {
        // The same one pass over the entries as doubles (so the same bits as for a row given
        // as doubles).
        std::vector<double> z(row.size());
        for (std::size_t j = 0; j < row.size(); ++j) {
            z[j] = static_cast<double>(row[j]);
            if (static_cast<long double>(z[j]) != row[j]) return std::nullopt;
        }
        sums = extended_smoothing_sum(z.data(), w, md, z.size());
    }
    if (!sums.finite) return std::nullopt;
    return sums;
}

/// Whether the label smoothing terms w_j ((m - z_j) + ln S) of a part of a long double job's
/// row starting at class `begin` (its entries and the shift m doubles) sum to +inf because some
/// z_j are -inf (masked classes) with w_j > 0 and every other term is finite: the sum the
/// compensated loop would reach, found with double comparisons. The loop itself would spend
/// several x87 operations on infinities and NaNs per term (TwoSum of an infinite term gives
/// NaN), each a microcode assist of 0.2 to 1 us on this machine: 20 us for a masked row of 16
/// classes. False for anything else (NaN or +inf entries, a zero or non-finite weight at a
/// masked class, a non-finite shift or ln S), which the loop takes as before.
inline bool smoothing_sum_is_infinite(std::span<const double> row, const double* w, double m,
                                      long double log_sum) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    if (!std::isfinite(m) || !std::isfinite(static_cast<double>(log_sum))) return false;
    bool masked = false;
    for (std::size_t j = 0; j < row.size(); ++j) {
        const double wj = w ? w[j] : 1.0;
        if (!std::isfinite(wj)) return false;
        if (row[j] == -inf) {
            if (!(wj > 0)) return false;
            masked = true;
        } else if (!std::isfinite(row[j])) {
            return false;
        }
    }
    return masked;
}

/// sum_j w_j ((m - z_j) + ln S) over a part of a row starting at class `begin`: the label
/// smoothing term of an index-target row loss. In long double on the vector path, a part whose
/// entries and shift are doubles (and its terms finite) takes the double-double lanes:
/// sum_j w_j (m - z_j) and sum_j w_j each rounded once, then the first plus ln S times the
/// second; otherwise the compensated sum of the terms.
template <class T, class Z>
accumulator<T> smoothing_terms(const batch_job<T, Z>& job, std::span<const Z> row,
                               std::size_t begin, const T& m, T log_sum) {
    if constexpr (std::is_same_v<T, long double> && std::numeric_limits<T>::digits == 64) {
        if (vector_kernels_enabled()) {
            if (const auto lanes = smoothing_in_lanes<Z>(job, row, begin, m)) {
                const T terms = T(lanes->terms_high) + T(lanes->terms_low);
                const T weights = T(lanes->weights_high) + T(lanes->weights_low);
                return accumulator<T>::from_parts(terms + log_sum * weights, T(0));
            }
            if constexpr (std::is_same_v<Z, double>) {
                const auto md = static_cast<double>(m);
                const double* const w =
                    job.options->weight.empty() ? nullptr : job.options->weight.data() + begin;
                if (static_cast<T>(md) == m && smoothing_sum_is_infinite(row, w, md, log_sum)) {
                    return accumulator<T>::from_parts(std::numeric_limits<T>::infinity(), T(0));
                }
            }
        }
    }
    return compensated_sum_of<T>(row.size(), [&](std::size_t j) {
        return job.weight(begin + j) * ((m - T(row[j])) + log_sum);
    });
}

/// The loss of a kept index-target row with target t over its whole row: (1 - eps) w_t
/// ((m - z_t) + ln S) (+ eps/C sum_j w_j ((m - z_j) + ln S) with smoothing).
template <class T, class Z>
T index_row_loss(const batch_job<T, Z>& job, std::span<const Z> row, std::size_t t, const T& m,
                 T log_sum) {
    if constexpr (std::is_same_v<T, long double>) {
        // The same values, with the infinities of masked classes (-inf logits) given rather
        // than computed: x87 arithmetic on an infinity is a microcode assist, 0.2 to 1 us each
        // on this machine, several per masked row. Quiet comparisons with infinity are not.
        constexpr T inf = std::numeric_limits<T>::infinity();
        const T target_weight = (T(1) - job.eps) * job.weight(t);
        // With m and ln S finite (a defined row's max is above -inf): m - z_t = +inf for a
        // masked target, times a positive weight +inf (a zero or negative one is left to the
        // arithmetic).
        const bool finite_shift = m != inf && log_sum == log_sum && log_sum != inf;
        T loss = finite_shift && row[t] == -inf && target_weight > 0
                     ? inf
                     : target_weight * ((m - T(row[t])) + log_sum);
        if (job.smoothing) {
            const T smooth = smoothing_terms(job, row, 0, m, log_sum).value();
            // eps/C > 0 times +inf is +inf, and +inf plus a loss that is not NaN stays +inf
            // (the loss is -inf only for a masked target of negative weight, whose own term
            // makes the smoothing sum -inf or NaN, not +inf).
            loss = finite_shift && smooth == inf && loss == loss
                       ? inf
                       : loss + job.eps_per_class * smooth;
        }
        return loss;
    } else {
        T loss = (T(1) - job.eps) * job.weight(t) * ((m - T(row[t])) + log_sum);
        if (job.smoothing)
            loss += job.eps_per_class * smoothing_terms(job, row, 0, m, log_sum).value();
        return loss;
    }
}

}  // namespace xentcheck::detail
