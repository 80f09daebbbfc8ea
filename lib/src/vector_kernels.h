/// Internal: AVX2 + FMA row kernels (max scan, shifted exponentials) for float and double.
#pragma once

#include <cstddef>

#include "compensated_sum.h"

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

}  // namespace xentcheck::detail
