/// Internal: AVX2 + FMA kernels (row scans, shifted exponentials, comparison statistics).
#pragma once

#include <cstddef>
#include <cstdint>

#include "compensated_sum.h"
#include "long_double_exp.h"

namespace xentcheck::detail {

/// Whether the kernels below may be called: an x86-64 build on a CPU with AVX2 and FMA, not
/// disabled by force_scalar_kernels.
bool vector_kernels_enabled() noexcept;

/// What a scan of z[0, n) found: the largest entry and its first index (max = -inf and
/// argmax = n when every entry is -inf or n = 0), the smallest entry, and whether a NaN or
/// +inf was seen (then the other fields are meaningless).
template <class T>
struct block_max {
    T max;
    T min;
    std::size_t argmax;
    bool bad;
};

block_max<double> scan_block(const double* z, std::size_t n) noexcept;
block_max<float> scan_block(const float* z, std::size_t n) noexcept;

/// v_j = factor * v_j for j in [0, n) (the same products as a scalar loop, four or eight at a
/// time).
void scale_block(double* v, double factor, std::size_t n) noexcept;
void scale_block(float* v, float factor, std::size_t n) noexcept;

/// Memory the caller will need next (the next row's logits and output), fetched into cache
/// while a block is computed; bytes = 0 for none.
struct prefetch_hint {
    const void* read = nullptr;
    const void* write = nullptr;
    std::size_t bytes = 0;
};

/// e_j = exp(z_j - m) for j in [0, n) into e (z_j <= m, m finite; z_j = -inf gives exactly 0),
/// and adds the e_j to `sum`. double: d = fl(z_j - m) with its TwoSum error folded into the
/// reduced argument of a 128-entry table exp (glibc's algorithm), so the result is within
/// ~0.52 ulp of exp(z_j - m) itself. float: the same in float lanes with an 8-entry table held
/// in a register (~0.55 ulp). Sums are compensated in lanes (float lanes for float). Lanes with
/// subnormal or zero results (z_j - m < -708, float -87; -inf) use std::exp; `low` (a lower
/// bound of the z_j, e.g. the scan's minimum; -inf if unknown) lets blocks skip that check.
/// `next` is prefetched along the way. Entry `excluded` (>= n: none) is written but left out
/// of `sum`.
void shifted_exp_block(const double* z, double m, double* e, std::size_t n,
                       accumulator<double>& sum, double low, const prefetch_hint& next,
                       std::size_t excluded) noexcept;
void shifted_exp_block(const float* z, float m, float* e, std::size_t n, accumulator<double>& sum,
                       float low, const prefetch_hint& next, std::size_t excluded) noexcept;

/// What compare_block_scan found in a block of compare_values: over its entries k, with
/// allowed_k = atol + rtol mag_k (mag_k the magnitude given, else |expected_k|) and
/// abs_k = |actual_k - expected_k|, the maxima of abs_k, abs_k / |expected_k| and
/// abs_k / allowed_k (each started from 0, NaN left out: the scalar `x > m ? x : m`), whether
/// every entry is an ordinary pass (abs_k <= allowed_k, 1e-300 <= allowed_k <= the largest
/// double), and the first entry whose ratio equals the maximum (count when it was not looked
/// for: the block is not ordinary, or its maximum does not exceed `worst_so_far`).
struct compare_block_maxima {
    double max_abs;
    double max_rel;
    double max_ratio;
    std::size_t first_worst;
    bool ordinary;
};

/// The statistics above for entries [0, count) (magnitude may be null): four at a time where
/// vector_kernels_enabled(), else one at a time, with the same operations per entry either way
/// (so the same bits). The one scalar form of these statistics: compare_values records its
/// blocks from them.
compare_block_maxima compare_block_scan(const double* expected, const double* actual,
                                        const double* magnitude, double atol, double rtol,
                                        std::size_t count, double worst_so_far) noexcept;

/// The largest block extended_exp_block takes.
inline constexpr std::size_t extended_block_size = 64;

/// Shifts below this come back from extended_exp_block scaled by a power of 2^1000: there 2^k
/// and the low part of the result approach double's subnormal range, where they would lose
/// bits.
inline constexpr double extended_fast_min = -650.0;

/// What extended_exp_block computed: the sum of its fast lanes as sum_high + sum_low, the
/// entries it left to the caller (bit j for entry j), and its deep entries (bit j).
struct extended_block {
    double sum_high;
    double sum_low;
    std::uint64_t declined;
    std::uint64_t deep;
};

/// exp(z_j - m) for j in [0, n), n <= extended_block_size, as high_j + low_j: a double-double
/// within about 2^-74 relative of the exact value (z_j - m is taken exactly, as a TwoSum pair),
/// so that rounding it once to long double's 64 bits gives that type's correctly rounded value
/// but for a tiny fraction of cases, about 1 + 2^-10 half-ulps at worst. For the long double
/// reference of rows whose entries are doubles: the x87 exp of long_double_exp.h costs several
/// times as much. Deep entries, with z_j - m in [long_double_exp_floor, extended_fast_min) (and
/// not `excluded`), are below double's range: theirs is (high_j + low_j) 2^(-1000 steps_j),
/// steps_j in [1, 16] (steps_j is 0 for the others), with bit j set in `deep`. Entries with
/// z_j - m below long_double_exp_floor (exactly: -inf among them) but `excluded` are exactly 0.
/// `excluded` below extended_fast_min, and NaN shifts, are declined: their bits are set in
/// `declined` and their outputs are 0 (never subnormal: see the source). The
/// sum is of the entries neither declined nor deep, except `excluded` (>= n: none),
/// compensated (about n 2^-106 relative). z, high, low and steps hold n rounded up to a
/// multiple of 4 entries (the padding is read and written, never summed).
extended_block extended_exp_block(const double* z, double m, double* high, double* low,
                                  double* steps, std::size_t n, std::size_t excluded) noexcept;

/// What extended_smoothing_sum computed: sum_j w_j (m - z_j) as terms_high + terms_low and
/// sum_j w_j as weights_high + weights_low; `finite` false when some z_j, w_j or term is not
/// finite (the sums are then meaningless).
struct smoothing_sums {
    double terms_high;
    double terms_low;
    double weights_high;
    double weights_low;
    bool finite;
};

/// The two sums of label smoothing's row term sum_j w_j ((m - z_j) + L) = sum_j w_j (m - z_j)
/// + L sum_j w_j, for j in [0, n), in double-double lanes (w null: every w_j = 1): m - z_j
/// exactly as a TwoSum pair, its product with w_j exact but for the low part's product
/// (2^-106 relative), the sums compensated. Within about (n + 2) 2^-106 of sum_j |w_j (m - z_j)|
/// and sum_j |w_j|: for the long double reference of rows whose entries are doubles, rounding
/// each sum once. m is the row's largest logit (m - z_j >= 0).
smoothing_sums extended_smoothing_sum(const double* z, const double* w, double m,
                                      std::size_t n) noexcept;

}  // namespace xentcheck::detail
