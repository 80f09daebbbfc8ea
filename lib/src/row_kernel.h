/// Internal row kernels shared by softmax.cpp and cross_entropy.cpp: max scan, shifted exp-sum.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include <vector>

#include "compensated_sum.h"
#include "long_double_exp.h"
#include "vector_kernels.h"
#include "xentcheck/batch.h"
#include "xentcheck/cross_entropy.h"

namespace xentcheck::detail {

/// What a scan of one row (or part of one) found: the shift m (largest entry), where it is, and
/// whether the row is defined at all (no NaN, no +inf, at least one entry above -inf). `bad`
/// tells a NaN or +inf apart from a part that is only -inf (both undefined).
template <class T>
struct row_scan {
    T max{0};
    std::size_t argmax = 0;
    bool defined = false;
    /// A lower bound of the row (its minimum from the vector scan; -inf from the scalar one).
    real_t<T> low = -std::numeric_limits<real_t<T>>::infinity();
    bool bad = false;
};

/// float and double: the types the vector kernels serve.
template <class T>
inline constexpr bool has_vector_kernels_v = std::is_same_v<T, double> || std::is_same_v<T, float>;

template <class T>
row_scan<T> scan_row(std::span<const T> row) {
    using R = real_t<T>;
    row_scan<T> s;
    if constexpr (has_vector_kernels_v<T>) {
        if (vector_kernels_enabled()) {
            const block_max<T> b = scan_block(row.data(), row.size());
            s.bad = b.bad;
            if (b.bad || b.argmax >= row.size()) return s;
            return row_scan<T>{row[b.argmax], b.argmax, true, b.min, false};
        }
    }
    R best = -std::numeric_limits<R>::infinity();
    for (std::size_t j = 0; j < row.size(); ++j) {
        const R v = re(row[j]);
        if (std::isnan(v) || v == std::numeric_limits<R>::infinity()) {
            s.bad = true;
            return s;
        }
        if (v > best) {
            best = v;
            s.argmax = j;
        }
    }
    if (best == -std::numeric_limits<R>::infinity()) return s;
    s.max = row[s.argmax];
    s.defined = true;
    return s;
}

/// exp(z - m) for z <= m with m finite, without the rounding of the subtraction: d = fl(z - m)
/// and its exact error err (TwoSum, so z - m = d + err exactly), then exp(z - m) =
/// exp(d) e^err = exp(d) (1 + err) to second order (|err| <= ulp(d) / 2, below u wherever
/// exp(d) is not 0). Without this a spread of 700 between logits costs up to 700 ulps of
/// relative accuracy. Where d is -inf (z = -inf, or z - m overflows) err is NaN, and where exp(d)
/// is 0 err may be huge: exp(d) = 0 is returned as it is.
template <class T>
T shifted_exp(const T& z, const T& m) {
    using R = real_t<T>;
    const T d = z - m;
    const R err = two_sum_error(re(z), -re(m), re(d));
    T ed;
    if constexpr (is_complex_v<T>) {
        ed = std::exp(d);
    } else {
        if constexpr (std::is_same_v<T, long double> &&
                      std::numeric_limits<long double>::digits == 64) {
            // Below long double's normal range: 0, as extended_exp_block gives it (the same
            // test of the exact shift d + err; see long_double_exp_floor).
            const T floor = long_double_exp_floor;
            if (d < floor || (d == floor && err < 0)) return T(0);
        }
        ed = exp_nonpositive(d);  // long double: as accurate as expl, faster (others: std::exp)
    }
    return exp_with_shift_error(ed, err);
}

/// 2^(-1000 s) for s in [0, 16]: the factors of extended_exp_block's deep entries, as long
/// doubles read from memory (built from bits each time they would wait for two stores). Every
/// one is a normal long double: a subnormal operand would cost the x87 unit an assist.
inline constexpr long double deep_entry_factors[17] = {
    0x1p0L,      0x1p-1000L,  0x1p-2000L,  0x1p-3000L,  0x1p-4000L,  0x1p-5000L,
    0x1p-6000L,  0x1p-7000L,  0x1p-8000L,  0x1p-9000L,  0x1p-10000L, 0x1p-11000L,
    0x1p-12000L, 0x1p-13000L, 0x1p-14000L, 0x1p-15000L, 0x1p-16000L};
static_assert(std::numeric_limits<long double>::digits != 64 ||
                  deep_entry_factors[16] >= std::numeric_limits<long double>::min(),
              "deep entry factors must be normal long doubles");

/// Entries [b, b + len) (len <= extended_block_size) of a long double row whose shift m is a
/// double, from extended_exp_block's lanes: their exponentials written to e (when wanted; the
/// excluded entry's is exactly 1 there too), their sum added to `rest` (the deep entries', far
/// below the others, one by one in long double after the block's sum), and each entry the
/// lanes decline handed to `scalar_entry`. Returns false, having done nothing, when one of the
/// entries is not a double.
template <class Z, class Entry>
bool lanes_block(std::span<const Z> row, double m, std::size_t b, std::size_t len, std::size_t ex,
                 std::span<long double> e, accumulator<long double>& rest, Entry& scalar_entry) {
    using T = long double;
    alignas(32) double z[extended_block_size], high[extended_block_size], low[extended_block_size],
        steps[extended_block_size];
    for (std::size_t j = 0; j < len; ++j) {
        z[j] = static_cast<double>(row[b + j]);
        if constexpr (!std::is_same_v<Z, double>) {  // rows given as doubles are doubles
            if (static_cast<T>(z[j]) != row[b + j]) return false;
        }
    }
    for (std::size_t j = len; j % 4 != 0; ++j)
        z[j] = m;  // padding: computed, never summed
    const std::size_t ex_block = ex >= b && ex < b + len ? ex - b : len;
    const extended_block block = extended_exp_block(z, m, high, low, steps, len, ex_block);
    rest.add(T(block.sum_high));
    rest.add(T(block.sum_low));
    if (!e.empty()) {
        for (std::size_t j = 0; j < len; ++j)
            e[b + j] = T(high[j]) + T(low[j]);
    }
    for (std::uint64_t left = block.declined | block.deep; left != 0; left &= left - 1) {
        const auto j = static_cast<std::size_t>(std::countr_zero(left));
        if (block.deep >> j & 1) {
            // Rounded to long double once, then scaled exactly (the result stays normal).
            const T ej = (T(high[j]) + T(low[j])) * deep_entry_factors[static_cast<int>(steps[j])];
            if (!e.empty()) e[b + j] = ej;
            rest.add(ej);
        } else {
            scalar_entry(b + j);
        }
    }
    return true;
}

/// Shifted exponentials of (part of) a defined row: e_j = exp(z_j - m) (exactly 0 for
/// z_j = -inf; exactly 1 at `excluded`, the argmax, when it lies in the part), written to `e`
/// when it is not empty. `low` is a lower bound of the part (scan.low). Returns the sum of the
/// entries other than `excluded`, computed directly: for a whole row R = S - 1, and
/// ln S = log1p(R) keeps full relative accuracy when the argmax dominates (R tiny), where
/// log(fl(1 + R)) would not. `next` is memory to prefetch meanwhile (the next row).
template <class T, class Z = T>
T shifted_exp_rest(std::span<const Z> row, const T& m, real_t<T> low, std::size_t excluded,
                   std::span<T> e, const prefetch_hint& next = {}) {
    using R = real_t<T>;
    const std::size_t n = row.size();
    const std::size_t ex = excluded < n ? excluded : n;
    const T shift = m;  // a copy: through the reference it would be reloaded after each store
    if constexpr (has_vector_kernels_v<T> && std::is_same_v<Z, T>) {
        if (vector_kernels_enabled()) {
            accumulator<double> rest;
            if (!e.empty()) {
                shifted_exp_block(row.data(), m, e.data(), n, rest, low, next, ex);
                if (ex < n) e[ex] = T(1);
            } else {
                T buffer[512];  // no output wanted: exponentials go through a small buffer
                for (std::size_t b = 0; b < n; b += 512) {
                    const std::size_t len = n - b < 512 ? n - b : 512;
                    shifted_exp_block(row.data() + b, m, buffer, len, rest, low, prefetch_hint{},
                                      ex - b);
                }
            }
            return static_cast<T>(rest.value());
        }
    }
    accumulator<T> rest;
    // Entry j by the scalar formula, written to e (when wanted) and added to `rest` unless it
    // is the excluded one or -inf.
    const auto scalar_entry = [&](std::size_t j) {
        T ej{0};
        if (j == ex) {
            ej = T(1);
        } else if (re(row[j]) != -std::numeric_limits<R>::infinity()) {
            ej = shifted_exp(T(row[j]), shift);
            rest.add(ej);
        }
        if (!e.empty()) e[j] = ej;
    };
    if constexpr (std::is_same_v<T, long double> && std::numeric_limits<T>::digits == 64) {
        if (vector_kernels_enabled()) {
            // Rows of doubles (a problem's logits, widened or given as doubles) take the
            // double-double lanes a block at a time; a block holding an entry that is not a
            // double takes the scalar formula.
            const auto md = static_cast<double>(shift);
            const bool m_double = static_cast<T>(md) == shift;
            for (std::size_t b = 0; b < n; b += extended_block_size) {
                const std::size_t len = std::min(extended_block_size, n - b);
                if (m_double && lanes_block(row, md, b, len, ex, e, rest, scalar_entry)) continue;
                for (std::size_t j = b; j < b + len; ++j)
                    scalar_entry(j);
            }
            return rest.value();
        }
    }
    for (std::size_t j = 0; j < n; ++j)
        scalar_entry(j);
    return rest.value();
}

/// The whole defined row: R = S - 1, the sum without the argmax.
template <class T, class Z = T>
T shifted_exp_rest(std::span<const Z> row, const row_scan<T>& scan, std::span<T> e,
                   const prefetch_hint& next = {}) {
    return shifted_exp_rest<T, Z>(row, scan.max, scan.low, scan.argmax, e, next);
}

/// A scan of a row of Z (double logits of a long double computation) as one of T: the same
/// entry, exactly (double converts exactly to long double).
template <class T, class Z>
row_scan<T> widened_scan(const row_scan<Z>& s) {
    if constexpr (std::is_same_v<T, Z>) {
        return s;
    } else {
        return row_scan<T>{T(s.max), s.argmax, s.defined, s.low, s.bad};
    }
}

/// log(1 + x) with full relative accuracy for tiny x (for complex x, from the real log1p and
/// atan2, so a complex-step perturbation of x keeps its accuracy too).
template <class T>
T log1p_of(const T& x) {
    if constexpr (is_complex_v<T>) {
        using R = real_t<T>;
        const R a = x.real();
        const R b = x.imag();
        return T(R(0.5) * std::log1p(a * (R(2) + a) + b * b), std::atan2(b, R(1) + a));
    } else {
        return std::log1p(x);
    }
}

/// sum_j w_j in T, compensated; C itself (exactly, without a pass over C classes) when there are
/// no weights.
template <class T>
T class_weight_total(std::size_t classes, std::span<const double> weight) {
    if (weight.empty()) return T(static_cast<double>(classes));
    return compensated_sum_of<T>(weight.size(), [&](std::size_t j) { return T(weight[j]); })
        .value();
}

/// Row masses A_i and the mean divisor, computed in T. effective_target_mass is this in double
/// (for the tolerance model); the reference forms its own so that a long double reference is
/// not limited to double accuracy by non-dyadic weights or smoothing. Targets must be
/// validated.
template <class T>
struct target_masses {
    std::vector<T> row;  ///< A_i (0 for ignored rows)
    T divisor{0};        ///< sum of w[t_i] over kept rows (index targets) or N
};

/// With `with_rows` false only the divisor is formed (m.row stays empty): the tolerance model
/// needs no more, and the row masses cost it an allocation per call.
template <class T>
target_masses<T> masses_in(batch_shape shape, const target_view& target,
                           const cross_entropy_options& o, bool with_rows = true) {
    const T eps = T(o.label_smoothing);
    const T eps_per_class = eps / T(static_cast<double>(shape.classes));
    const auto w = [&](std::size_t j) { return o.weight.empty() ? T(1) : T(o.weight[j]); };
    target_masses<T> m;
    if (with_rows) m.row.assign(shape.rows, T(0));
    if (target.form() == target_view::kind::index) {
        const T weight_total = with_rows ? class_weight_total<T>(shape.classes, o.weight) : T(0);
        accumulator<T> divisor;
        for (std::size_t i = 0; i < shape.rows; ++i) {
            const std::int64_t t = target.class_indices()[i];
            if (t == o.ignore_index) continue;
            const T wt = w(static_cast<std::size_t>(t));
            if (with_rows) m.row[i] = (T(1) - eps) * wt + eps_per_class * weight_total;
            divisor.add(wt);
        }
        m.divisor = divisor.value();
        return m;
    }
    m.divisor = T(static_cast<double>(shape.rows));
    if (!with_rows) return m;
    for (std::size_t i = 0; i < shape.rows; ++i) {
        m.row[i] = compensated_sum_of<T>(shape.classes, [&](std::size_t j) {
                       return w(j) * ((T(1) - eps) * T(target.probs()[i * shape.classes + j]) +
                                      eps_per_class);
                   }).value();
    }
    return m;
}

/// Throws input_error(field) unless a span has the size the shape demands.
inline void require_size(const char* field, std::size_t have, std::size_t want) {
    if (have != want) {
        throw input_error(field, std::string(field) + " has " + std::to_string(have) +
                                     " elements, expected " + std::to_string(want));
    }
}

template <class T>
T quiet_nan() {
    return T(std::numeric_limits<real_t<T>>::quiet_NaN());
}

}  // namespace xentcheck::detail
