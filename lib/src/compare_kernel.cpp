/// compare_values's block statistics (errors, ratios, their maxima): scalar, and four at a time.
#include <bit>
#include <cmath>
#include <limits>

#include "vector_kernels.h"
#include "x86_kernels.h"

namespace xentcheck::detail {

namespace {

/// Entries [from, count) one at a time into r's maxima and `ordinary` (see
/// compare_block_maxima).
void scalar_entries(const double* expected, const double* actual, const double* magnitude,
                    double atol, double rtol, std::size_t from, std::size_t count,
                    compare_block_maxima& r) {
    for (std::size_t k = from; k < count; ++k) {
        const double e = expected[k];
        // tolerance::bound: a product, then a sum (two roundings: lib is built with
        // -ffp-contract=off).
        const double allowed = atol + rtol * (magnitude ? magnitude[k] : std::abs(e));
        // |a - e| <= allowed <= max double also rules out a non-finite a or e (their difference
        // is then inf or NaN), and makes |a - e| record()'s abs_error (0 when a == e).
        const double abs_error = std::abs(actual[k] - e);
        r.ordinary = r.ordinary && abs_error <= allowed && allowed >= 1e-300 &&
                     allowed <= std::numeric_limits<double>::max();
        // abs_error / |e|: record()'s rel_error, except NaN for 0 / 0 where record() has 0,
        // which the maximum ignores (it starts at 0).
        const double rel_error = abs_error / std::abs(e), ratio = abs_error / allowed;
        r.max_abs = abs_error > r.max_abs ? abs_error : r.max_abs;
        r.max_rel = rel_error > r.max_rel ? rel_error : r.max_rel;
        r.max_ratio = ratio > r.max_ratio ? ratio : r.max_ratio;
    }
}

/// The first entry of [from, count) whose ratio is `ratio`, or count.
std::size_t scalar_first_worst(const double* expected, const double* actual,
                               const double* magnitude, double atol, double rtol, std::size_t from,
                               std::size_t count, double ratio) {
    for (std::size_t k = from; k < count; ++k) {
        const double e = expected[k];
        const double allowed = atol + rtol * (magnitude ? magnitude[k] : std::abs(e));
        if (std::abs(actual[k] - e) / allowed == ratio) return k;
    }
    return count;
}

}  // namespace

#if defined(XENTCHECK_X86_KERNELS)
namespace {

/// The largest of four lanes (none NaN: they are maxima started from 0).
XENTCHECK_AVX2 inline double largest_lane(__m256d v) {
    alignas(32) double x[4];
    _mm256_store_pd(x, v);
    const double p = x[0] > x[1] ? x[0] : x[1], q = x[2] > x[3] ? x[2] : x[3];
    return p > q ? p : q;
}

/// Entry k's magnitude, allowed error and absolute error, four lanes from k.
struct lanes {
    __m256d expected;
    __m256d allowed;
    __m256d abs_error;
};

template <bool WithMagnitude>
XENTCHECK_AVX2 inline lanes load_lanes(const double* expected, const double* actual,
                                       const double* magnitude, __m256d atol, __m256d rtol,
                                       std::size_t k) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d e = _mm256_loadu_pd(expected + k);
    const __m256d mag = WithMagnitude ? _mm256_loadu_pd(magnitude + k) : _mm256_andnot_pd(sign, e);
    // tolerance::bound: a product, then a sum (two roundings, as the scalar code under
    // -ffp-contract=off).
    const __m256d allowed = _mm256_add_pd(atol, _mm256_mul_pd(rtol, mag));
    const __m256d abs_error = _mm256_andnot_pd(sign, _mm256_sub_pd(_mm256_loadu_pd(actual + k), e));
    return {e, allowed, abs_error};
}

template <bool WithMagnitude>
XENTCHECK_AVX2 compare_block_maxima scan(const double* expected, const double* actual,
                                         const double* magnitude, double atol, double rtol,
                                         std::size_t count, double worst_so_far) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d at = _mm256_set1_pd(atol), rt = _mm256_set1_pd(rtol);
    const __m256d tiny = _mm256_set1_pd(1e-300);
    const __m256d largest = _mm256_set1_pd(std::numeric_limits<double>::max());
    __m256d max_abs = _mm256_setzero_pd(), max_rel = max_abs, max_ratio = max_abs;
    __m256d ordinary = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    const std::size_t whole = count & ~std::size_t{3};
    for (std::size_t k = 0; k < whole; k += 4) {
        const lanes v = load_lanes<WithMagnitude>(expected, actual, magnitude, at, rt, k);
        ordinary = _mm256_and_pd(
            ordinary, _mm256_and_pd(_mm256_cmp_pd(v.abs_error, v.allowed, _CMP_LE_OQ),
                                    _mm256_and_pd(_mm256_cmp_pd(v.allowed, tiny, _CMP_GE_OQ),
                                                  _mm256_cmp_pd(v.allowed, largest, _CMP_LE_OQ))));
        // max(x, m) is m when x is NaN or x == m, as `x > m ? x : m` is.
        max_abs = _mm256_max_pd(v.abs_error, max_abs);
        max_rel =
            _mm256_max_pd(_mm256_div_pd(v.abs_error, _mm256_andnot_pd(sign, v.expected)), max_rel);
        max_ratio = _mm256_max_pd(_mm256_div_pd(v.abs_error, v.allowed), max_ratio);
    }
    compare_block_maxima r{largest_lane(max_abs), largest_lane(max_rel), largest_lane(max_ratio),
                           count, _mm256_movemask_pd(ordinary) == 0xF};
    scalar_entries(expected, actual, magnitude, atol, rtol, whole, count, r);
    if (!r.ordinary || !(r.max_ratio > worst_so_far)) return r;
    // The first entry whose ratio is the largest.
    const __m256d target = _mm256_set1_pd(r.max_ratio);
    for (std::size_t k = 0; k < whole; k += 4) {
        const lanes v = load_lanes<WithMagnitude>(expected, actual, magnitude, at, rt, k);
        const int hits = _mm256_movemask_pd(
            _mm256_cmp_pd(_mm256_div_pd(v.abs_error, v.allowed), target, _CMP_EQ_OQ));
        if (hits != 0) {
            r.first_worst =
                k + static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(hits)));
            return r;
        }
    }
    r.first_worst =
        scalar_first_worst(expected, actual, magnitude, atol, rtol, whole, count, r.max_ratio);
    return r;
}

}  // namespace
#endif

compare_block_maxima compare_block_scan(const double* expected, const double* actual,
                                        const double* magnitude, double atol, double rtol,
                                        std::size_t count, double worst_so_far) noexcept {
#if defined(XENTCHECK_X86_KERNELS)
    if (vector_kernels_enabled()) {
        return magnitude
                   ? scan<true>(expected, actual, magnitude, atol, rtol, count, worst_so_far)
                   : scan<false>(expected, actual, magnitude, atol, rtol, count, worst_so_far);
    }
#endif
    compare_block_maxima r{0, 0, 0, count, true};
    scalar_entries(expected, actual, magnitude, atol, rtol, 0, count, r);
    if (r.ordinary && r.max_ratio > worst_so_far) {
        r.first_worst =
            scalar_first_worst(expected, actual, magnitude, atol, rtol, 0, count, r.max_ratio);
    }
    return r;
}

}  // namespace xentcheck::detail
