/// AVX2 + FMA shifted exponentials: a table-driven exp of TwoSum-corrected shifts, lane sums.
#include <cmath>
#include <cstdint>

#include "exp_table.h"
#include "vector_kernels.h"
#include "x86_kernels.h"

namespace xentcheck::detail {

#if defined(XENTCHECK_X86_KERNELS)
namespace {

// exp(x) = 2^(k/128) * exp(r), |r| <= ln2/256, with the table of exp_table.h.
constexpr double inv_ln2_n = 0x1.71547652b82fep+7;  // 128 / ln 2
constexpr double ln2_n_hi = 0x1.62e42fefa39efp-8;   // ln 2 / 128, leading part
constexpr double ln2_n_lo = 0x1.abc9e3b39803fp-63;  // ln 2 / 128 - ln2_n_hi
constexpr double round_shift = 0x1.8p52;            // x + 1.5 * 2^52 rounds x to an integer
// exp(r) - 1 - r ~ r^2 (c2 + r c3) + r^4 (c4 + r c5): Taylor coefficients; the truncation
// r^6 / 720 <= 5e-19 is below 2^-60 relative for |r| <= ln2/256.
constexpr double c2 = 0.5;
constexpr double c3 = 1.0 / 6;
constexpr double c4 = 1.0 / 24;
constexpr double c5 = 1.0 / 120;
// Below this the result is subnormal or 0 and 2^(k/128) would underflow: std::exp per lane.
constexpr double fast_min = -708.0;

/// exp(d + err) for four lanes with d in [fast_min, 0] and |err| <= ulp(d) / 2. Other lanes
/// give garbage but no fault (the table indices are always in range).
XENTCHECK_AVX2 inline __m256d exp4(__m256d d, __m256d err) {
    __m256d kd = _mm256_fmadd_pd(d, _mm256_set1_pd(inv_ln2_n), _mm256_set1_pd(round_shift));
    const __m256i ki = _mm256_castpd_si256(kd);
    kd = _mm256_sub_pd(kd, _mm256_set1_pd(round_shift));
    __m256d r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(ln2_n_hi), d);
    r = _mm256_fnmadd_pd(kd, _mm256_set1_pd(ln2_n_lo), r);
    r = _mm256_add_pd(r, err);  // exp(d + err): the TwoSum error joins the reduced argument
    const __m256i idx = _mm256_slli_epi64(_mm256_and_si256(ki, _mm256_set1_epi64x(127)), 1);
    const __m256i top = _mm256_slli_epi64(ki, 45);
    const auto* table = reinterpret_cast<const long long*>(exp_table);
    const __m256d tail = _mm256_castsi256_pd(_mm256_i64gather_epi64(table, idx, 8));
    const __m256i bits = _mm256_i64gather_epi64(table + 1, idx, 8);
    const __m256d scale = _mm256_castsi256_pd(_mm256_add_epi64(bits, top));
    const __m256d r2 = _mm256_mul_pd(r, r);
    const __m256d p23 = _mm256_fmadd_pd(r, _mm256_set1_pd(c3), _mm256_set1_pd(c2));
    const __m256d p45 = _mm256_fmadd_pd(r, _mm256_set1_pd(c5), _mm256_set1_pd(c4));
    __m256d tmp = _mm256_fmadd_pd(r2, p23, _mm256_add_pd(tail, r));
    tmp = _mm256_fmadd_pd(_mm256_mul_pd(r2, r2), p45, tmp);
    return _mm256_fmadd_pd(scale, tmp, scale);
}

/// Lanes below fast_min (or -inf), recomputed as the scalar rows compute them:
/// exp_with_shift_error(std::exp(d), err).
XENTCHECK_AVX2 __m256d slow_lanes(__m256d value, __m256d d, __m256d err, int mask) {
    alignas(32) double v[4], dv[4], ev[4];
    _mm256_store_pd(v, value);
    _mm256_store_pd(dv, d);
    _mm256_store_pd(ev, err);
    for (int k = 0; k < 4; ++k) {
        if ((mask >> k & 1) == 0) continue;
        v[k] = exp_with_shift_error(std::exp(dv[k]), ev[k]);
    }
    return _mm256_load_pd(v);
}

/// Compensated lane sums of values in [0, 1]. Each lane starts at 1, so |s| >= |x| always holds
/// and Fast2Sum (3 operations) recovers each addition's error exactly; the offsets are taken
/// off exactly at the end (s - 1 is exact for 1 <= s < 2^53).
struct lane_sum {
    __m256d s;
    __m256d c;
};

XENTCHECK_AVX2 inline lane_sum start_lanes() {
    return lane_sum{_mm256_set1_pd(1.0), _mm256_setzero_pd()};
}

XENTCHECK_AVX2 inline void add_lanes(lane_sum& a, __m256d x) {
    const __m256d t = _mm256_add_pd(a.s, x);
    a.c = _mm256_add_pd(a.c, _mm256_add_pd(_mm256_sub_pd(a.s, t), x));
    a.s = t;
}

/// Adds four lane sums s (>= 0) and their compensations c to `sum` as one (value, error)
/// pair: the lanes are folded with TwoSum, whose errors join the compensations (exact up to
/// the final rounding of the small parts, like the accumulator itself).
XENTCHECK_AVX2 void add_four(__m256d s, __m256d c, accumulator<double>& sum) {
    const __m128d lo = _mm256_castpd256_pd128(s), hi = _mm256_extractf128_pd(s, 1);
    const __m128d t = _mm_add_pd(lo, hi);
    const __m128d bp = _mm_sub_pd(t, lo);
    const __m128d err = _mm_add_pd(_mm_sub_pd(lo, _mm_sub_pd(t, bp)), _mm_sub_pd(hi, bp));
    const __m128d small =
        _mm_add_pd(_mm_add_pd(_mm256_castpd256_pd128(c), _mm256_extractf128_pd(c, 1)), err);
    alignas(16) double tv[2], sv[2];
    _mm_store_pd(tv, t);
    _mm_store_pd(sv, small);
    const double total = tv[0] + tv[1];
    const double b = total - tv[0];
    const double e = (tv[0] - (total - b)) + (tv[1] - b);
    sum.add(total);
    sum.add((sv[0] + sv[1]) + e);
}

/// exp(z - m) for four double lanes, with the TwoSum error of z - m. `Checked`: some lanes may
/// fall below fast_min.
template <bool Checked>
XENTCHECK_AVX2 inline __m256d shifted_exp4(__m256d z, __m256d m) {
    const __m256d d = _mm256_sub_pd(z, m);
    const __m256d b = _mm256_sub_pd(d, z);
    const __m256d err = _mm256_add_pd(_mm256_sub_pd(z, _mm256_sub_pd(d, b)),
                                      _mm256_sub_pd(_mm256_setzero_pd(), _mm256_add_pd(m, b)));
    __m256d e = exp4(d, err);
    if constexpr (Checked) {
        const int slow =
            _mm256_movemask_pd(_mm256_cmp_pd(d, _mm256_set1_pd(fast_min), _CMP_NGE_UQ));
        if (slow != 0) e = slow_lanes(e, d, err, slow);
    }
    return e;
}

/// Lane mask for the first `count` (0..4) lanes of a double vector.
XENTCHECK_AVX2 inline __m256i first_lanes(std::size_t count) {
    const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(count)), lanes);
}

/// Touches two cache lines of each prefetch range per 64 bytes of the current block, so the next
/// row arrives while this one is computed (its max scan would otherwise wait on memory). Into the
/// second-level cache (T1), not the first: the row two ahead, logits and output, is as large as
/// the current row's working set, and fetching it into L1 evicted that (float32 4096x1000: 12%
/// faster with T1 on one thread and on two, float64 3 to 4%; AMD EPYC Zen 4, 10 rounds).
XENTCHECK_AVX2 inline void prefetch_step(const char* read, const char* write, std::size_t bytes,
                                         std::size_t offset) {
    // Two lines per 64 bytes of work: the block may be only half of its row (split at the
    // argmax) while the next row is whole.
    const std::size_t at = 2 * offset;
    if (at < bytes) {
        _mm_prefetch(read + at, _MM_HINT_T1);
        _mm_prefetch(write + at, _MM_HINT_T1);
        _mm_prefetch(read + at + 64, _MM_HINT_T1);
        _mm_prefetch(write + at + 64, _MM_HINT_T1);
    }
}

/// The lane offsets a block's sums start from: 1 in every lane, plus 1 more in the lane of the
/// excluded entry (its exponential is exactly exp(0) = 1 and is added like the others), so
/// taking the offsets off at the end is exact and leaves the sum without that entry.
XENTCHECK_AVX2 inline __m256d lane_offsets(std::size_t excluded, std::size_t n) {
    const __m256d one = _mm256_set1_pd(1.0);
    if (excluded >= n) return one;
    return _mm256_add_pd(
        one,
        _mm256_and_pd(one, _mm256_castsi256_pd(_mm256_cmpeq_epi64(
                               _mm256_setr_epi64x(0, 1, 2, 3), _mm256_set1_epi64x(excluded % 4)))));
}

// float: exp(x) = 2^(k/8) * exp(r), |r| <= ln2/16, in float lanes. The eight H_j = 2^(j/8)
// (bits less j << 20, so that adding k << 20 also scales by 2^(k >> 3)) and their tails
// t_j = (2^(j/8) - H_j) / H_j sit in one register each (generated with MPFR at 300 bits).
alignas(32) constexpr std::uint32_t exp2_8_bits[8] = {
    0x3f800000, 0x3f7b95c2, 0x3f7837f0, 0x3f75fed7, 0x3f7504f3, 0x3f75672a, 0x3f7744fd, 0x3f7ac0c7};
alignas(32) constexpr float exp2_8_tail[8] = {0x0p+0f,          -0x1.9c0c22p-27f, 0x1.125002p-25f,
                                              -0x1.0a355p-25f,  0x1.26055cp-26f,  0x1.67a1cap-28f,
                                              -0x1.f9c304p-27f, -0x1.a5217cp-28f};
constexpr float inv_ln2_8f = 0x1.715476p+3f;  // 8 / ln 2
constexpr float ln2_8f_hi = 0x1.62e43p-4f;    // ln 2 / 8, leading part
constexpr float ln2_8f_lo = -0x1.05c61p-32f;  // ln 2 / 8 - ln2_8f_hi
constexpr float round_shift_f = 0x1.8p23f;
// exp(r) - 1 - r ~ r^2 (1/2 + r/6 + r^2/24): the omitted r^5/120 <= 1.3e-9 is below 0.02 ulp.
constexpr float fc2 = 0.5f;
constexpr float fc3 = 0x1.555556p-3f;
constexpr float fc4 = 0x1.555556p-5f;
// Below this the float result is subnormal or 0: std::exp per lane.
constexpr float fast_min_f = -87.0f;

/// exp(d + err) for eight float lanes with d in [fast_min_f, 0], |err| <= ulp(d) / 2. The final
/// fma rounds once: <= ~0.55 ulp.
XENTCHECK_AVX2 inline __m256 exp8f(__m256 d, __m256 err) {
    __m256 kf = _mm256_fmadd_ps(d, _mm256_set1_ps(inv_ln2_8f), _mm256_set1_ps(round_shift_f));
    const __m256i ki = _mm256_castps_si256(kf);
    kf = _mm256_sub_ps(kf, _mm256_set1_ps(round_shift_f));
    __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(ln2_8f_hi), d);
    r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(ln2_8f_lo), r);
    r = _mm256_add_ps(r, err);
    const __m256i j = _mm256_and_si256(ki, _mm256_set1_epi32(7));
    const __m256i bits = _mm256_permutevar8x32_epi32(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(exp2_8_bits)), j);
    const __m256 tail = _mm256_permutevar8x32_ps(_mm256_load_ps(exp2_8_tail), j);
    const __m256 scale = _mm256_castsi256_ps(_mm256_add_epi32(bits, _mm256_slli_epi32(ki, 20)));
    const __m256 r2 = _mm256_mul_ps(r, r);
    __m256 q = _mm256_fmadd_ps(r, _mm256_set1_ps(fc4), _mm256_set1_ps(fc3));
    q = _mm256_fmadd_ps(r, q, _mm256_set1_ps(fc2));
    const __m256 tmp = _mm256_fmadd_ps(r2, q, _mm256_add_ps(tail, r));
    return _mm256_fmadd_ps(scale, tmp, scale);
}

/// Float lanes below fast_min_f (or -inf): exp of the exact d + err in double, rounded once.
XENTCHECK_AVX2 __m256 slow_lanes_f(__m256 value, __m256 d, __m256 err, int mask) {
    alignas(32) float v[8], dv[8], ev[8];
    _mm256_store_ps(v, value);
    _mm256_store_ps(dv, d);
    _mm256_store_ps(ev, err);
    for (int k = 0; k < 8; ++k) {
        if ((mask >> k & 1) == 0) continue;
        const double x = static_cast<double>(dv[k]);
        v[k] = static_cast<float>(std::isfinite(ev[k]) ? std::exp(x + static_cast<double>(ev[k]))
                                                       : std::exp(x));
    }
    return _mm256_load_ps(v);
}

/// exp(z - m) for eight float lanes, with the TwoSum error of z - m.
template <bool Checked>
XENTCHECK_AVX2 inline __m256 shifted_exp8f(__m256 z, __m256 m) {
    const __m256 d = _mm256_sub_ps(z, m);
    const __m256 b = _mm256_sub_ps(d, z);
    const __m256 err = _mm256_add_ps(_mm256_sub_ps(z, _mm256_sub_ps(d, b)),
                                     _mm256_sub_ps(_mm256_setzero_ps(), _mm256_add_ps(m, b)));
    __m256 e = exp8f(d, err);
    if constexpr (Checked) {
        const int slow =
            _mm256_movemask_ps(_mm256_cmp_ps(d, _mm256_set1_ps(fast_min_f), _CMP_NGE_UQ));
        if (slow != 0) e = slow_lanes_f(e, d, err, slow);
    }
    return e;
}

/// Float lane sums with the same offset-1 Fast2Sum as lane_sum.
struct lane_sum_f {
    __m256 s;
    __m256 c;
};

XENTCHECK_AVX2 inline void add_lanes(lane_sum_f& a, __m256 x) {
    const __m256 t = _mm256_add_ps(a.s, x);
    a.c = _mm256_add_ps(a.c, _mm256_add_ps(_mm256_sub_ps(a.s, t), x));
    a.s = t;
}

/// Adds the float lane sums to `sum` after taking off their offsets (1 in each lane, 1 more in
/// the excluded entry's lane; exact as for double, the sums staying below 2^24).
XENTCHECK_AVX2 void flush_lanes(const lane_sum_f& a, std::size_t excluded, std::size_t n,
                                accumulator<double>& sum) {
    __m256 offsets = _mm256_set1_ps(1.0f);
    if (excluded < n) {
        const __m256i hit = _mm256_cmpeq_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                               _mm256_set1_epi32(static_cast<int>(excluded % 8)));
        offsets = _mm256_add_ps(offsets, _mm256_and_ps(offsets, _mm256_castsi256_ps(hit)));
    }
    const __m256 s = _mm256_sub_ps(a.s, offsets);
    const __m256d s_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(s));
    const __m256d s_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1));
    const __m256d c_lo = _mm256_cvtps_pd(_mm256_castps256_ps128(a.c));
    const __m256d c_hi = _mm256_cvtps_pd(_mm256_extractf128_ps(a.c, 1));
    add_four(s_lo, c_lo, sum);
    add_four(s_hi, c_hi, sum);
}

/// The lane operations of the exp loop for doubles (four lanes) and floats (eight), as
/// scan_vectors in vector_kernels.cpp has them for the scan.
struct double_lanes {
    using value = double;
    using vec = __m256d;
    using sums = lane_sum;
    static constexpr std::size_t width = 4;
    XENTCHECK_AVX2 static vec set(value v) { return _mm256_set1_pd(v); }
    XENTCHECK_AVX2 static vec load(const value* p) { return _mm256_loadu_pd(p); }
    XENTCHECK_AVX2 static void store(value* p, vec v) { _mm256_storeu_pd(p, v); }
    template <bool Checked>
    XENTCHECK_AVX2 static vec shifted_exp(vec z, vec m) {
        return shifted_exp4<Checked>(z, m);
    }
    XENTCHECK_AVX2 static sums start() { return start_lanes(); }
    XENTCHECK_AVX2 static __m256d first(std::size_t count) {
        return _mm256_castsi256_pd(first_lanes(count));
    }
    XENTCHECK_AVX2 static vec load_first(const value* p, vec mask) {
        return _mm256_maskload_pd(p, _mm256_castpd_si256(mask));
    }
    XENTCHECK_AVX2 static void store_first(value* p, vec mask, vec v) {
        _mm256_maskstore_pd(p, _mm256_castpd_si256(mask), v);
    }
    XENTCHECK_AVX2 static vec blend(vec a, vec b, vec mask) { return _mm256_blendv_pd(a, b, mask); }
    XENTCHECK_AVX2 static vec bit_and(vec a, vec b) { return _mm256_and_pd(a, b); }
    XENTCHECK_AVX2 static void flush(const sums& a, std::size_t excluded, std::size_t n,
                                     accumulator<double>& sum) {
        add_four(_mm256_sub_pd(a.s, lane_offsets(excluded, n)), a.c, sum);
    }
};

struct float_lanes {
    using value = float;
    using vec = __m256;
    using sums = lane_sum_f;
    static constexpr std::size_t width = 8;
    XENTCHECK_AVX2 static vec set(value v) { return _mm256_set1_ps(v); }
    XENTCHECK_AVX2 static vec load(const value* p) { return _mm256_loadu_ps(p); }
    XENTCHECK_AVX2 static void store(value* p, vec v) { _mm256_storeu_ps(p, v); }
    template <bool Checked>
    XENTCHECK_AVX2 static vec shifted_exp(vec z, vec m) {
        return shifted_exp8f<Checked>(z, m);
    }
    XENTCHECK_AVX2 static sums start() { return {_mm256_set1_ps(1.0f), _mm256_setzero_ps()}; }
    XENTCHECK_AVX2 static vec first(std::size_t count) {
        return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                                                      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
    }
    XENTCHECK_AVX2 static vec load_first(const value* p, vec mask) {
        return _mm256_maskload_ps(p, _mm256_castps_si256(mask));
    }
    XENTCHECK_AVX2 static void store_first(value* p, vec mask, vec v) {
        _mm256_maskstore_ps(p, _mm256_castps_si256(mask), v);
    }
    XENTCHECK_AVX2 static vec blend(vec a, vec b, vec mask) { return _mm256_blendv_ps(a, b, mask); }
    XENTCHECK_AVX2 static vec bit_and(vec a, vec b) { return _mm256_and_ps(a, b); }
    XENTCHECK_AVX2 static void flush(const sums& a, std::size_t excluded, std::size_t n,
                                     accumulator<double>& sum) {
        flush_lanes(a, excluded, n, sum);
    }
};

/// e_j = exp(z_j - m) into e and their sum into `sum`, `L::width` lanes at a time.
template <bool Checked, class L>
XENTCHECK_AVX2 void exp_block_lanes(const typename L::value* z, typename L::value m,
                                    typename L::value* e, std::size_t n, accumulator<double>& sum,
                                    const prefetch_hint& next, std::size_t excluded) {
    constexpr std::size_t w = L::width;
    const typename L::vec mv = L::set(m);
    // Locals: the stores to e could alias the hint, which would reload it in every iteration.
    const char* const pf_read = static_cast<const char*>(next.read);
    const char* const pf_write = static_cast<const char*>(next.write);
    const std::size_t pf_bytes = next.bytes;
    // One sum chain: its latency hides behind the exp work. The excluded entry (exactly 1) is
    // summed too and taken off with the offsets, so the loop has no per-entry test.
    typename L::sums a = L::start();
    std::size_t j = 0;
    if (pf_bytes != 0) {
        for (; j + 2 * w <= n; j += 2 * w) {
            prefetch_step(pf_read, pf_write, pf_bytes, j * sizeof(typename L::value));
            const auto e0 = L::template shifted_exp<Checked>(L::load(z + j), mv);
            L::store(e + j, e0);
            add_lanes(a, e0);
            const auto e1 = L::template shifted_exp<Checked>(L::load(z + j + w), mv);
            L::store(e + j + w, e1);
            add_lanes(a, e1);
        }
    }
    for (; j + w <= n; j += w) {
        const auto ev = L::template shifted_exp<Checked>(L::load(z + j), mv);
        L::store(e + j, ev);
        add_lanes(a, ev);
    }
    if (j < n) {
        const auto mask = L::first(n - j);
        // Padding lanes hold m (exp(0) = 1, finite) and are zeroed before the sum.
        const auto zv = L::blend(mv, L::load_first(z + j, mask), mask);
        const auto ev = L::bit_and(L::template shifted_exp<Checked>(zv, mv), mask);
        L::store_first(e + j, mask, ev);
        add_lanes(a, ev);
    }
    L::flush(a, excluded, n, sum);
}

}  // namespace

void shifted_exp_block(const double* z, double m, double* e, std::size_t n,
                       accumulator<double>& sum, double low, const prefetch_hint& next,
                       std::size_t excluded) noexcept {
    if (low - m >= fast_min) {
        exp_block_lanes<false, double_lanes>(z, m, e, n, sum, next, excluded);
    } else {
        exp_block_lanes<true, double_lanes>(z, m, e, n, sum, next, excluded);
    }
}
void shifted_exp_block(const float* z, float m, float* e, std::size_t n, accumulator<double>& sum,
                       float low, const prefetch_hint& next, std::size_t excluded) noexcept {
    if (low - m >= fast_min_f) {
        exp_block_lanes<false, float_lanes>(z, m, e, n, sum, next, excluded);
    } else {
        exp_block_lanes<true, float_lanes>(z, m, e, n, sum, next, excluded);
    }
}

#else  // no x86-64 vector kernels: never enabled, never called

void shifted_exp_block(const double*, double, double*, std::size_t, accumulator<double>&, double,
                       const prefetch_hint&, std::size_t) noexcept {}
void shifted_exp_block(const float*, float, float*, std::size_t, accumulator<double>&, float,
                       const prefetch_hint&, std::size_t) noexcept {}

#endif

}  // namespace xentcheck::detail
