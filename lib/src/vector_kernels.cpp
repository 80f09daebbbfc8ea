/// AVX2 + FMA row kernels: the path selection and the vector max scan (exp: vector_exp.cpp).
#include "vector_kernels.h"

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "x86_kernels.h"
#include "xentcheck/kernels.h"

namespace xentcheck {

namespace detail {
namespace {

std::atomic<bool> scalar_forced{false};

bool cpu_has_avx2_fma() noexcept {
#if defined(XENTCHECK_X86_KERNELS)
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
#else
    return false;
#endif
}

}  // namespace

bool vector_kernels_enabled() noexcept {
    return cpu_has_avx2_fma() && !scalar_forced.load(std::memory_order_relaxed);
}

}  // namespace detail

std::string_view to_string(kernel_path p) noexcept {
    return p == kernel_path::avx2 ? "avx2" : "scalar";
}

kernel_path active_kernel_path() noexcept {
    return detail::vector_kernels_enabled() ? kernel_path::avx2 : kernel_path::scalar;
}

void force_scalar_kernels(bool scalar) noexcept {
    detail::scalar_forced.store(scalar, std::memory_order_relaxed);
}

namespace detail {

#if defined(XENTCHECK_X86_KERNELS)
namespace {

/// Chunks of the max scan: the argmax is searched again only inside the winning chunk.
constexpr std::size_t scan_chunk = 2048;

/// One generic scan over vectors V of T: four independent max, min and NaN chains (latency,
/// not throughput, would bound a single chain); +inf shows up as the maximum.
template <class T, class Ops>
XENTCHECK_AVX2 inline block_max<T> scan_vectors(const T* z, std::size_t n) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    constexpr std::size_t w = Ops::width;
    using V = typename Ops::vec;
    V nan0 = Ops::zero(), nan1 = Ops::zero();
    V lo0 = Ops::set(inf), lo1 = Ops::set(inf);
    T best = -inf, low = inf;
    std::size_t best_chunk = n;
    for (std::size_t c = 0; c < n; c += scan_chunk) {
        const std::size_t end = c + scan_chunk < n ? c + scan_chunk : n;
        V mx0 = Ops::set(-inf), mx1 = Ops::set(-inf), mx2 = Ops::set(-inf), mx3 = Ops::set(-inf);
        std::size_t j = c;
        for (; j + 4 * w <= end; j += 4 * w) {
            const V x0 = Ops::load(z + j), x1 = Ops::load(z + j + w);
            const V x2 = Ops::load(z + j + 2 * w), x3 = Ops::load(z + j + 3 * w);
            // max(x, acc) and min(x, acc) return acc when x is NaN: NaN is caught separately.
            mx0 = Ops::max(x0, mx0), mx1 = Ops::max(x1, mx1);
            mx2 = Ops::max(x2, mx2), mx3 = Ops::max(x3, mx3);
            lo0 = Ops::min(Ops::min(x0, x2), lo0), lo1 = Ops::min(Ops::min(x1, x3), lo1);
            nan0 = Ops::bit_or(nan0, Ops::bit_or(Ops::unordered(x0, x1), Ops::unordered(x2, x3)));
        }
        for (; j + w <= end; j += w) {
            const V x = Ops::load(z + j);
            mx0 = Ops::max(x, mx0);
            lo0 = Ops::min(x, lo0);
            nan1 = Ops::bit_or(nan1, Ops::unordered(x, x));
        }
        T chunk_max = Ops::hmax(Ops::max(Ops::max(mx0, mx1), Ops::max(mx2, mx3)));
        for (; j < end; ++j) {
            if (std::isnan(z[j])) return {0, 0, 0, true};
            chunk_max = z[j] > chunk_max ? z[j] : chunk_max;
            low = z[j] < low ? z[j] : low;
        }
        if (chunk_max > best) {
            best = chunk_max;
            best_chunk = c;
        }
    }
    if (Ops::any(Ops::bit_or(nan0, nan1)) || best == inf) return {0, 0, 0, true};
    const T lanes_low = Ops::hmin(Ops::min(lo0, lo1));
    low = lanes_low < low ? lanes_low : low;
    std::size_t argmax = best_chunk;
    if (best_chunk < n) {
        const V target = Ops::set(best);
        while (argmax + w <= n) {
            const int hits = Ops::equal_mask(Ops::load(z + argmax), target);
            if (hits != 0) return {best, low, argmax + std::countr_zero(unsigned(hits)), false};
            argmax += w;
        }
        while (z[argmax] != best)
            ++argmax;
    }
    return {best, low, argmax, false};
}

struct double_ops {
    using vec = __m256d;
    static constexpr std::size_t width = 4;
    XENTCHECK_AVX2 static vec zero() { return _mm256_setzero_pd(); }
    XENTCHECK_AVX2 static vec set(double v) { return _mm256_set1_pd(v); }
    XENTCHECK_AVX2 static vec load(const double* p) { return _mm256_loadu_pd(p); }
    XENTCHECK_AVX2 static vec max(vec a, vec b) { return _mm256_max_pd(a, b); }
    XENTCHECK_AVX2 static vec min(vec a, vec b) { return _mm256_min_pd(a, b); }
    XENTCHECK_AVX2 static vec bit_or(vec a, vec b) { return _mm256_or_pd(a, b); }
    XENTCHECK_AVX2 static vec unordered(vec a, vec b) { return _mm256_cmp_pd(a, b, _CMP_UNORD_Q); }
    XENTCHECK_AVX2 static bool any(vec a) { return _mm256_movemask_pd(a) != 0; }
    XENTCHECK_AVX2 static int equal_mask(vec a, vec b) {
        return _mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_EQ_OQ));
    }
    XENTCHECK_AVX2 static double hmax(vec a) {
        alignas(32) double v[4];
        _mm256_store_pd(v, a);
        const double p = v[0] > v[1] ? v[0] : v[1], q = v[2] > v[3] ? v[2] : v[3];
        return p > q ? p : q;
    }
    XENTCHECK_AVX2 static double hmin(vec a) {
        alignas(32) double v[4];
        _mm256_store_pd(v, a);
        const double p = v[0] < v[1] ? v[0] : v[1], q = v[2] < v[3] ? v[2] : v[3];
        return p < q ? p : q;
    }
};

struct float_ops {
    using vec = __m256;
    static constexpr std::size_t width = 8;
    XENTCHECK_AVX2 static vec zero() { return _mm256_setzero_ps(); }
    XENTCHECK_AVX2 static vec set(float v) { return _mm256_set1_ps(v); }
    XENTCHECK_AVX2 static vec load(const float* p) { return _mm256_loadu_ps(p); }
    XENTCHECK_AVX2 static vec max(vec a, vec b) { return _mm256_max_ps(a, b); }
    XENTCHECK_AVX2 static vec min(vec a, vec b) { return _mm256_min_ps(a, b); }
    XENTCHECK_AVX2 static vec bit_or(vec a, vec b) { return _mm256_or_ps(a, b); }
    XENTCHECK_AVX2 static vec unordered(vec a, vec b) { return _mm256_cmp_ps(a, b, _CMP_UNORD_Q); }
    XENTCHECK_AVX2 static bool any(vec a) { return _mm256_movemask_ps(a) != 0; }
    XENTCHECK_AVX2 static int equal_mask(vec a, vec b) {
        return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ));
    }
    XENTCHECK_AVX2 static float hmax(vec a) {
        alignas(32) float v[8];
        _mm256_store_ps(v, a);
        float m = v[0];
        for (const float x : v)
            m = x > m ? x : m;
        return m;
    }
    XENTCHECK_AVX2 static float hmin(vec a) {
        alignas(32) float v[8];
        _mm256_store_ps(v, a);
        float m = v[0];
        for (const float x : v)
            m = x < m ? x : m;
        return m;
    }
};

XENTCHECK_AVX2 block_max<double> scan_avx2(const double* z, std::size_t n) {
    return scan_vectors<double, double_ops>(z, n);
}

XENTCHECK_AVX2 block_max<float> scan_avx2(const float* z, std::size_t n) {
    return scan_vectors<float, float_ops>(z, n);
}

XENTCHECK_AVX2 void scale_avx2(double* v, double factor, std::size_t n) {
    const __m256d f = _mm256_set1_pd(factor);
    std::size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        _mm256_storeu_pd(v + j, _mm256_mul_pd(f, _mm256_loadu_pd(v + j)));
        _mm256_storeu_pd(v + j + 4, _mm256_mul_pd(f, _mm256_loadu_pd(v + j + 4)));
    }
    for (; j < n; ++j)
        v[j] = factor * v[j];
}

XENTCHECK_AVX2 void scale_avx2(float* v, float factor, std::size_t n) {
    const __m256 f = _mm256_set1_ps(factor);
    std::size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        _mm256_storeu_ps(v + j, _mm256_mul_ps(f, _mm256_loadu_ps(v + j)));
        _mm256_storeu_ps(v + j + 8, _mm256_mul_ps(f, _mm256_loadu_ps(v + j + 8)));
    }
    for (; j < n; ++j)
        v[j] = factor * v[j];
}

}  // namespace

void scale_block(double* v, double factor, std::size_t n) noexcept {
    scale_avx2(v, factor, n);
}
void scale_block(float* v, float factor, std::size_t n) noexcept {
    scale_avx2(v, factor, n);
}

block_max<double> scan_block(const double* z, std::size_t n) noexcept {
    return scan_avx2(z, n);
}
block_max<float> scan_block(const float* z, std::size_t n) noexcept {
    return scan_avx2(z, n);
}

#else  // no x86-64 vector kernels: never enabled, never called

void scale_block(double*, double, std::size_t) noexcept {}
void scale_block(float*, float, std::size_t) noexcept {}

block_max<double> scan_block(const double*, std::size_t n) noexcept {
    return {0, 0, n, true};
}
block_max<float> scan_block(const float*, std::size_t n) noexcept {
    return {0, 0, n, true};
}

#endif

}  // namespace detail
}  // namespace xentcheck
